//! The TOML config file: `toml` parsing and the expansion into command-line
//! arguments (`sensor/config.rs`), then clap parsing of the result and the
//! settings built from it (`sensor/cli.rs`). The binary's modules are
//! compiled into this target as they are (`#[path]`), so nothing is copied.
#![no_main]
#![allow(dead_code, unused_imports)]
use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/cli.rs"]
mod cli;
#[path = "../../sensor/config.rs"]
mod config;
#[path = "../../sensor/convert_cmd.rs"]
mod convert_cmd;
#[path = "../../sensor/eval_cmd.rs"]
mod eval_cmd;
#[path = "../../sensor/report_cmd.rs"]
mod report_cmd;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (sub, required): (&str, &[&str]) = match data.len() % 3 {
        0 => ("read", &["-r", "x.pcap"]),
        1 => ("live", &["-i", "lo"]),
        _ => ("train", &["-o", "m.json", "-r", "x.pcap"]),
    };
    let args = match config::text_args(text, std::path::Path::new("fuzz.toml"), sub) {
        Ok(a) => a,
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    let mut argv: Vec<String> = vec!["connscope".into(), sub.into()];
    argv.extend(args);
    argv.extend(required.iter().map(|s| s.to_string()));
    let Ok(cli) = cli::Cli::try_parse_from(&argv) else {
        return;
    };
    let r = match &cli.command {
        cli::Command::Read(r) => r,
        cli::Command::Live(l) => &l.common,
        cli::Command::Train(t) => &t.common,
        cli::Command::Eval(_) | cli::Command::Report(_) | cli::Command::Convert(_) => return,
    };
    std::hint::black_box(r.detection());
    if let Ok(s) = r.settings() {
        std::hint::black_box(s);
    }
});
