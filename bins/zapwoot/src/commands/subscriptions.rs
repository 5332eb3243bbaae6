//! `zapwoot subscription …`: the admin API's subscription operations, on the store directly.
//! A running bridge sends what they queue within a second.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use zapwoot_store::{
    DeliveryFilter, DeliveryState, ReplayRange, SecretString, Store, Subscription,
};

use super::{fail, print_json, read_document};
use crate::cli::{Global, SubscriptionCommand};
use crate::instances;
use crate::subscriptions::{
    delivery_view, from_document, generate_secret, now_ms, parse_time, send_test, view,
};

fn time(flag: &str, text: &str) -> Result<i64> {
    match parse_time(text) {
        Some(ms) => Ok(ms),
        None => bail!(
            "--{flag} {text:?}: expected RFC 3339 (2026-11-21T08:00:00Z) or unix milliseconds"
        ),
    }
}

async fn existing(store: &Store, id: i64) -> Result<Subscription> {
    match store.subscriptions().get(id).await? {
        Some(s) => Ok(s),
        None => bail!("no subscription {id}"),
    }
}

fn document(file: Option<&std::path::PathBuf>) -> Result<Value> {
    let bytes = read_document(file)?;
    instances::parse_document(&bytes).map_err(|e| fail(&e))
}

/// `zapwoot subscription …`.
pub(crate) async fn subscription(global: &Global, command: SubscriptionCommand) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    match command {
        SubscriptionCommand::Add { file } => {
            let doc = document(file.as_ref())?;
            let (config, enabled) = from_document(&doc, None).map_err(|e| fail(&e))?;
            let secret = config.secret.expose().to_owned();
            let created = store.subscriptions().create(config).await?;
            if enabled == Some(false) {
                store.subscriptions().set_enabled(created.id, false).await?;
            }
            let mut value = view(&existing(&store, created.id).await?);
            if let Value::Object(map) = &mut value {
                map.insert("secret".into(), json!(secret));
            }
            print_json(&value)
        }
        SubscriptionCommand::List => {
            for s in store.subscriptions().list().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.id,
                    if s.enabled { "enabled" } else { "disabled" },
                    s.config.url,
                    s.config.events.join(","),
                    s.disabled_reason.unwrap_or_default()
                );
            }
            Ok(())
        }
        SubscriptionCommand::Show { id } => print_json(&view(&existing(&store, id).await?)),
        SubscriptionCommand::Update { id, file } => {
            let current = existing(&store, id).await?;
            let doc = document(file.as_ref())?;
            let (config, enabled) = from_document(&doc, Some(&current)).map_err(|e| fail(&e))?;
            if config != current.config {
                store.subscriptions().update(id, config).await?;
            }
            if let Some(enabled) = enabled {
                store.subscriptions().set_enabled(id, enabled).await?;
            }
            print_json(&view(&existing(&store, id).await?))
        }
        SubscriptionCommand::Remove { id } => {
            if store.subscriptions().delete(id).await? {
                println!("removed subscription {id}");
                Ok(())
            } else {
                bail!("no subscription {id}")
            }
        }
        SubscriptionCommand::Deliveries {
            id,
            state,
            since,
            until,
            limit,
            json,
        } => {
            existing(&store, id).await?;
            let mut filter = DeliveryFilter::subscription(id);
            if let Some(state) = state {
                let Some(state) = DeliveryState::parse(&state) else {
                    bail!("unknown state {state:?}: pending, running, done, failed or dead");
                };
                filter.state = Some(state);
            }
            filter.since_ms = since.map(|t| time("since", &t)).transpose()?;
            filter.until_ms = until.map(|t| time("until", &t)).transpose()?;
            filter.limit = Some(limit.clamp(1, 1000));
            let list = store.deliveries().list(filter).await?;
            if json {
                return print_json(&json!(list.iter().map(delivery_view).collect::<Vec<_>>()));
            }
            for d in list {
                let last = d.history.last();
                println!(
                    "{}\t{}\t{}\t{}\tattempts={}\tlast={}\t{}",
                    d.id,
                    d.message_id,
                    d.event_type,
                    d.state.as_str(),
                    d.history.len(),
                    last.and_then(|a| a.status_code)
                        .map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    d.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        SubscriptionCommand::Replay {
            id,
            delivery,
            since,
            until,
            include_succeeded,
        } => {
            existing(&store, id).await?;
            if let Some(delivery) = delivery {
                match store.deliveries().get(delivery).await? {
                    Some(d) if d.subscription_id == id => {}
                    _ => bail!("no delivery {delivery} of subscription {id}"),
                }
                store.deliveries().replay(delivery).await?;
                println!("delivery {delivery} queued again");
                return Ok(());
            }
            let Some(since) = since else {
                bail!("give --delivery ID or --since TIME");
            };
            let mut range = ReplayRange::failed(
                time("since", &since)?,
                until
                    .map(|t| time("until", &t))
                    .transpose()?
                    .unwrap_or_else(now_ms),
            );
            range.include_done = include_succeeded;
            let n = store.deliveries().replay_all(id, range).await?;
            println!("{n} deliveries queued again");
            Ok(())
        }
        SubscriptionCommand::Rotate { id, overlap_hours } => {
            let secret = generate_secret().map_err(|e| fail(&e))?;
            let overlap = Duration::from_secs(overlap_hours.min(24 * 30) * 3600);
            let Some(s) = store
                .subscriptions()
                .rotate_secret(id, SecretString::new(secret.clone()), overlap)
                .await?
            else {
                bail!("no subscription {id}")
            };
            let mut value = view(&s);
            if let Value::Object(map) = &mut value {
                map.insert("secret".into(), json!(secret));
            }
            print_json(&value)
        }
        SubscriptionCommand::Test { id, wait } => {
            existing(&store, id).await?;
            let delivery = send_test(&store, id).await.map_err(|e| fail(&e))?;
            println!(
                "test event queued as delivery {delivery}; waiting for a running bridge to send it"
            );
            let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
            loop {
                if let Some(d) = store.deliveries().get(delivery).await?
                    && let Some(attempt) = d.history.last()
                {
                    let status = attempt
                        .status_code
                        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
                    println!(
                        "attempt: {status} in {} ms{}",
                        attempt.latency_ms,
                        attempt
                            .error
                            .as_ref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    );
                    if d.state == DeliveryState::Done {
                        return Ok(());
                    }
                    bail!("the receiver did not accept the test event");
                }
                if tokio::time::Instant::now() >= deadline {
                    bail!("not sent within {wait} s: is `zapwoot serve` running on this database?");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
