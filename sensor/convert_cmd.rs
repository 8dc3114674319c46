//! `connscope convert`: Zeek log files (TSV or JSON lines) to Parquet.
//!
//! Owns the command's options and messages; the conversion is
//! [`connscope::output::parquet::convert`]. Converts every input even after
//! one fails. Exit status: 0 when every file was converted, 1 otherwise
//! (each failure named with its file, line and reason).

use anyhow::{Context, Result};
use clap::Args;
use connscope::output::parquet::{convert, ParquetOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// `connscope convert` options.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Zeek logs to convert (TSV with #fields/#types headers, or JSON lines); each becomes NAME.parquet.
    #[arg(required = true, value_name = "LOG")]
    pub inputs: Vec<PathBuf>,
    /// Directory for the Parquet files (default: the current directory).
    #[arg(short = 'o', long = "output-dir", value_name = "OUTDIR")]
    pub output_dir: Option<PathBuf>,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 65536, value_name = "ROWS")]
    pub parquet_row_group: usize,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `connscope convert`.
pub fn run(a: ConvertArgs) -> Result<ExitCode> {
    let out = a.output_dir.unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&out)
        .with_context(|| format!("creating the output directory {}", out.display()))?;
    let opts = ParquetOptions {
        row_group_rows: a.parquet_row_group.max(1),
    };
    let mut failed = 0;
    for input in &a.inputs {
        match convert::convert(input, &out, opts) {
            Ok(c) => {
                if !a.quiet {
                    eprintln!(
                        "connscope: {} ({}) -> {}: {} rows",
                        input.display(),
                        c.format,
                        c.output.display(),
                        c.rows
                    );
                }
            }
            Err(e) => {
                // A partial output would look like a whole log: remove it.
                let _ = std::fs::remove_file(convert::output_path(input, &out));
                eprintln!("connscope: error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "connscope: {failed} of {} files not converted",
            a.inputs.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
