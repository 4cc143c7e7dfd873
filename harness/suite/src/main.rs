//! `resetlab`: parse the arguments, hand over to the library, turn errors into a clear message.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    resetlab::cli::init_logging();
    let cli = resetlab::cli::Cli::parse();
    match resetlab::cli::main(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", resetlab_wire::secret::redact(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
