//! The question of a DNS query, as the detectors see it (wire format only:
//! RFC 1035 §4.1.2). Owns parsing the first question name of a DNS message
//! into a small fixed-size summary; must not allocate or panic on any bytes.

/// Longest registered-domain suffix kept (bytes).
pub const SUFFIX_MAX: usize = 32;

/// What a detector needs of a DNS question: sizes and character statistics
/// of the name, a hash to count distinct names, and the last two labels
/// (the "registered domain", for messages).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DnsQuery {
    /// Length of the name in presentation form without the trailing dot.
    pub name_len: u16,
    /// Number of labels.
    pub labels: u8,
    /// Length of the longest label.
    pub max_label: u8,
    /// Shannon entropy of the name's characters, bits per character.
    pub entropy: f32,
    /// Digits among the name's characters (share, 0..1).
    pub digit_share: f32,
    /// 64-bit FNV-1a hash of the lower-cased name (counts distinct names).
    pub name_hash: u64,
    /// `qtype`.
    pub qtype: u16,
    /// The last two labels, lower-cased (e.g. `cdn-sync.net`), truncated.
    pub suffix: [u8; SUFFIX_MAX],
    /// Bytes used in `suffix`.
    pub suffix_len: u8,
}

impl DnsQuery {
    /// The registered-domain suffix as text.
    pub fn suffix(&self) -> &str {
        let n = (self.suffix_len as usize).min(SUFFIX_MAX);
        std::str::from_utf8(self.suffix.get(..n).unwrap_or(&[])).unwrap_or("")
    }
}
