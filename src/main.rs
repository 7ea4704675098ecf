use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cairn::cli::run(cairn::cli::Cli::parse())
}
