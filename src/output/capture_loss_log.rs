//! capture_loss.log: Zeek's format (`policy/misc/capture-loss.zeek`): per
//! interval, how many TCP acknowledgements revealed data that was never seen.

use super::row::{self, Columns, Row, Val};

pub use crate::record::{capture_loss_percent as percent, CaptureLossRecord};

impl Row for CaptureLossRecord {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        v.col("ts", Val::Time(self.ts));
        v.col("ts_delta", Val::Nanos(self.ts_delta));
        v.col("peer", Val::Str(self.peer.as_bytes()));
        v.col("gaps", Val::Count(self.gaps));
        v.col("acks", Val::Count(self.acks));
        v.col("percent_lost", Val::Double(self.percent_lost));
    }
}

/// `(name, type)` columns.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    row::columns(&CaptureLossRecord::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_agree() {
        let r = CaptureLossRecord {
            ts_delta: 900_000_000_000,
            peer: "worker-0".into(),
            gaps: 3,
            acks: 400,
            percent_lost: 0.75,
            ..CaptureLossRecord::default()
        };
        row::check_formats_agree(&r);
        let mut t = Vec::new();
        row::tsv(&mut t, &r);
        assert!(t.ends_with(b"\t900.000000\tworker-0\t3\t400\t0.750000"));
    }
}
