//! `joey`: the command-line entry point. Parses arguments, loads settings, starts the server.

use clap::Parser;
use joey_server::cli::{Cli, Command};
use joey_server::{settings, startup, telemetry};

/// mimalloc: the inference path allocates many small Arrow buffers on tokio workers that the log
/// writer frees on its own thread; glibc malloc's arena locks made that a measured bottleneck.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // The blocking pool runs the millisecond work of big requests (decoding bodies, printing
    // answers, reading log pages). More threads than cores buy no throughput there, and every
    // thread keeps its own allocator heap, whose freed pages stay resident for a while (mimalloc
    // v3: 1 s). Four concurrent 10k-row JSON requests peaked at ~335 MiB with tokio's default
    // of up to 512 threads, at 285-295 MiB with this cap, at no loss of throughput.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads((2 * cores).max(4)).build()?.block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
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
