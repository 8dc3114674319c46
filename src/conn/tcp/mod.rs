//! TCP: endpoint state ([`endpoint`]) and the per-packet machine
//! ([`machine`]).

pub mod endpoint;
mod machine;

pub use endpoint::*;
pub use machine::{CaptureLoss, TcpOutcome};
