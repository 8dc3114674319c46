//! Ranking metrics for one detector's scores against binary labels.
//!
//! Owns: ROC-AUC (Mann-Whitney U with average ranks for ties), PR-AUC
//! (average precision, ties grouped as one threshold), recall at a false
//! positive budget, and recall at a fixed threshold.
//!
//! Must not: read files or know about logs; callers pass finite scores
//! (higher = more anomalous) and labels (`true` = positive).

/// ROC-AUC as the Mann-Whitney statistic: the probability that a random
/// positive scores above a random negative, ties counting one half.
/// `None` without positives or without negatives.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' 1-based ranks, tied groups sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_group = idx[i..=j].iter().filter(|&&k| labels[k]).count();
        rank_sum += avg * pos_in_group as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The distinct score values from the highest down, each with the
/// cumulative true and false positives of the rows scoring at or above it
/// (rows tied at a value enter together).
fn descending_steps(scores: &[f64], labels: &[bool]) -> Vec<(f64, usize, usize)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut steps = Vec::new();
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if labels[k] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        steps.push((scores[idx[i]], tp, fp));
        i = j + 1;
    }
    steps
}

/// Average precision: Σ (Rₖ − Rₖ₋₁)·Pₖ over the distinct score values in
/// decreasing order (every row tied at a value enters at once), as
/// scikit-learn's `average_precision_score`. `None` without positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    for (_, tp, fp) in descending_steps(scores, labels) {
        let recall = tp as f64 / n_pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Some(ap)
}

/// The operating point chosen by [`recall_at_fpr`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingPoint {
    /// The threshold `t` (a row is flagged when its score ≥ t); `None` when
    /// even the highest score flags too many negatives (nothing is flagged).
    pub threshold: Option<f64>,
    /// Recall at `t`.
    pub recall: f64,
    /// Negatives with score ≥ t.
    pub false_positives: usize,
    /// Positives with score ≥ t.
    pub true_positives: usize,
}

/// The largest recall over thresholds `t` (each a score value) with
/// `#negatives(score ≥ t) / #negatives ≤ max_fpr`; rows tied at `t` count
/// fully. `None` without positives or without negatives.
pub fn recall_at_fpr(scores: &[f64], labels: &[bool], max_fpr: f64) -> Option<OperatingPoint> {
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut best = OperatingPoint {
        threshold: None,
        recall: 0.0,
        false_positives: 0,
        true_positives: 0,
    };
    for (t, tp, fp) in descending_steps(scores, labels) {
        // FP only grows as t falls, so the first violation ends the search.
        if fp as f64 / n_neg as f64 > max_fpr {
            break;
        }
        best = OperatingPoint {
            threshold: Some(t),
            recall: tp as f64 / n_pos as f64,
            false_positives: fp,
            true_positives: tp,
        };
    }
    Some(best)
}

/// (flagged, total) of the rows with `scores ≥ threshold` (nothing is
/// flagged with `None`).
pub fn flagged(scores: &[f64], threshold: Option<f64>) -> (usize, usize) {
    let n = match threshold {
        Some(t) => scores.iter().filter(|&&s| s >= t).count(),
        None => 0,
    };
    (n, scores.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auc_perfect_inverted_and_none() {
        let l = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &l), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &l), Some(0.0));
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(roc_auc(&[1.0, 2.0], &[false, false]), None);
    }

    #[test]
    fn auc_with_ties_by_hand() {
        // scores: neg 1, neg 2, pos 2, pos 3. Pairs (pos, neg): (2,1)=1,
        // (2,2)=0.5, (3,1)=1, (3,2)=1 -> 3.5 / 4 = 0.875.
        // Ranks: 1 -> 1, 2,2 -> 2.5 each, 3 -> 4; R_pos = 6.5;
        // U = 6.5 - 3 = 3.5.
        let s = [1.0, 2.0, 2.0, 3.0];
        let l = [false, false, true, true];
        assert!(close(roc_auc(&s, &l).unwrap(), 0.875));
        // All tied: 0.5.
        assert!(close(roc_auc(&[5.0; 4], &l).unwrap(), 0.5));
    }

    #[test]
    fn ap_by_hand_with_ties() {
        // Desc: 0.9 pos, 0.8 neg, 0.7 pos -> P@R0.5 = 1, P@R1 = 2/3.
        // AP = 0.5*1 + 0.5*2/3 = 0.8333...
        let ap = average_precision(&[0.9, 0.8, 0.7], &[true, false, true]).unwrap();
        assert!(close(ap, 0.5 + 1.0 / 3.0));
        // Tie at the top: {0.9 pos, 0.9 neg} enter together (P = 1/2,
        // R = 1/2), then 0.5 pos (P = 2/3, R = 1) -> 0.25 + 1/3.
        let ap = average_precision(&[0.9, 0.9, 0.5], &[true, false, true]).unwrap();
        assert!(close(ap, 0.25 + 1.0 / 3.0));
        assert_eq!(average_precision(&[1.0], &[false]), None);
    }

    #[test]
    fn recall_at_fpr_by_hand_with_ties() {
        // 100 negatives at 0..=99 (score i/100), positives at 0.995, 0.99,
        // 0.985 and 0.5. 1 % of 100 = 1 FP allowed: t = 0.99 (the negative at
        // 0.99 ties with a positive and counts fully) -> FP 1, TP 3.
        let mut s: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let mut l = vec![false; 100];
        s.extend([0.995, 0.99, 0.985, 0.5]);
        l.extend([true; 4]);
        let op = recall_at_fpr(&s, &l, 0.01).unwrap();
        assert_eq!(op.threshold, Some(0.985));
        assert_eq!(op.false_positives, 1);
        assert_eq!(op.true_positives, 3);
        assert!(close(op.recall, 0.75));
        // Two negatives tied at the top with the only positive: the tie
        // counts fully, 2/100 > 1 %, nothing can be flagged.
        let mut s: Vec<f64> = (0..100).map(|i| i as f64 / 1000.0).collect();
        s[0] = 1.0;
        s[1] = 1.0;
        let mut l = vec![false; 100];
        s.push(1.0);
        l.push(true);
        let op = recall_at_fpr(&s, &l, 0.01).unwrap();
        assert_eq!(op.threshold, None);
        assert_eq!(op.recall, 0.0);
        assert_eq!(flagged(&[1.0, 2.0], op.threshold), (0, 2));
        // Few negatives: 0 FP allowed; positives above every negative count.
        let op = recall_at_fpr(&[3.0, 2.0, 1.0, 2.0], &[true, false, false, true], 0.01).unwrap();
        assert_eq!(op.threshold, Some(3.0));
        assert!(close(op.recall, 0.5));
        assert_eq!(flagged(&[3.0, 2.0, 5.0], op.threshold), (2, 3));
    }
}
