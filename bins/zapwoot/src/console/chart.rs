//! The overview's chart: messages in and out per minute over the last hour, as SVG. Minutes
//! that have passed do not change, so their counts are kept (per process) and only the
//! minutes since are read from the event log again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use zapwoot_store::{EventStatus, MinuteCount, Source, Store, StoreError};

/// Event kinds that are messages: wuzapi's and GOWA's message webhooks, Chatwoot's
/// `message_created` and the send API's sends.
pub(super) const MESSAGE_KINDS: [&str; 4] = ["Message", "message", "message_created", "send"];

/// Minutes on the chart.
const MINUTES: i64 = 60;

/// How long after a minute ends its counts are taken as final (an event is stamped when it
/// arrives and committed within milliseconds, on any replica).
const SETTLE: Duration = Duration::from_secs(5);

/// Counts of the minutes that have passed: `(in, out)` by minute (since the epoch); every
/// minute before `settled` is here (zeros included) back to the chart's start.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    minutes: BTreeMap<i64, (i64, i64)>,
    settled: i64,
}

fn minute_of(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 60).unwrap_or(0))
}

/// Whether a counted event is a message in from WhatsApp (`Some(true)`), out to WhatsApp
/// (`Some(false)`), or neither (Chatwoot's echo of a customer's message, ignored).
fn direction(c: &MinuteCount) -> Option<bool> {
    match c.source {
        Source::Gateway => Some(true),
        Source::Chatwoot if c.status == EventStatus::Ignored => None,
        _ => Some(false),
    }
}

/// The last hour's `(in, out)` per minute, oldest first: the settled minutes from `cache`,
/// the rest read from the store (and settled into `cache` once they may be).
pub(super) async fn last_hour(
    store: &Store,
    cache: &std::sync::Mutex<Settled>,
    now: SystemTime,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let now_minute = minute_of(now);
    let first = now_minute - (MINUTES - 1);
    let from = cache
        .lock()
        .map_or(first, |c| c.settled.clamp(first, now_minute));
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(from * 60).unwrap_or(0));
    let fresh = store.events().per_minute(since, &MESSAGE_KINDS).await?;
    let mut recent: BTreeMap<i64, (i64, i64)> = (from..=now_minute).map(|m| (m, (0, 0))).collect();
    for c in &fresh {
        let Some(inbound) = direction(c) else {
            continue;
        };
        if let Some(b) = recent.get_mut(&(c.minute_start_ms / 60_000)) {
            if inbound {
                b.0 += c.count;
            } else {
                b.1 += c.count;
            }
        }
    }
    let Ok(mut cache) = cache.lock() else {
        return Ok(recent.into_values().collect());
    };
    let settled_now = minute_of(now - SETTLE);
    if cache.settled < from {
        // The cache stopped short of `from` (another render moved it meanwhile): start over
        // from what was read.
        cache.minutes.clear();
    }
    for (minute, counts) in recent.range(from..settled_now) {
        cache.minutes.insert(*minute, *counts);
    }
    cache.settled = cache.settled.max(settled_now);
    cache.minutes.retain(|m, _| *m >= first);
    Ok((first..=now_minute)
        .map(|m| {
            recent
                .get(&m)
                .or_else(|| cache.minutes.get(&m))
                .copied()
                .unwrap_or((0, 0))
        })
        .collect())
}

/// The last hour as an SVG bar chart, in and out side by side per minute.
pub(super) fn svg(minutes: &[(i64, i64)]) -> String {
    let max = minutes
        .iter()
        .map(|(i, o)| (*i).max(*o))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, bar) = (600.0_f64, 120.0_f64, 4.0_f64);
    let total_in: i64 = minutes.iter().map(|b| b.0).sum();
    let total_out: i64 = minutes.iter().map(|b| b.1).sum();
    let step = width / MINUTES as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {}\" role=\"img\" aria-label=\"{total_in} messages in, {total_out} out in the last hour\" data-in=\"{total_in}\" data-out=\"{total_out}\">",
        height + 16.0
    );
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#d9dee7\"/>"
    );
    for (i, (inbound, outbound)) in minutes.iter().enumerate() {
        let x = i as f64 * step;
        for (offset, value, colour) in [(0.0, inbound, "#1f6feb"), (bar, outbound, "#1a7f37")] {
            if *value > 0 {
                let h = (*value as f64 / max as f64) * (height - 4.0);
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{value}</title></rect>",
                    x + offset,
                    height - h
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{y}\" font-size=\"11\" fill=\"#5d6677\">60 min ago</text><text x=\"{width}\" y=\"{y}\" font-size=\"11\" fill=\"#5d6677\" text-anchor=\"end\">now · peak {max}/min</text></svg>",
        y = height + 14.0
    );
    svg
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use zapwoot_store::{NewEvent, Sealer, SealingKey, StoreOptions};

    #[tokio::test]
    async fn minutes_that_passed_are_read_once() {
        let db = zapwoot_testkit::Db::sqlite();
        let sealer = Sealer::new(SealingKey::from_bytes(&[7; 32]).unwrap());
        let store = Store::open(&db.url(), StoreOptions::with_sealer(sealer))
            .await
            .unwrap();
        let doc = serde_json::json!({
            "name": "alpha",
            "gateway": { "kind": "wuzapi", "base_url": "http://127.0.0.1:8080", "token": "tok" },
            "chatwoot": { "base_url": "http://127.0.0.1:3000", "account_id": 1, "api_token": "cw" },
        });
        let id = crate::instances::create(&store, &doc).await.unwrap().id;
        for (source, kind, key) in [
            (Source::Gateway, "Message", "a"),
            (Source::Gateway, "Message", "b"),
            (Source::Gateway, "ReadReceipt", "c"),
            (Source::Chatwoot, "message_created", "d"),
        ] {
            let mut e = NewEvent::new(id, source, key, key, b"{}".to_vec());
            e.kind = kind.to_owned();
            store.events().record(e).await.unwrap();
        }
        let cache = std::sync::Mutex::new(Settled::default());
        // Rendered once the events' minute has passed (the current minute is always read).
        let now = SystemTime::now() + Duration::from_secs(65);
        let first = last_hour(&store, &cache, now).await.unwrap();
        assert_eq!(first.len(), 60);
        assert_eq!(first.iter().map(|m| m.0).sum::<i64>(), 2, "{first:?}");
        assert_eq!(first.iter().map(|m| m.1).sum::<i64>(), 1, "{first:?}");

        // The events leave the log; two minutes on, their minute comes from the cache.
        let claimed = store
            .events()
            .claim("t", 10, Duration::from_secs(30))
            .await
            .unwrap();
        for c in &claimed {
            store.events().complete(&c.lease, Vec::new()).await.unwrap();
        }
        store.prune(Duration::ZERO, Duration::ZERO).await.unwrap();
        let later = now + Duration::from_secs(120);
        let cached = last_hour(&store, &cache, later).await.unwrap();
        assert_eq!(cached.iter().map(|m| m.0).sum::<i64>(), 2, "{cached:?}");
        assert_eq!(&cached[..58], &first[2..], "shifted by two minutes");
        let fresh = last_hour(&store, &std::sync::Mutex::default(), later)
            .await
            .unwrap();
        assert_eq!(
            fresh.iter().map(|m| m.0).sum::<i64>(),
            0,
            "the log is empty now"
        );
        // An hour on, the minute has left the chart.
        let gone = last_hour(&store, &cache, now + Duration::from_secs(3700))
            .await
            .unwrap();
        assert_eq!(gone.iter().map(|m| m.0).sum::<i64>(), 0);
    }

    #[test]
    fn the_chart_sums_each_direction() {
        let mut minutes = vec![(0, 0); 60];
        minutes[59] = (3, 1);
        minutes[58] = (0, 2);
        let svg = svg(&minutes);
        assert!(svg.contains("data-in=\"3\""), "{svg}");
        assert!(svg.contains("data-out=\"3\""), "{svg}");
        assert!(svg.contains("peak 3/min"), "{svg}");
    }
}
