//! `zapwoot instance import NAME --days N`, with a progress bar on a terminal and plain
//! progress lines otherwise.

use std::io::{IsTerminal as _, Write as _};
use std::time::Instant;

use anyhow::{Result, bail};
use zapwoot_store::{ImportJob, ImportState, Store};

use super::fail;
use crate::instances;

/// Imports (or resumes importing) `days` days of `name`'s chats.
pub(crate) async fn run(store: &Store, name: &str, days: u32) -> Result<()> {
    let instance = instances::get(store, name).await.map_err(|e| fail(&e))?;
    let engine = zapwoot_sync::Engine::new(store.clone(), zapwoot_sync::ActivityBus::default());
    let job = instances::start_import(&engine, &instance, days)
        .await
        .map_err(|e| fail(&e))?;
    if job.chats_done > 0 {
        eprintln!(
            "resuming import {} at chat {} of {}",
            job.id,
            job.chats_done + 1,
            job.chats.len()
        );
    }
    let terminal = std::io::stderr().is_terminal();
    let mut meter = Meter::new(&job, terminal);
    let job = engine
        .run_import(job, |j| meter.show(j))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if terminal {
        eprintln!();
    }
    match job.state {
        ImportState::Done => {
            println!(
                "import {} done: {} chats, {} messages found, {} queued (the rest were already in Chatwoot); a running bridge relays them",
                job.id,
                job.chats.len(),
                job.messages_found,
                job.messages_queued
            );
            Ok(())
        }
        _ => bail!(
            "import {} stopped at chat {} of {}: {}; run the same command again to resume",
            job.id,
            job.chats_done + 1,
            job.chats.len(),
            job.error.unwrap_or_default()
        ),
    }
}

/// Chats and messages done of the total, rate and time left.
struct Meter {
    started: Instant,
    first_chat: i32,
    terminal: bool,
}

impl Meter {
    fn new(job: &ImportJob, terminal: bool) -> Self {
        Self {
            started: Instant::now(),
            first_chat: job.chats_done,
            terminal,
        }
    }

    fn show(&mut self, job: &ImportJob) {
        let total = job.chats.len().max(1);
        let done = usize::try_from(job.chats_done).unwrap_or(0);
        let walked = f64::from(job.chats_done - self.first_chat);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = walked / secs;
        let left = total.saturating_sub(done);
        let eta = if rate > 0.0 {
            format!("{:.0}s", left as f64 / rate)
        } else {
            "?".to_owned()
        };
        let line = format!(
            "chats {done}/{total} · messages {} found, {} queued · {:.1} msg/s · ETA {eta}",
            job.messages_found,
            job.messages_queued,
            f64::from(job.messages_found) / secs
        );
        if self.terminal {
            let width = 24;
            let filled = done * width / total;
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
            eprint!("\r[{bar}] {line}   ");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("import {}: {line}", job.id);
        }
    }
}
