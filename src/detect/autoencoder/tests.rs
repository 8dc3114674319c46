//! Unit tests of the autoencoder: the arithmetic (tanh, dot, the layer
//! layout, gradients, batched and single reconstruction bit for bit) and
//! the model (training, scoring, serde, hostile inputs, the time bound).
//!
//! Must not: depend on the CPU (the AVX2 path is checked only where the CPU
//! has it).

use super::lanes::lanes;
#[cfg(target_arch = "x86_64")]
use super::lanes::reconstruct_lanes_avx2;
use super::net::{dot, tanh};
use super::*;

#[test]
fn tanh_follows_std_and_stays_monotone_and_bounded() {
    let mut prev = -1.0;
    for i in -400_000..=400_000 {
        let x = i as f64 / 20_000.0;
        let t = tanh(x);
        assert!((t - x.tanh()).abs() < 3e-7, "tanh({x}) = {t}");
        assert!(t >= prev, "not monotone at {x}");
        assert!(t.abs() < 1.0);
        assert_eq!(tanh(-x).to_bits(), (-t).to_bits());
        prev = t;
    }
    assert_eq!(tanh(0.0), 0.0);
    assert!(tanh(f64::NAN).is_nan());
    assert!((tanh(1e300) - 1.0).abs() < 3e-7 && (tanh(f64::NEG_INFINITY) + 1.0).abs() < 3e-7);
}

#[test]
fn dot_is_the_dot_product() {
    // Every length a layer can have (remainders 0..3), against a
    // sequential sum of exactly representable products.
    for n in 0..=33usize {
        let w: Vec<f64> = (0..n).map(|i| (i as f64) - 7.0).collect();
        let x: Vec<f64> = (0..n).map(|i| 0.5 * (i % 5) as f64).collect();
        let want: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
        assert_eq!(dot(&w, &x), want, "n = {n}");
    }
}

#[test]
fn reconstruct_gives_forwards_bits() {
    // `reconstruct` (scoring, activations on the stack) against
    // `forward` (training) on seeded random weights and inputs,
    // including zeros and negative zeros: the same bits.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 11 {
            0 => 0.0,
            1 => -0.0,
            _ => (x >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0,
        }
    };
    for _ in 0..300 {
        let p: Vec<f64> = (0..n_params()).map(|_| rnd()).collect();
        let z: [f64; N_FEATURES] = std::array::from_fn(|_| rnd());
        let mut a = new_acts();
        forward(&p, &z, &mut a);
        let r = reconstruct(&p, &z);
        for (u, v) in r.iter().zip(&a[LAYERS]) {
            assert_eq!(u.to_bits(), v.to_bits());
        }
        // Groups of points side by side, portable and (where the CPU
        // has it) AVX2: each lane the bits of its point alone.
        let zs: [[f64; N_FEATURES]; POINTS] =
            std::array::from_fn(|q| std::array::from_fn(|i| if q == 0 { z[i] } else { rnd() }));
        let x: [[f64; POINTS]; N_FEATURES] = std::array::from_fn(|i| zs.map(|z| z[i]));
        let mut groups = vec![lanes(&p, &x), reconstruct_lanes(&p, &x)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            groups.push(unsafe { reconstruct_lanes_avx2(&p, &x) });
        }
        for g in groups {
            for (q, z) in zs.iter().enumerate() {
                let alone = reconstruct(&p, z);
                for (i, v) in alone.iter().enumerate() {
                    assert_eq!(g[i][q].to_bits(), v.to_bits());
                }
            }
        }
    }
}
use crate::conn::service::Service;
use crate::detect::features::ServiceClass;

const HTTP: ServiceClass = ServiceClass::Service(Service::Http);

/// Points on a 2-D plane in feature space plus small noise.
fn manifold(n: usize, seed: u64) -> Vec<Sample> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            let (a, b) = (2.0 * r.unit() - 1.0, 2.0 * r.unit() - 1.0);
            let mut x = [0.0; N_FEATURES];
            for (j, v) in x.iter_mut().enumerate() {
                let jf = j as f64;
                *v = 3.0 + a * (0.7 * jf).sin() + b * (0.3 * jf).cos() + 0.02 * (r.unit() - 0.5);
            }
            Sample { class: HTTP, x }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn parameter_layout() {
    // d*16+16 + 16*6+6 + 6*16+16 + 16*d+d
    let d = N_FEATURES;
    assert_eq!(n_params(), (d * 16 + 16) + 102 + 112 + (16 * d + d));
    assert_eq!(offset(0), 0);
    assert_eq!(offset(1), d * 16 + 16);
    assert_eq!(offset(LAYERS), n_params());
}

#[test]
fn gradient_matches_finite_differences() {
    let mut r = Rng::new(3);
    let p: Vec<f64> = (0..n_params()).map(|_| r.unit() - 0.5).collect();
    let x: Vec<f64> = (0..N_FEATURES).map(|_| 2.0 * r.unit() - 1.0).collect();
    let loss = |p: &[f64]| {
        let mut a = new_acts();
        forward(p, &x, &mut a);
        a[LAYERS]
            .iter()
            .zip(&x)
            .map(|(o, t)| (o - t) * (o - t))
            .sum::<f64>()
    };
    let (mut a, mut d) = (new_acts(), new_acts());
    let mut g = vec![0.0; n_params()];
    forward(&p, &x, &mut a);
    backward(&p, &x, &a, &mut d, 1.0, &mut g);
    let n = n_params();
    for k in [0, 5, n / 3, n / 2, 2 * n / 3, n - 1] {
        let h = 1e-6;
        let mut pp = p.clone();
        pp[k] += h;
        let mut pm = p.clone();
        pm[k] -= h;
        let num = (loss(&pp) - loss(&pm)) / (2.0 * h);
        assert!(
            (num - g[k]).abs() < 1e-5 * num.abs().max(1.0),
            "{k}: {num} vs {}",
            g[k]
        );
    }
}

#[test]
fn off_manifold_point_scores_high_and_loss_decreases() {
    let train = manifold(500, 1);
    let m = Autoencoder::fit(&train, 7);
    let h = m.loss_history();
    assert_eq!(h.len(), MAX_EPOCHS.min(MAX_SAMPLE_PASSES / 500));
    assert!(
        h[h.len() - 1] < 0.25 * h[0],
        "{} -> {}",
        h[0],
        h[h.len() - 1]
    );
    let med = median(train.iter().map(|s| m.score(s)).collect());
    let max_in = manifold(200, 2)
        .iter()
        .map(|s| m.score(s))
        .fold(0.0, f64::max);
    // off the plane: every feature one unit (about one std) up and down
    // in an alternating pattern the plane cannot express
    let mut off = train[0];
    for (j, v) in off.x.iter_mut().enumerate() {
        *v = 3.0 + if j % 2 == 0 { 0.8 } else { -0.8 };
    }
    let so = m.score(&off);
    assert!(so > 3.0 * med, "{so} vs median {med}");
    assert!(so > max_in, "{so} vs max inlier {max_in}");
}

#[test]
fn batches_give_the_bits_of_one_by_one() {
    // Batches of every length (whole groups of points and remainders),
    // extreme points included, of a trained, an empty and a malformed
    // model: the bits of scoring one by one.
    let m = Autoencoder::fit(&manifold(300, 5), 3);
    let mut probe = manifold(40, 6);
    for (k, big) in [1e9, -1e9, f64::NAN, f64::INFINITY, 0.0]
        .into_iter()
        .enumerate()
    {
        let mut s = probe[k];
        s.x.iter_mut().step_by(k + 1).for_each(|v| *v = big);
        probe.push(s);
    }
    let empty = Autoencoder::fit(&[], 0);
    let mut malformed = m.clone();
    malformed.params.pop();
    for model in [&m, &empty, &malformed] {
        for len in [0, 1, 3, 4, 5, 8, 13, probe.len()] {
            let batch = &probe[..len.min(probe.len())];
            let mut out = vec![f64::NAN; batch.len()];
            model.score_batch(batch, &mut out);
            for (s, v) in batch.iter().zip(&out) {
                assert_eq!(v.to_bits(), model.score(s).to_bits());
            }
        }
    }
    assert!(probe.iter().any(|s| m.score(s) > 0.0));
}

#[test]
fn deterministic_and_serde_round_trip() {
    let train = manifold(200, 4);
    let a = Autoencoder::fit(&train, 9);
    let b = Autoencoder::fit(&train, 9);
    let c = Autoencoder::fit(&train, 10);
    let json = serde_json::to_string(&a).expect("serialize");
    // serde_json without its `float_roundtrip` feature may parse a float
    // one ulp off, hence the 1e-12 relative tolerance below.
    let r: Autoencoder = serde_json::from_str(&json).expect("deserialize");
    let mut differs = false;
    for s in &manifold(30, 5) {
        let sa = a.score(s);
        assert_eq!(sa, b.score(s));
        assert!((sa - r.score(s)).abs() <= 1e-12 * sa.abs().max(1.0));
        differs |= sa != c.score(s);
    }
    assert!(differs);
    assert_eq!(a.name(), "autoencoder");
}

#[test]
fn empty_constant_and_huge() {
    let m = Autoencoder::fit(&[], 0);
    let s = manifold(1, 1)[0];
    assert_eq!(m.score(&s), 0.0);
    assert!(m.loss_history().is_empty());

    let constant: Vec<Sample> = (0..40).map(|_| s).collect();
    let m = Autoencoder::fit(&constant, 0);
    let sc = m.score(&s);
    assert!(sc.is_finite() && sc < 0.1, "{sc}");

    let m = Autoencoder::fit(&manifold(100, 2), 0);
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
        let mut x = s;
        x.x = [v; N_FEATURES];
        let sc = m.score(&x);
        assert!(sc.is_finite(), "{v} -> {sc}");
    }
    let bad: Vec<Sample> = (0..20)
        .map(|i| {
            let mut x = s;
            x.x[i] = if i % 2 == 0 { f64::NAN } else { 1e300 };
            x
        })
        .collect();
    let m = Autoencoder::fit(&bad, 0);
    assert!(m.score(&s).is_finite());
}

#[test]
fn fit_on_max_samples_is_bounded() {
    let train = manifold(MAX_SAMPLES + 1000, 6);
    let start = std::time::Instant::now();
    let m = Autoencoder::fit(&train, 1);
    let took = start.elapsed();
    eprintln!("autoencoder fit on {MAX_SAMPLES} x {N_FEATURES}: {took:?}");
    assert_eq!(m.loss_history().len(), MIN_EPOCHS);
    assert!(m.score(&train[0]).is_finite());
}
