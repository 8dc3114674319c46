//! Grouping anomalous connections into clusters of similar ones, so that a
//! scan of 5,000 connections reads as one line.
//!
//! Owns: [`dbscan`], a weighted DBSCAN (Ester et al., 1996) over points in
//! R^D that only links points of the same partition, and
//! [`cluster_conns`], which builds the points from conn.log values and
//! summarises each cluster.
//!
//! Points: `ln(1 + x)` of duration (s), orig and resp payload bytes, orig
//! and resp packets: the log scale makes a distance a ratio, so 1,000 vs
//! 2,000 bytes is as far apart as 10 vs 20. Partition: protocol, service
//! and `conn_state` (connections of different kinds are never neighbours;
//! ports and addresses are never features). Connections whose points fall
//! in the same small grid cell (side `eps / 4`) are merged into one
//! weighted point first, so 4,800 identical flood connections are one
//! point of weight 4,800; a point is a core point when the weights within
//! `eps` (itself included) reach `min_pts`. When more than [`MAX_POINTS`]
//! merged points remain the cell grows to `eps / 2`, and past that a
//! deterministic sample of [`MAX_POINTS`] points is clustered (with
//! `min_pts` scaled by the share of connections in the sample, at least 1:
//! the sample is that much thinner) and
//! every other point joins the cluster of its nearest core point within
//! `eps` (or is noise), as long as that costs at most [`ASSIGN_BUDGET`]
//! distances; past it the rest are counted as not clustered. The page says
//! which happened.
//!
//! Must not: read files or decide presentation.

use super::load::{Dataset, NONE};
use std::collections::HashMap;

/// Most merged points clustered.
pub const MAX_POINTS: usize = 5_000;
/// Most distance computations spent assigning the points outside the
/// sample to clusters.
pub const ASSIGN_BUDGET: usize = 200_000_000;
/// Dimensions of a point.
pub const DIMS: usize = 5;
/// Names of the dimensions.
pub const DIM_NAMES: [&str; DIMS] = [
    "ln(1+duration s)",
    "ln(1+orig_bytes)",
    "ln(1+resp_bytes)",
    "ln(1+orig_pkts)",
    "ln(1+resp_pkts)",
];

/// DBSCAN parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Neighbourhood radius (Euclidean).
    pub eps: f64,
    /// Weight a neighbourhood needs for a core point.
    pub min_pts: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            eps: 0.75,
            min_pts: 5.0,
        }
    }
}

const UNSEEN: u32 = u32::MAX - 1;

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Weighted DBSCAN. `points[i]` has weight `weights[i]` and partition
/// `parts[i]`; points of different partitions are never neighbours.
/// Returns each point's cluster (`0..k`, numbered in order of discovery,
/// i.e. of each cluster's first point in input order) or `None` for noise.
/// A border point (not core, but within `eps` of a core point) joins the
/// first cluster that reaches it.
pub fn dbscan(points: &[Vec<f64>], weights: &[f64], parts: &[u32], p: Params) -> Vec<Option<u32>> {
    dbscan_cores(points, weights, parts, p).0
}

/// [`dbscan`], also telling which points are core points.
pub fn dbscan_cores(
    points: &[Vec<f64>],
    weights: &[f64],
    parts: &[u32],
    p: Params,
) -> (Vec<Option<u32>>, Vec<bool>) {
    let n = points.len();
    let mut core = vec![false; n];
    let eps2 = p.eps * p.eps;
    // Per partition, indices sorted by the first coordinate: a neighbour
    // search only scans the slice within eps of it.
    let mut order: Vec<usize> = (0..n).collect();
    let key0 = |i: usize| points[i].first().copied().unwrap_or(0.0);
    order.sort_by(|&a, &b| {
        parts
            .get(a)
            .cmp(&parts.get(b))
            .then(key0(a).total_cmp(&key0(b)))
            .then(a.cmp(&b))
    });
    let mut pos = vec![0usize; n];
    for (k, &i) in order.iter().enumerate() {
        pos[i] = k;
    }
    let neighbours = |i: usize, out: &mut Vec<usize>| -> f64 {
        out.clear();
        let mut w = 0.0;
        let x0 = key0(i);
        let part = parts.get(i);
        let mut visit = |j: usize, out: &mut Vec<usize>| {
            if dist2(&points[i], &points[j]) <= eps2 {
                out.push(j);
                w += weights.get(j).copied().unwrap_or(1.0);
            }
        };
        let mut k = pos[i];
        loop {
            let j = order[k];
            if parts.get(j) != part || x0 - key0(j) > p.eps {
                break;
            }
            visit(j, out);
            if k == 0 {
                break;
            }
            k -= 1;
        }
        for &j in &order[pos[i] + 1..] {
            if parts.get(j) != part || key0(j) - x0 > p.eps {
                break;
            }
            visit(j, out);
        }
        w
    };
    let mut label = vec![UNSEEN; n];
    let mut next = 0u32;
    let mut nb = Vec::new();
    let mut queue = Vec::new();
    for i in 0..n {
        if label[i] != UNSEEN {
            continue;
        }
        if neighbours(i, &mut nb) < p.min_pts {
            label[i] = NONE;
            continue;
        }
        core[i] = true;
        let c = next;
        next += 1;
        label[i] = c;
        queue.clear();
        queue.extend(nb.iter().copied().filter(|&j| j != i));
        while let Some(j) = queue.pop() {
            if label[j] == NONE {
                label[j] = c;
                continue;
            }
            if label[j] != UNSEEN {
                continue;
            }
            label[j] = c;
            if neighbours(j, &mut nb) >= p.min_pts {
                core[j] = true;
                queue.extend(
                    nb.iter()
                        .copied()
                        .filter(|&k| label[k] == UNSEEN || label[k] == NONE),
                );
            }
        }
    }
    let labels = label
        .into_iter()
        .map(|l| (l != NONE && l != UNSEEN).then_some(l))
        .collect();
    (labels, core)
}

/// A connection's point.
pub fn point(d: &Dataset, i: u32) -> [f64; DIMS] {
    let Some(c) = d.conns.get(i as usize) else {
        return [0.0; DIMS];
    };
    let l = |x: f64| {
        if x.is_finite() && x > 0.0 {
            x.ln_1p()
        } else {
            0.0
        }
    };
    [
        l(c.duration),
        l(c.orig_bytes as f64),
        l(c.resp_bytes as f64),
        l(c.orig_pkts as f64),
        l(c.resp_pkts as f64),
    ]
}

/// One cluster of connections.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Its connections (conn.log rows), in file order.
    pub members: Vec<u32>,
    /// The member nearest the cluster's weighted centroid.
    pub typical: u32,
    /// The centroid.
    pub centroid: [f64; DIMS],
}

/// The result of clustering.
#[derive(Clone, Debug, Default)]
pub struct Clustering {
    /// Clusters, largest first.
    pub clusters: Vec<Cluster>,
    /// Connections that are noise (in no cluster).
    pub noise: Vec<u32>,
    /// Connections left out by the sample cap (not clustered).
    pub unclustered: u64,
    /// Connections outside the sample that joined a cluster (nearest core
    /// point within eps).
    pub assigned: u64,
    /// Merged points clustered.
    pub points: usize,
    /// Grid cell side used to merge points.
    pub cell: f64,
    /// Per merged point: its position, weight and cluster (for the plot).
    pub plot: Vec<([f64; DIMS], f64, Option<u32>)>,
    /// The parameters.
    pub params: Params,
}

/// Clusters the connections `conns` (conn.log rows; usually the anomalous
/// ones) as the module docs say.
pub fn cluster_conns(d: &Dataset, conns: &[u32], params: Params) -> Clustering {
    let mut cell = params.eps / 4.0;
    let mut groups = merge(d, conns, cell);
    while groups.len() > MAX_POINTS && cell < params.eps / 2.0 {
        cell *= 2.0;
        groups = merge(d, conns, cell);
    }
    let mut rest: Vec<Group> = Vec::new();
    if groups.len() > MAX_POINTS {
        // A deterministic sample: the points whose key hashes lowest.
        groups.sort_by_key(|g| g.hash);
        rest = groups.split_off(MAX_POINTS);
        groups.sort_by_key(|g| g.members.first().copied().unwrap_or(NONE));
    }
    let points: Vec<Vec<f64>> = groups.iter().map(|g| g.mean.to_vec()).collect();
    let weights: Vec<f64> = groups.iter().map(|g| g.members.len() as f64).collect();
    let parts: Vec<u32> = groups.iter().map(|g| g.part).collect();
    // A sample holds a fraction of the weight: the density a core point
    // needs scales with it.
    let sampled: f64 = weights.iter().sum();
    let total = sampled + rest.iter().map(|g| g.members.len() as f64).sum::<f64>();
    let used = Params {
        eps: params.eps,
        min_pts: (params.min_pts * sampled / total.max(1.0)).max(1.0),
    };
    let (labels, cores) = dbscan_cores(&points, &weights, &parts, used);
    // Points outside the sample join the cluster of the nearest core point
    // within eps (else they are noise), when that search is affordable.
    let mut by_part: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, g) in groups.iter().enumerate().filter(|(i, _)| cores[*i]) {
        by_part.entry(g.part).or_default().push(i);
    }
    let work: usize = rest
        .iter()
        .map(|g| by_part.get(&g.part).map_or(0, Vec::len))
        .sum();
    let mut unclustered = 0u64;
    let mut rest_labels: Vec<Option<u32>> = Vec::with_capacity(rest.len());
    for g in &rest {
        if work > ASSIGN_BUDGET {
            unclustered += g.members.len() as u64;
            rest_labels.push(None);
            continue;
        }
        let eps2 = params.eps * params.eps;
        let near = by_part
            .get(&g.part)
            .into_iter()
            .flatten()
            .map(|&i| (dist2(&groups[i].mean, &g.mean), i))
            .filter(|(d, _)| *d <= eps2)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rest_labels.push(near.and_then(|(_, i)| labels[i]));
    }
    let k = labels.iter().flatten().max().map_or(0, |m| *m as usize + 1);
    let mut clusters: Vec<Cluster> = vec![Cluster::default(); k];
    let mut weight = vec![0.0; k];
    let mut noise = Vec::new();
    for (g, l) in groups.iter().zip(&labels) {
        match l {
            Some(c) => {
                let c = *c as usize;
                clusters[c].members.extend_from_slice(&g.members);
                let w = g.members.len() as f64;
                for (a, x) in clusters[c].centroid.iter_mut().zip(g.mean) {
                    *a += w * x;
                }
                weight[c] += w;
            }
            None => noise.extend_from_slice(&g.members),
        }
    }
    for (g, l) in rest.iter().zip(&rest_labels) {
        match l {
            Some(c) => clusters[*c as usize].members.extend_from_slice(&g.members),
            None if work <= ASSIGN_BUDGET => noise.extend_from_slice(&g.members),
            None => {}
        }
    }
    for (c, w) in clusters.iter_mut().zip(&weight) {
        for a in c.centroid.iter_mut() {
            *a /= w.max(1.0);
        }
        // A cluster needs min_pts connections (with a scaled min_pts a
        // lone sampled point is its own core).
        if (c.members.len() as f64) < params.min_pts {
            noise.append(&mut c.members);
        }
        c.members.sort_unstable();
    }
    // Typical member: the first connection of the merged point nearest the
    // centroid (ties: the earlier connection).
    let mut best: Vec<Option<(f64, u32)>> = vec![None; k];
    for (g, l) in groups.iter().zip(&labels) {
        let Some(c) = l else { continue };
        let c = *c as usize;
        let first = g.members.first().copied().unwrap_or(NONE);
        let dd = dist2(&g.mean, &clusters[c].centroid);
        if best[c].is_none_or(|(bd, bf)| dd < bd || (dd == bd && first < bf)) {
            best[c] = Some((dd, first));
        }
    }
    for (c, b) in clusters.iter_mut().zip(best) {
        c.typical = b.map_or(NONE, |x| x.1);
    }
    noise.sort_unstable();
    let plot = groups
        .iter()
        .zip(&labels)
        .map(|(g, l)| (g.mean, g.members.len() as f64, *l))
        .collect();
    // Connections outside the sample that ended in a kept cluster.
    let assigned: u64 = rest
        .iter()
        .zip(&rest_labels)
        .filter(|(_, l)| l.is_some_and(|c| !clusters[c as usize].members.is_empty()))
        .map(|(g, _)| g.members.len() as u64)
        .sum();
    let mut order: Vec<usize> = (0..k)
        .filter(|&c| !clusters[c].members.is_empty())
        .collect();
    order.sort_by(|&a, &b| {
        clusters[b]
            .members
            .len()
            .cmp(&clusters[a].members.len())
            .then(
                clusters[a]
                    .members
                    .first()
                    .cmp(&clusters[b].members.first()),
            )
    });
    // Renumber so that cluster 0 is the largest (plot labels follow).
    let mut rank = vec![NONE; k];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r as u32;
    }
    let plot = plot_renumber(plot, &rank);
    let clusters = order.into_iter().map(|c| clusters[c].clone()).collect();
    Clustering {
        clusters,
        noise,
        unclustered,
        assigned,
        points: groups.len(),
        cell,
        plot,
        params,
    }
}

fn plot_renumber(
    plot: Vec<([f64; DIMS], f64, Option<u32>)>,
    rank: &[u32],
) -> Vec<([f64; DIMS], f64, Option<u32>)> {
    plot.into_iter()
        .map(|(p, w, l)| {
            let r = l.and_then(|c| rank.get(c as usize).copied());
            (p, w, r.filter(|r| *r != NONE))
        })
        .collect()
}

/// Connections merged into one weighted point.
struct Group {
    part: u32,
    hash: u64,
    mean: [f64; DIMS],
    members: Vec<u32>,
}

fn merge(d: &Dataset, conns: &[u32], cell: f64) -> Vec<Group> {
    let mut index: HashMap<(u32, [i64; DIMS]), usize> = HashMap::new();
    let mut parts: HashMap<(u32, u32, u32), u32> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for &i in conns {
        let Some(c) = d.conns.get(i as usize) else {
            continue;
        };
        let np = parts.len() as u32;
        let part = *parts.entry((c.proto, c.service, c.state)).or_insert(np);
        let p = point(d, i);
        let q = p.map(|x| (x / cell).round() as i64);
        let g = *index.entry((part, q)).or_insert_with(|| {
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ u64::from(part);
            for v in q {
                h = (h ^ v as u64).wrapping_mul(0x0000_0100_0000_01b3);
                h ^= h >> 29;
            }
            groups.push(Group {
                part,
                hash: h,
                mean: [0.0; DIMS],
                members: Vec::new(),
            });
            groups.len() - 1
        });
        let gr = &mut groups[g];
        gr.members.push(i);
        let n = gr.members.len() as f64;
        for (m, x) in gr.mean.iter_mut().zip(p) {
            *m += (x - *m) / n;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 uniform in [0, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn run(points: &[Vec<f64>], eps: f64, min_pts: f64) -> Vec<Option<u32>> {
        let w = vec![1.0; points.len()];
        let parts = vec![0; points.len()];
        dbscan(points, &w, &parts, Params { eps, min_pts })
    }

    #[test]
    fn two_blobs_and_noise_known_answer() {
        // Blob A: 100 points uniform in the square [0,1]^2; blob B: 80
        // points in [10,11]x[5,6]; 10 isolated points on a ring of radius
        // 30 around (5,3), each at least 5 apart from the others.
        let mut r = Rng(7);
        let mut pts = Vec::new();
        for _ in 0..100 {
            pts.push(vec![r.next(), r.next()]);
        }
        for _ in 0..80 {
            pts.push(vec![10.0 + r.next(), 5.0 + r.next()]);
        }
        for k in 0..10 {
            let a = k as f64 * std::f64::consts::TAU / 10.0;
            pts.push(vec![5.0 + 30.0 * a.cos(), 3.0 + 30.0 * a.sin()]);
        }
        let l = run(&pts, 0.3, 4.0);
        assert!(
            l[..100].iter().all(|x| *x == Some(0)),
            "blob A is cluster 0"
        );
        assert!(
            l[100..180].iter().all(|x| *x == Some(1)),
            "blob B is cluster 1"
        );
        assert!(
            l[180..].iter().all(Option::is_none),
            "ring points are noise"
        );
    }

    #[test]
    fn chain_is_density_reachable_and_outlier_is_noise() {
        // 0.0, 0.4, ..., 4.0 with eps 0.5 and min_pts 3: every inner point
        // has 3 neighbours (itself and both sides), the two ends 2 (border
        // points); one cluster. 10.0 is noise.
        let mut pts: Vec<Vec<f64>> = (0..=10).map(|k| vec![k as f64 * 0.4]).collect();
        pts.push(vec![10.0]);
        let l = run(&pts, 0.5, 3.0);
        assert!(l[..11].iter().all(|x| *x == Some(0)), "{l:?}");
        assert_eq!(l[11], None);
    }

    #[test]
    fn textbook_core_border_noise() {
        // eps 1, min_pts 3 (a point counts itself). Worked by hand:
        // a(0,0) b(0.5,0) c(1,0) d(1.9,0) e(5,5) f(5.5,5) g(9,9).
        // a: {a,b,c} 3 -> core; b: {a,b,c} core; c: {a,b,c,d} core;
        // d: {c,d} 2 -> border of c; e: {e,f} 2, f: {e,f} 2 -> noise;
        // g: noise.
        let pts = vec![
            vec![0.0, 0.0],
            vec![0.5, 0.0],
            vec![1.0, 0.0],
            vec![1.9, 0.0],
            vec![5.0, 5.0],
            vec![5.5, 5.0],
            vec![9.0, 9.0],
        ];
        let l = run(&pts, 1.0, 3.0);
        assert_eq!(
            l,
            vec![Some(0), Some(0), Some(0), Some(0), None, None, None]
        );
    }

    #[test]
    fn weights_count_and_partitions_separate() {
        // One point of weight 5 is a core point by itself; its twin in
        // another partition is not its neighbour.
        let pts = vec![vec![0.0], vec![0.1], vec![0.0]];
        let l = dbscan(
            &pts,
            &[5.0, 1.0, 1.0],
            &[0, 0, 1],
            Params {
                eps: 0.5,
                min_pts: 5.0,
            },
        );
        assert_eq!(l, vec![Some(0), Some(0), None]);
    }

    #[test]
    fn points_outside_the_sample_join_the_nearest_core() {
        // 20 services (partitions) x 2 shapes far apart x 600 connections,
        // each shape spread over a box of side 1.5 eps in the 5 ln-scaled
        // dimensions: more than MAX_POINTS merged points even at the widest
        // cell, so a sample is clustered and the rest assigned. Nothing is
        // left out, every cluster holds one service and one shape, and the
        // 40 largest clusters (one per service and shape) hold most.
        use super::super::load::{Conn, Dataset};
        let mut d = Dataset::default();
        let tcp = d.words.id("tcp");
        let sf = d.words.id("SF");
        let mut r = Rng(5);
        let eps = 0.4;
        let side = 1.5 * eps;
        let mut kind = Vec::new();
        for svc in 0..20u32 {
            let service = d.words.id(&format!("svc{svc}"));
            for shape in 0..2u32 {
                let base = if shape == 0 { 8.0 } else { 13.0 };
                for _ in 0..600 {
                    let mut v = || (base + side * r.next()).exp_m1();
                    let (du, ob, rb, op, rp) = (v() / 1000.0, v(), v(), v() / 100.0, v() / 100.0);
                    kind.push(svc * 2 + shape);
                    d.conns.push(Conn {
                        duration: du,
                        orig_bytes: ob as u64,
                        resp_bytes: rb as u64,
                        orig_pkts: op as u64,
                        resp_pkts: rp as u64,
                        proto: tcp,
                        service,
                        state: sf,
                        ..Conn::default()
                    });
                }
            }
        }
        let n = d.conns.len();
        let all: Vec<u32> = (0..n as u32).collect();
        let p = Params { eps, min_pts: 3.0 };
        let c = cluster_conns(&d, &all, p);
        assert_eq!(c.points, MAX_POINTS, "sampled");
        assert_eq!(c.unclustered, 0);
        assert!(c.assigned > 0);
        let clustered: usize = c.clusters.iter().map(|x| x.members.len()).sum();
        assert_eq!(clustered + c.noise.len(), n);
        for cl in &c.clusters {
            let k = kind[cl.members[0] as usize];
            assert!(
                cl.members.iter().all(|&m| kind[m as usize] == k),
                "one kind per cluster"
            );
        }
        let top: usize = c.clusters.iter().take(40).map(|x| x.members.len()).sum();
        assert!(top * 100 >= n * 85, "the 40 largest hold {top} of {n}");
    }

    #[test]
    fn random_blobs_match_brute_force_labels() {
        // The sorted-window neighbour search finds exactly what a full
        // scan finds: compare cluster partitions with a brute-force
        // DBSCAN on 300 random points in 3 dimensions.
        let mut r = Rng(11);
        let pts: Vec<Vec<f64>> = (0..300)
            .map(|k| {
                let c = (k % 3) as f64 * 2.0;
                vec![c + r.next(), c + r.next(), r.next() * 3.0]
            })
            .collect();
        let p = Params {
            eps: 0.35,
            min_pts: 4.0,
        };
        let fast = run(&pts, p.eps, p.min_pts);
        // Brute force: every point scanned for every neighbourhood.
        let n = pts.len();
        let nb = |i: usize| -> Vec<usize> {
            (0..n)
                .filter(|&j| dist2(&pts[i], &pts[j]) <= p.eps * p.eps)
                .collect()
        };
        let mut lab = vec![UNSEEN; n];
        let mut next = 0;
        for i in 0..n {
            if lab[i] != UNSEEN {
                continue;
            }
            let ni = nb(i);
            if (ni.len() as f64) < p.min_pts {
                lab[i] = NONE;
                continue;
            }
            lab[i] = next;
            let mut q: Vec<usize> = ni.into_iter().filter(|&j| j != i).collect();
            while let Some(j) = q.pop() {
                if lab[j] == NONE {
                    lab[j] = next;
                    continue;
                }
                if lab[j] != UNSEEN {
                    continue;
                }
                lab[j] = next;
                let nj = nb(j);
                if nj.len() as f64 >= p.min_pts {
                    q.extend(
                        nj.into_iter()
                            .filter(|&k| lab[k] == UNSEEN || lab[k] == NONE),
                    );
                }
            }
            next += 1;
        }
        let brute: Vec<Option<u32>> = lab.into_iter().map(|l| (l != NONE).then_some(l)).collect();
        // The blobs are further apart than eps, so no border point can
        // be claimed by two clusters: the labels agree exactly.
        assert_eq!(fast, brute);
        assert!(fast.iter().flatten().max().is_some());
    }
}
