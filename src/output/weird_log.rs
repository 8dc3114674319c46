//! weird.log: Zeek's fields (`scripts/base/frameworks/notice/weird.zeek`).

use super::row::{self, Columns, Row, Val};

pub use crate::record::WeirdRecord;

impl Row for WeirdRecord {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        v.col("ts", Val::Time(self.ts));
        v.col(
            "uid",
            self.uid
                .as_ref()
                .map_or(Val::Unset("string"), |u| Val::Str(u.as_bytes())),
        );
        super::visit_conn_id(self.id.as_ref(), v);
        v.col("name", Val::Str(self.name.as_bytes()));
        v.col(
            "addl",
            self.addl
                .as_ref()
                .map_or(Val::Unset("string"), |a| Val::Str(a.as_bytes())),
        );
        v.col("notice", Val::Bool(false));
        v.col("peer", Val::Str(b"connscope"));
        v.col(
            "source",
            self.source
                .map_or(Val::Unset("string"), |s| Val::Str(s.as_bytes())),
        );
    }
}

/// `(name, type)` columns.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    row::columns(&WeirdRecord::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_agree() {
        let mut w = WeirdRecord {
            name: "bad_TCP_checksum",
            ..WeirdRecord::default()
        };
        row::check_formats_agree(&w);
        w.uid = Some("C12".into());
        w.addl = Some("x\ty".into());
        row::check_formats_agree(&w);
        let mut t = Vec::new();
        row::tsv(&mut t, &w);
        assert!(t.ends_with(b"\tbad_TCP_checksum\tx\\x09y\tF\tconnscope\t-"));
    }

    /// The `source` column: the analyzer name as a string in both formats,
    /// `-` in TSV and absent in JSON when unset.
    #[test]
    fn source_column() {
        let mut w = WeirdRecord {
            name: "bad_TCP_checksum",
            uid: Some("C12".into()),
            source: Some("TCP"),
            ..WeirdRecord::default()
        };
        row::check_formats_agree(&w);
        let mut t = Vec::new();
        row::tsv(&mut t, &w);
        assert!(t.ends_with(b"\tbad_TCP_checksum\t-\tF\tconnscope\tTCP"));
        let mut j = Vec::new();
        row::json(&mut j, &w, crate::output::TimeFormat::Epoch);
        let text = String::from_utf8(j).expect("JSON is UTF-8");
        assert!(
            text.ends_with(r#""notice":false,"peer":"connscope","source":"TCP"}"#),
            "{text}"
        );
        w.source = None;
        let mut j = Vec::new();
        row::json(&mut j, &w, crate::output::TimeFormat::Epoch);
        let text = String::from_utf8(j).expect("JSON is UTF-8");
        assert!(!text.contains("\"source\""), "{text}");
        let mut t = Vec::new();
        row::tsv(&mut t, &w);
        assert!(t.ends_with(b"\tconnscope\t-"));
    }
}
