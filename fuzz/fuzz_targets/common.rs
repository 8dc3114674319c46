//! Input framing shared by the fuzz targets.
#![allow(dead_code)]

use connscope::capture::linktype;
use std::io::{self, Read};

/// Link types the decoder knows, plus one it does not (index by a byte).
pub const LINKTYPES: [u32; 19] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::PPP,
    linktype::FDDI,
    linktype::RAW,
    12,
    14,
    linktype::PPP_HDLC,
    linktype::C_HDLC,
    linktype::IEEE802_11,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IEEE802_11_RADIOTAP,
    linktype::IPV4,
    linktype::IPV6,
    linktype::NFLOG,
    linktype::LINUX_SLL2,
    999,
    // Appended, so the selectors of existing corpus inputs keep their meaning.
    linktype::NFLOG_BE,
];

/// The link type a selector byte names.
pub fn linktype_of(b: u8) -> u32 {
    LINKTYPES[b as usize % LINKTYPES.len()]
}

/// Records `[tag: u8][len: u16 LE][len bytes]`; a short last record takes
/// what is left.
pub struct Records<'a>(&'a [u8]);

impl<'a> Iterator for Records<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        if self.0.len() < 3 {
            return None;
        }
        let tag = self.0[0];
        let len = u16::from_le_bytes([self.0[1], self.0[2]]) as usize;
        let rest = &self.0[3..];
        let (a, b) = rest.split_at(len.min(rest.len()));
        self.0 = b;
        Some((tag, a))
    }
}

/// Splits `data` into [`Records`].
pub fn records(data: &[u8]) -> Records<'_> {
    Records(data)
}

/// Time step a record tag stands for, in nanoseconds: `tag^4` microseconds
/// forward (0 .. ~70 minutes), or 1..16 s backwards for tags >= 0xf0.
pub fn step_ns(tag: u8) -> i64 {
    if tag >= 0xf0 {
        -((tag - 0xef) as i64) * 1_000_000_000
    } else {
        let t = tag as i64;
        t * t * t * t * 1_000
    }
}

/// A reader handing out at most `step` bytes per call (exercises the
/// capture reader's buffer refills at every boundary).
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.step).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Read size for a capture file input: whole reads for most inputs, small
/// ones for some (chosen by the length, so seeds keep their meaning).
pub fn read_step(len: usize) -> usize {
    match len % 4 {
        0 => 1,
        1 => 7,
        _ => usize::MAX,
    }
}

/// Reads a whole capture file from `data` through
/// `connscope::capture::file::FileSource`, checking what every packet and
/// error claims against the input.
pub fn read_capture(data: &[u8]) {
    use connscope::capture::file::FileSource;
    let path = std::path::Path::new("fuzz.pcap");
    let reader = Trickle {
        data,
        step: read_step(data.len()),
    };
    let mut src = match FileSource::from_reader(path, reader) {
        Ok(s) => s,
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    std::hint::black_box(src.linktype());
    loop {
        match src.next_packet() {
            Ok(Some(p)) => {
                assert!(p.data.len() <= data.len());
                assert!(
                    p.data.len() as u64 <= u64::from(p.wire_len)
                        || p.data.len() > u32::MAX as usize
                );
                std::hint::black_box(p.ts);
            }
            Ok(None) => break,
            Err(e) => {
                std::hint::black_box(e.to_string());
                break;
            }
        }
        assert!(src.offset() <= data.len() as u64, "offset past the input");
        std::hint::black_box(src.shared_block().map(|b| b.len()));
    }
    assert!(src.offset() <= data.len() as u64, "offset past the input");
}

/// Parses an IP packet and its transport header the way the engine does,
/// checking every slice the views hand out lies inside the input.
pub fn ip_and_transport(data: &[u8], wire_len: usize, ignore_checksums: bool) {
    use connscope::decode::ip;
    let Ok(p) = ip::parse(data, wire_len, ignore_checksums) else {
        return;
    };
    assert!(p.header.len() <= data.len());
    assert!(p.payload.len() <= data.len());
    std::hint::black_box((p.fully_captured(), p.src.to_ip(), p.dst.to_ip()));
    if p.fully_captured() {
        std::hint::black_box(p.transport_checksum_ok(p.proto));
    }
    match p.proto {
        6 => {
            if let Ok(t) = ip::tcp(&p) {
                assert!(t.payload.len() <= p.payload.len());
                std::hint::black_box((t.window_scale(), t.has(0x02), t.options.len()));
            }
        }
        17 => {
            if let Ok(u) = ip::udp(&p) {
                assert!(u.payload.len() <= p.payload.len());
            }
        }
        1 | 58 => {
            if let Ok(i) = ip::icmp(&p) {
                std::hint::black_box(i.rest.len());
            }
        }
        _ => {}
    }
}
