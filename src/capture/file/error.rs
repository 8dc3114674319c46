//! [`CaptureError`]: every error a capture source returns (file formats
//! and live capture alike), each naming the file or interface.
//!
//! Must hold only the error type: no reading, no formatting beyond the
//! messages.

use std::io;
use std::path::PathBuf;

/// An error reading a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a pcap or pcapng file.
    #[error("{file}: not a pcap or pcapng file (magic {magic:#010x} at offset 0)")]
    NotCapture {
        /// The file.
        file: PathBuf,
        /// The first four bytes.
        magic: u32,
    },
    /// Reading stopped because a stop was requested (SIGTERM / SIGINT)
    /// while the reader waited for bytes (a stalled pipe or FIFO).
    #[error("{file}: reading stopped by a signal at offset {offset}")]
    Stopped {
        /// The file.
        file: PathBuf,
        /// Bytes read so far.
        offset: u64,
    },
    /// The file ends in the middle of a header or record.
    #[error("{file}: truncated at offset {offset}: {reason}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Byte offset of the incomplete header or record.
        offset: u64,
        /// What was incomplete.
        reason: String,
    },
    /// A header or record is malformed.
    #[error("{file}: corrupt at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Byte offset of the malformed header or record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A live capture was asked for an interface that does not exist.
    #[error("interface {iface}: no such interface")]
    NoSuchInterface {
        /// The interface name.
        iface: String,
    },
    /// Capturing on the interface is not permitted.
    #[error(
        "interface {iface}: permission denied ({reason}); live capture needs root or CAP_NET_RAW"
    )]
    PermissionDenied {
        /// The interface name.
        iface: String,
        /// What the system said.
        reason: String,
    },
    /// A capture filter expression does not compile.
    #[error("interface {iface}: bad capture filter {filter:?}: {reason}")]
    Filter {
        /// The interface name.
        iface: String,
        /// The filter expression.
        filter: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A live capture step failed (opening, configuring or reading).
    #[error("interface {iface}: {op}: {reason}")]
    Live {
        /// The interface name.
        iface: String,
        /// The step that failed.
        op: String,
        /// What went wrong.
        reason: String,
    },
}
