//! How a connection holds its service identification: the analyzers' state
//! while they still want payload, then only the confirmed names.
//!
//! Must not: parse payload (the analyzers in [`super::service`] do).

use super::service::{self, Service, ServiceSet, ServiceState};

/// Service identification of one connection: the analyzers' state while they
/// still want payload (boxed, dropped as soon as no analyzer can change
/// anything), then only the confirmed names.
#[derive(Clone, Debug, Default)]
pub struct Services {
    pub(super) analyzers: Option<Box<ServiceState>>,
    list: [Option<Service>; 8],
    /// The DNS question, kept when the analyzers are dropped.
    dns: Option<Box<service::DnsQuery>>,
}

impl Services {
    pub(super) fn new(
        enabled: ServiceSet,
        t: service::Transport,
        orig_port: u16,
        resp_port: u16,
    ) -> Self {
        let analyzers = (enabled != ServiceSet::none())
            .then(|| Box::new(ServiceState::new(enabled, t, orig_port, resp_port)));
        Services {
            analyzers,
            list: [None; 8],
            dns: None,
        }
    }

    /// Calls `f` with each confirmed service, in confirmation order
    /// (nothing allocated).
    pub fn for_each(&self, f: impl FnMut(Service)) {
        match &self.analyzers {
            Some(a) => a.services().for_each(f),
            None => self.list.iter().flatten().copied().for_each(f),
        }
    }

    /// Whether no service is confirmed.
    pub fn is_empty(&self) -> bool {
        match &self.analyzers {
            Some(a) => a.services().next().is_none(),
            // (filled from the front)
            None => self.list[0].is_none(),
        }
    }

    /// The first DNS question the originator asked (when the DNS analyzer
    /// parsed one).
    pub fn dns_query(&self) -> Option<service::DnsQuery> {
        match &self.analyzers {
            Some(a) => a.dns_query(),
            None => self.dns.as_deref().copied(),
        }
    }

    /// Whether `s` is confirmed.
    pub fn contains(&self, s: Service) -> bool {
        let mut found = false;
        self.for_each(|x| found |= x == s);
        found
    }

    pub(super) fn confirm(&mut self, s: Service) {
        match &mut self.analyzers {
            Some(a) => a.confirm(s),
            None => {
                if !self.list.iter().flatten().any(|x| *x == s) {
                    if let Some(slot) = self.list.iter_mut().find(|x| x.is_none()) {
                        *slot = Some(s);
                    }
                }
            }
        }
    }

    /// Drops the analyzers once none can change anything any more.
    pub(super) fn settle(&mut self) {
        if self.analyzers.as_ref().is_some_and(|a| !a.wants_payload()) {
            self.shed();
        }
    }

    /// Drops the analyzers, keeping what the logs read of them (the
    /// confirmed services in order, the DNS question): for a connection
    /// that is over, called where it lived, so their memory goes back to
    /// that thread's allocator instead of being freed by the writer thread.
    pub(super) fn shed(&mut self) {
        if let Some(a) = self.analyzers.take() {
            for (slot, s) in self.list.iter_mut().zip(a.services()) {
                *slot = Some(s);
            }
            self.dns = a.dns_query().map(Box::new);
        }
    }
}
