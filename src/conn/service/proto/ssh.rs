//! SSH banners and binary packets up to `NEWKEYS` / `SESSION_KEY`.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// SSH (`src/analyzer/protocol/ssh/ssh-protocol.pac`, `ssh-analyzer.pac`):
/// attached on 22/tcp or when both directions start with `SSH-[12].`
/// (`dpd_ssh_client` requires `dpd_ssh_server`). Key-exchange packets are
/// only parsed once both version banners are known (SSH1 when either side
/// is 1.x other than 1.99); the analyzer confirms on SSH2 `MSG_NEWKEYS`
/// (21) or SSH1 `SSH_CMSG_SESSION_KEY` (3). A one-sided capture therefore
/// never confirms. Partial connections are not parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ssh {
    d: [SshDir; 2],
}

#[derive(Clone, Copy, Debug, Default)]
struct SshDir {
    /// 0 = reading the banner, 1 = packets, 3 = encrypted / stopped.
    state: u8,
    /// Protocol version of the banner: 2, 199 (1.99) or 1.
    version: u8,
    banner: [u8; 8],
    blen: u8,
    hdr: [u8; 6],
    hlen: u8,
    /// Bytes to skip before the next header byte is read.
    skip: u32,
    /// SSH1: bytes still to skip after the type byte.
    after: u32,
}

impl SshDir {
    fn banner_done(&mut self) {
        let v = &self.banner[..self.blen as usize];
        self.version = if v.starts_with(b"SSH-2") {
            2
        } else if v.starts_with(b"SSH-1.99") {
            199
        } else {
            1
        };
        self.state = 1;
    }
}

impl Ssh {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while pos < data.len() {
            let other = self.d[1 - di];
            let d = &mut self.d[di];
            if d.state == 0 {
                let b = data[pos];
                pos += 1;
                if b == b'\n' {
                    d.banner_done();
                } else if (d.blen as usize) < d.banner.len() {
                    d.banner[d.blen as usize] = b;
                    d.blen += 1;
                }
                continue;
            }
            if d.state != 1 {
                break;
            }
            if other.state == 0 {
                // The peer's version is unknown: Zeek drops the rest.
                d.hlen = 0;
                d.skip = 0;
                break;
            }
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                continue;
            }
            let ssh1 = d.version == 1 || other.version == 1;
            let want = if ssh1 && d.hlen >= 4 {
                5
            } else if ssh1 {
                4
            } else {
                6
            };
            while (d.hlen as usize) < want && pos < data.len() {
                d.hdr[d.hlen as usize] = data[pos];
                d.hlen += 1;
                pos += 1;
            }
            if (d.hlen as usize) < want {
                break;
            }
            let len = u32::from_be_bytes([d.hdr[0], d.hdr[1], d.hdr[2], d.hdr[3]]);
            if !(2..=256 * 1024).contains(&len) {
                d.state = 3;
                break;
            }
            if ssh1 && want == 4 {
                // Padding to a multiple of 8 comes before the type byte.
                d.skip = 8 - len % 8;
                d.after = len - 1;
                continue;
            }
            let msg_type = if ssh1 { d.hdr[4] } else { d.hdr[5] };
            d.hlen = 0;
            d.skip = if ssh1 { d.after } else { len - 2 };
            if (ssh1 && msg_type == 3) || (!ssh1 && msg_type == 21) {
                ev.push(Service::Ssh, What::Confirm);
                d.state = 3;
            }
        }
        if self.d[0].state >= 3 && self.d[1].state >= 3 {
            Step::Done
        } else {
            Step::More
        }
    }
}
