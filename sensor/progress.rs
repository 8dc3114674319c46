//! A progress bar for `connscope read` on a terminal (packets, bytes, ETA by
//! file offset); silent when stderr is not a terminal.

use connscope::capture::file::{CaptureError, FileSource};
use connscope::capture::{Next, PacketSource, SourceStats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters shared with the drawing thread.
#[derive(Default)]
pub struct Counters {
    /// Packets read.
    pub packets: AtomicU64,
    /// File offset reached.
    pub offset: AtomicU64,
}

/// A file source that publishes its progress.
pub struct Tracked {
    /// The file.
    pub inner: FileSource,
    /// Shared counters.
    pub counters: Arc<Counters>,
    n: u64,
}

impl PacketSource for Tracked {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        self.n += 1;
        if self.n % 8192 == 0 {
            self.counters.packets.store(self.n, Ordering::Relaxed);
            self.counters
                .offset
                .store(self.inner.offset(), Ordering::Relaxed);
        }
        self.inner.next()
    }
    fn stats(&mut self) -> Option<SourceStats> {
        None
    }
    fn shared_block(&self) -> Option<&Arc<connscope::capture::file::ReadBlock>> {
        self.inner.shared_block()
    }
}

/// Wraps `src`; when stderr is a terminal, draws a bar until the returned
/// guard is dropped.
pub fn track(src: FileSource, total_bytes: u64, enabled: bool) -> (Tracked, Option<Bar>) {
    let counters = Arc::new(Counters::default());
    let tracked = Tracked {
        inner: src,
        counters: Arc::clone(&counters),
        n: 0,
    };
    if !enabled || !std::io::stderr().is_terminal() {
        return (tracked, None);
    }
    let pb = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (c, s, p) = (Arc::clone(&counters), Arc::clone(&stop), pb.clone());
    let handle = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            p.set_position(c.offset.load(Ordering::Relaxed));
            p.set_message(format!("{} packets", c.packets.load(Ordering::Relaxed)));
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        p.finish_and_clear();
    });
    (
        tracked,
        Some(Bar {
            stop,
            handle: Some(handle),
        }),
    )
}

/// Stops the drawing thread when dropped.
pub struct Bar {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
