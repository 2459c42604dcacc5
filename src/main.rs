//! The `jpgtool` command: a thin layer of argument parsing and output over the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("jpgtool: {err:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}
