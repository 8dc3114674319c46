//! Config files: every command-line option can be set in a TOML file given
//! with `--config FILE`, keyed by its long option name (`log-dir`,
//! `ignore-checksums`, `stats-interval`, ...). Values become command-line
//! arguments placed before the user's own, so options given on the command
//! line override the file. Unknown keys and ill-typed values are rejected
//! with the file, line and reason.

use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use std::ffi::OsString;
use std::path::Path;

/// Expands `--config FILE` (anywhere after the subcommand) into the
/// arguments the file stands for; returns the new argument list.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>> {
    let pos = args
        .iter()
        .position(|a| a == "--config" || a.to_string_lossy().starts_with("--config="));
    let Some(pos) = pos else {
        return Ok(args);
    };
    let (path, used) = match args[pos].to_string_lossy().strip_prefix("--config=") {
        Some(p) => (p.to_string(), 1),
        None => match args.get(pos + 1) {
            Some(p) => (p.to_string_lossy().into_owned(), 2),
            None => bail!("--config needs a file"),
        },
    };
    // The subcommand is the first argument after the program name.
    let Some(sub) = args.get(1).map(|s| s.to_string_lossy().into_owned()) else {
        bail!("--config goes after a subcommand (read or live)");
    };
    let from_file = file_args(Path::new(&path), &sub)?;
    let mut out: Vec<OsString> = args[..2].to_vec();
    out.extend(from_file.into_iter().map(OsString::from));
    out.extend(args[2..pos].iter().cloned());
    out.extend(args[pos + used..].iter().cloned());
    Ok(out)
}

/// The 1-based line of `key = ...` in `text`, for messages.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
        .unwrap_or(0)
}

fn file_args(path: &Path, sub: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    text_args(&text, path, sub)
}

/// The arguments the config text `text` (read from `path`, named in
/// messages) stands for under subcommand `sub`. Separate from the file read
/// so the fuzz target (`fuzz/fuzz_targets/config.rs`) can call it.
pub(crate) fn text_args(text: &str, path: &Path, sub: &str) -> Result<Vec<String>> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}: {e}", path.display()))?;
    let cmd = crate::cli::Cli::command();
    let Some(sc) = cmd.get_subcommands().find(|c| c.get_name() == sub) else {
        bail!("--config: unknown subcommand {sub:?}");
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        let line = line_of(text, key);
        let where_ = format!("{}:{line}", path.display());
        let Some(arg) = sc
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
        else {
            bail!("{where_}: unknown key {key:?} for `connscope {sub}`");
        };
        if key == "config" {
            bail!("{where_}: a config file cannot include another");
        }
        let takes_value = arg.get_action().takes_values();
        let flag = format!("--{key}");
        match value {
            toml::Value::Boolean(b) if !takes_value => {
                if *b {
                    out.push(flag);
                }
            }
            toml::Value::Boolean(_) => bail!("{where_}: {key} takes a value, not true/false"),
            _ if !takes_value => bail!("{where_}: {key} is a switch: use true or false"),
            toml::Value::String(s) => {
                out.push(flag);
                out.push(s.clone());
            }
            toml::Value::Integer(i) => {
                out.push(flag);
                out.push(i.to_string());
            }
            toml::Value::Float(f) => {
                out.push(flag);
                out.push(f.to_string());
            }
            toml::Value::Array(items) => {
                let mut parts = Vec::new();
                for it in items {
                    match it {
                        toml::Value::String(s) => parts.push(s.clone()),
                        toml::Value::Integer(i) => parts.push(i.to_string()),
                        _ => bail!("{where_}: {key}: list items must be strings or integers"),
                    }
                }
                out.push(flag);
                out.push(parts.join(","));
            }
            _ => bail!("{where_}: {key}: unsupported value type"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_values_come_first_so_the_command_line_wins() {
        let dir = std::env::temp_dir().join(format!("cs-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(&f, "format = \"tsv\"\nignore-checksums = true\nseed = 7\nlocal-nets = [\"10.9.0.0/16\", \"10.8.0.0/16\"]\nmac-fields = false\n").unwrap();
        let args = os(&[
            "connscope",
            "read",
            "-r",
            "x.pcap",
            "--config",
            f.to_str().unwrap(),
            "--seed",
            "9",
        ]);
        let got: Vec<String> = expand(args)
            .unwrap()
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(got[..2], ["connscope", "read"]);
        assert!(got.contains(&"--ignore-checksums".to_string()));
        assert!(!got.contains(&"--mac-fields".to_string()));
        assert!(got
            .windows(2)
            .any(|w| w == ["--local-nets", "10.9.0.0/16,10.8.0.0/16"]));
        // The file's seed comes before the command line's, which clap keeps.
        let seed_positions: Vec<usize> = got
            .iter()
            .enumerate()
            .filter(|(_, a)| *a == "--seed")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got[seed_positions[0] + 1], "7");
        assert_eq!(got[seed_positions[1] + 1], "9");
    }

    #[test]
    fn floats_and_the_train_subcommand() {
        let dir = std::env::temp_dir().join(format!("cs-config3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.toml");
        std::fs::write(&f, "target-fpr = 0.01\ntrain-seconds = 3600\n").unwrap();
        let got: Vec<String> = expand(os(&[
            "connscope",
            "read",
            "-r",
            "x.pcap",
            "--config",
            f.to_str().unwrap(),
        ]))
        .unwrap()
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect();
        assert!(
            got.windows(2).any(|w| w == ["--target-fpr", "0.01"]),
            "{got:?}"
        );
        assert!(
            got.windows(2).any(|w| w == ["--train-seconds", "3600"]),
            "{got:?}"
        );
        let got = expand(os(&[
            "connscope",
            "train",
            "-o",
            "m.json",
            "--config",
            f.to_str().unwrap(),
        ]))
        .unwrap();
        assert!(got.iter().any(|a| a == "--target-fpr"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_line() {
        let dir = std::env::temp_dir().join(format!("cs-config2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.toml");
        std::fs::write(&f, "format = \"json\"\n\nignore-checksum = true\n").unwrap();
        let e = expand(os(&["connscope", "read", "--config", f.to_str().unwrap()])).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("bad.toml:3") && msg.contains("ignore-checksum"),
            "{msg}"
        );
        std::fs::write(&f, "ignore-checksums = \"yes\"\n").unwrap();
        let e = expand(os(&["connscope", "read", "--config", f.to_str().unwrap()])).unwrap_err();
        assert!(e.to_string().contains("bad.toml:1"), "{e}");
    }
}
