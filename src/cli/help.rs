//! What the binary says about itself: the version line (with the codec library's SIMD state),
//! shell completions and the manual page.

use std::io::{self, Write};
use std::process::ExitCode;

use clap_complete::Shell;
use jpgtool::codec;

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// `0.1.0 (mozjpeg 2.2.3, SIMD on)`, or a line that says how to get SIMD back.
pub fn version_line() -> String {
    let lib = codec::library();
    let simd = if lib.simd {
        "SIMD on".to_string()
    } else {
        "SIMD OFF: install nasm, then `cargo clean -p mozjpeg-sys` and rebuild".to_string()
    };
    format!(
        "{} ({} {}, {simd})",
        env!("CARGO_PKG_VERSION"),
        lib.name,
        lib.version
    )
}

/// Warns once on stderr when the codec runs without SIMD: every timing is then 1.5-2x worse.
pub fn warn_if_simd_off() {
    if !codec::library().simd {
        eprintln!(
            "jpgtool: warning: mozjpeg was built without SIMD (nasm missing at build time), so \
             this runs 1.5-2x slower; install nasm, then `cargo clean -p mozjpeg-sys` and rebuild"
        );
    }
}

pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "jpgtool", &mut out);
    io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// A command whose own page to print (default: the page of jpgtool itself).
    command: Option<String>,
}

pub fn man(args: ManArgs, command: clap::Command) -> anyhow::Result<ExitCode> {
    let page = match &args.command {
        None => command,
        Some(name) => {
            let version = command.get_version().unwrap_or_default().to_string();
            let Some(sub) = command.find_subcommand(name) else {
                anyhow::bail!("no command named {name:?} (see `jpgtool --help`)");
            };
            // Named as man(1) pages of subcommands usually are, e.g. jpgtool-shrink(1).
            sub.clone().name(format!("jpgtool-{name}")).version(version)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}
