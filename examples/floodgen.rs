//! Writes a flood capture: `floodgen syn|flows|frags|ooo N OUT.pcap`
//! (see `tests/flood/gen.rs`; used by `scripts/flood-bench.sh`).

#[path = "../tests/flood/gen.rs"]
mod gen;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let usage = "usage: floodgen syn|flows|frags|ooo N OUT.pcap";
    let (Some(kind), Some(n), Some(out)) = (a.get(1), a.get(2), a.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(1);
    };
    let Some(flood) = gen::Flood::from_name(kind) else {
        eprintln!("{usage}");
        std::process::exit(1);
    };
    let n: u64 = n.parse().expect("N");
    let w = gen::write(flood, n, std::path::Path::new(out));
    println!("{} packets, {} legitimate exchanges", w.packets, w.legit);
}
