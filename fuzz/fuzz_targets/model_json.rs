//! The model file: `Model::from_json`, then everything a loaded model is
//! used for (the detect stage restoring host-detector state, scoring,
//! combining, explaining) on a few samples, and a batch scored to the bits
//! of scoring its samples one by one.
#![no_main]
use connscope::conn::service::Service;
use connscope::detect::features::{ServiceClass, N_FEATURES};
use connscope::detect::model::Model;
use connscope::detect::stage::{DetectConfig, DetectStage};
use connscope::detect::Sample;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("fuzz-model.json");
    // The one-pass reader (detect::json_scan) gives what serde alone gives:
    // the same model, or the same error.
    let fast = Model::from_json(text, path);
    match (&fast, &Model::from_json_serde(text, path)) {
        (Ok(a), Ok(b)) => assert_eq!(
            serde_json::to_string(a).ok(),
            serde_json::to_string(b).ok(),
            "fast and serde readers read different models"
        ),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("fast reader {:?}, serde {:?}", a.is_ok(), b.is_ok()),
    }
    let m = match fast {
        Ok(m) => m,
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    let mut classes = vec![ServiceClass::Icmp, ServiceClass::Service(Service::Http)];
    classes.extend(m.robust.classes().take(8).filter_map(ServiceClass::parse));
    let vectors: [[f64; N_FEATURES]; 3] = [
        [0.0; N_FEATURES],
        [1.0; N_FEATURES],
        std::array::from_fn(|i| (i as f64 * 37.5) - 100.0),
    ];
    let samples: Vec<Sample> = classes
        .iter()
        .flat_map(|&class| vectors.iter().map(move |&x| Sample { class, x }))
        .collect();
    for s in &samples {
        let raw = m.raw(s);
        std::hint::black_box(m.combine(&raw));
        std::hint::black_box(m.robust.explain(s));
        std::hint::black_box(m.robust.fence_violations(s));
        std::hint::black_box(m.ecod.parts(s));
        std::hint::black_box(m.iforest.mean_path_length(s));
    }
    // A batch (large enough for the forest's ranked walk, with odd values)
    // scores to the bits of scoring one by one.
    let mut batch: Vec<Sample> = samples.iter().cycle().take(40).copied().collect();
    for (k, s) in batch.iter_mut().enumerate() {
        s.x[k % N_FEATURES] = [f64::NAN, f64::INFINITY, -1e300, 1e-300, -0.0][k % 5];
    }
    let mut got = Vec::new();
    m.raw_and_top_batch(&batch, &mut got);
    assert_eq!(got.len(), batch.len());
    for (s, (raw, _)) in batch.iter().zip(&got) {
        let (want, _) = m.raw_and_top(s);
        for (a, b) in raw.iter().zip(&want) {
            assert_eq!(a.to_bits(), b.to_bits(), "batch and one-by-one scores differ");
        }
    }
    let cfg = DetectConfig {
        model: Some(m),
        ..DetectConfig::default()
    };
    if let Err(e) = DetectStage::new(cfg) {
        std::hint::black_box(e);
    }
});
