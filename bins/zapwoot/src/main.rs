//! The zapwoot bridge binary: thin wiring of the zapwoot crates behind a hyper server and a
//! clap command line. See the workspace `README.md` for configuration and the HTTP API.

// A command-line program: printing to the terminal is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// Handlers answer errors as ready-made responses; boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod access;
mod activity_log;
mod admin_token;
mod app;
mod body_budget;
mod cli;
mod commands;
mod config;
mod config_file;
mod connections;
mod console;
mod demo;
mod document;
mod http;
mod instances;
mod log_throttle;
mod metered;
mod metrics;
mod pairing;
mod qr_terminal;
mod sd_notify;
mod sealing;
mod state;
mod subscriptions;

use anyhow::Result;
use clap::{CommandFactory as _, FromArgMatches as _};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn init_tracing(filter: &str, format: &str) -> Result<()> {
    let filter = EnvFilter::try_new(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "json" => builder.json().init(),
        "pretty" => builder.init(),
        other => anyhow::bail!("unknown log format {other:?}: expected pretty or json"),
    }
    Ok(())
}

/// Threads for blocking work, which is the store's database calls: more than the store has
/// connections only queue for one, each costing a stack and its own allocator arena.
const BLOCKING_THREADS: usize = 16;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches)?;
    let declared = match cli.global.config.clone() {
        Some(path) => config::apply(config::read(&path)?, &mut cli, &matches)?,
        None => Vec::new(),
    };
    // The demo prints its own story; keep the log to warnings unless asked otherwise.
    let quiet = matches!(cli.command, Command::Demo) && std::env::var_os("ZAPWOOT_LOG").is_none();
    let filter = if quiet {
        "warn"
    } else {
        cli.global.log.as_str()
    };
    init_tracing(filter, &cli.global.log_format)?;
    match cli.command {
        Command::Serve(serve) => app::serve(&cli.global, serve, declared).await,
        Command::Migrate => commands::migrate(&cli.global).await,
        Command::Instance(command) => commands::instance(&cli.global, command).await,
        Command::Events(command) => commands::events(&cli.global, command).await,
        Command::Subscription(command) => commands::subscription(&cli.global, command).await,
        Command::Tenant(command) => commands::tenant(&cli.global, command).await,
        Command::Key(command) => commands::key(&cli.global, command).await,
        Command::Send(args) => commands::send(&cli.global, args).await,
        Command::Doctor => commands::doctor(&cli.global).await,
        Command::Backup { file } => commands::backup(&cli.global, &file).await,
        Command::Demo => demo::run().await,
        Command::Healthcheck(args) => commands::healthcheck(&args).await,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "zapwoot", &mut std::io::stdout());
            Ok(())
        }
        Command::Manpage { out_dir: None } => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Manpage { out_dir: Some(dir) } => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(Cli::command(), &dir)?;
            Ok(())
        }
    }
}
