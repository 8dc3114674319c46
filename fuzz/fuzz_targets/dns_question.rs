//! `conn::service::parse_question` on a DNS message.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(q) = connscope::conn::service::parse_question(data) {
        assert!(q.suffix().len() <= connscope::conn::service::SUFFIX_MAX);
        assert!(q.entropy.is_finite() && q.digit_share.is_finite());
        assert!(q.labels as usize <= q.name_len as usize);
    }
});
