//! `joey`: the command-line entry point. Parses arguments, loads settings, starts the server.

use clap::Parser;
use joey_server::cli::{Cli, Command};
use joey_server::{settings, startup, telemetry};

/// mimalloc: the inference path allocates many small Arrow buffers on tokio workers that the log
/// writer frees on its own thread; glibc malloc's arena locks made that a measured bottleneck.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let settings = settings::load(&args)?;
            telemetry::init(&settings.log_format);
            let app = startup::Application::build(settings).await?;
            eprintln!("joey listening on http://{}", app.local_addr());
            app.run_until_stopped().await
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&joey_api::openapi())?);
            Ok(())
        }
    }
}
