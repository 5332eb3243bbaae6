//! `/readyz` and `/metrics`.

use std::fmt::Write as _;

use http::{Response, StatusCode};
use serde_json::{Value, json};
use zapwoot_store::EventStatus;

use super::{Body, json_response, text_response};
use crate::metrics::labels;
use crate::state::State;

/// Most instances `/readyz` lists per page, and the default.
const READYZ_PAGE_MAX: usize = 1000;
const READYZ_PAGE_DEFAULT: usize = 100;

/// Ready when the store accepts writes. Anyone may ask (load balancers, orchestrators) and
/// gets only `ok` or 503; with the admin token, the body also counts the instances (running,
/// by session state) and lists a page of them by name (`limit`, `after`): running or why
/// not, the recorded WhatsApp session state and since when, the last upstream check, and the
/// age of its oldest unprocessed event — names, numbers and upstream answers stay behind the
/// token.
pub(crate) async fn readyz(
    app: &State,
    detailed: bool,
    query: &std::collections::HashMap<String, String>,
) -> Response<Body> {
    if let Err(e) = app.store.check_writable().await {
        tracing::warn!(error = %e, "readiness: store not writable");
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "status": "unavailable", "store": "not writable" }),
        );
    }
    if !detailed {
        return json_response(StatusCode::OK, &json!({ "status": "ok", "store": "ok" }));
    }
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => READYZ_PAGE_DEFAULT,
        Some(Ok(n)) if (1..=READYZ_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            return json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({ "error": { "code": "invalid_field", "field": "limit",
                    "message": format!("limit: a number of instances from 1 to {READYZ_PAGE_MAX}") } }),
            );
        }
    };
    let after = query.get("after").map(String::as_str);
    let (names, lag) = names_and_lag(app).await;
    let sessions = sessions(app).await;
    let mut by_session: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut running = 0;
    for (id, _) in &names {
        *by_session
            .entry(sessions.get(id).map_or("unknown", |c| c.state.as_str()))
            .or_default() += 1;
        running += usize::from(app.engine.runtime(*id).is_some());
    }
    let page: Vec<&(i64, String)> = names
        .iter()
        .filter(|(_, name)| after.is_none_or(|a| name.as_str() > a))
        .take(limit + 1)
        .collect();
    let next_after = (page.len() > limit)
        .then(|| page.get(limit - 1).map(|(_, name)| name.clone()))
        .flatten();
    let instances: Vec<Value> = page
        .iter()
        .take(limit)
        .map(|(id, name)| {
            let session = sessions.get(id);
            let probe = app.probes.lock().ok().and_then(|p| p.get(id).cloned());
            json!({
                "upstreams": probe.as_ref().map(|(report, _)| report),
                "upstreams_checked_at_ms": probe.map(|(_, at)| at),
                "name": name,
                "running": app.engine.runtime(*id).is_some(),
                "session": session.map_or("unknown", |c| c.state.as_str()),
                "session_since_ms": session.map(|c| c.since_ms),
                "oldest_pending_seconds": lag.get(id).map(std::time::Duration::as_secs_f64),
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok", "store": "ok",
            "instances_total": names.len(), "instances_running": running, "sessions": by_session,
            "instances": instances, "next_after": next_after,
        }),
    )
}

/// Every instance's id and name, and per instance id the age of its oldest unprocessed
/// event (both empty when the store cannot answer: readiness and metrics report what they
/// can). No settings are read, so no secret is unsealed.
async fn names_and_lag(
    app: &State,
) -> (
    Vec<(i64, String)>,
    std::collections::BTreeMap<i64, std::time::Duration>,
) {
    let names = app.store.instances().names().await.unwrap_or_default();
    let lag = app
        .store
        .events()
        .oldest_unprocessed_age()
        .await
        .unwrap_or_default();
    (names, lag)
}

/// Each instance's recorded WhatsApp session, by instance id (empty when the store cannot
/// answer).
async fn sessions(app: &State) -> std::collections::HashMap<i64, zapwoot_store::ConnectionRecord> {
    app.store
        .connections()
        .list()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.instance_id, c))
        .collect()
}

/// Prometheus text format.
pub(crate) async fn metrics(app: &State) -> Response<Body> {
    let mut out = String::new();
    app.metrics.render(&mut out);
    let (instances, lag) = names_and_lag(app).await;
    // One grouped query gives both the per-kind series and the per-status totals.
    let counts = app.store.events().counts().await.unwrap_or_default();
    let mut totals: std::collections::BTreeMap<(i64, &str), i64> = instances
        .iter()
        .flat_map(|(id, _)| EventStatus::ALL.map(|s| ((*id, s.as_str()), 0)))
        .collect();
    for c in &counts {
        *totals
            .entry((c.instance_id, c.status.as_str()))
            .or_default() += c.count;
    }
    let names: std::collections::HashMap<i64, &str> = instances
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    let name = |id: &i64| names.get(id).copied().unwrap_or_default();
    let _ = writeln!(out, "# TYPE zapwoot_events gauge");
    for ((id, status), count) in &totals {
        let l = labels(&[("instance", name(id)), ("status", status)]);
        let _ = writeln!(out, "zapwoot_events{{{l}}} {count}");
    }
    let _ = writeln!(out, "# TYPE zapwoot_oldest_pending_seconds gauge");
    for (id, name) in &instances {
        let l = labels(&[("instance", name)]);
        let age = lag.get(id).map_or(0.0, std::time::Duration::as_secs_f64);
        let _ = writeln!(out, "zapwoot_oldest_pending_seconds{{{l}}} {age}");
    }
    let _ = writeln!(out, "# TYPE zapwoot_instance_running gauge");
    for (id, name) in &instances {
        let l = labels(&[("instance", name)]);
        let running = u8::from(app.engine.runtime(*id).is_some());
        let _ = writeln!(out, "zapwoot_instance_running{{{l}}} {running}");
    }
    let sessions = sessions(app).await;
    let _ = writeln!(out, "# TYPE zapwoot_instance_connected gauge");
    for (id, name) in &instances {
        let l = labels(&[("instance", name)]);
        let connected = sessions
            .get(id)
            .is_some_and(|c| c.state == zapwoot_store::SessionState::Connected);
        let _ = writeln!(
            out,
            "zapwoot_instance_connected{{{l}}} {}",
            u8::from(connected)
        );
    }
    let _ = writeln!(out, "# TYPE zapwoot_upstream_up gauge");
    for (id, name) in &instances {
        let probe = app.probes.lock().ok().and_then(|p| p.get(id).cloned());
        let Some((report, _)) = probe else { continue };
        for (upstream, key) in [("chatwoot", "chatwoot_inbox"), ("gateway", "gateway")] {
            let ok = report
                .pointer(&format!("/{key}/ok"))
                .and_then(serde_json::Value::as_bool);
            let l = labels(&[("instance", name), ("upstream", upstream)]);
            let _ = writeln!(
                out,
                "zapwoot_upstream_up{{{l}}} {}",
                u8::from(ok == Some(true))
            );
        }
    }
    let _ = writeln!(out, "# TYPE zapwoot_events_by_kind gauge");
    for c in &counts {
        let l = labels(&[
            ("instance", name(&c.instance_id)),
            ("source", c.source.as_str()),
            ("kind", &c.kind),
            ("status", c.status.as_str()),
        ]);
        let _ = writeln!(out, "zapwoot_events_by_kind{{{l}}} {}", c.count);
    }
    let _ = writeln!(out, "# TYPE zapwoot_webhook_deliveries_open gauge");
    for (subscription, state, count) in app
        .store
        .deliveries()
        .open_counts()
        .await
        .unwrap_or_default()
    {
        let id = subscription.to_string();
        let l = labels(&[("subscription", &id), ("state", state.as_str())]);
        let _ = writeln!(out, "zapwoot_webhook_deliveries_open{{{l}}} {count}");
    }
    let up = u8::from(app.store.check_writable().await.is_ok());
    let _ = writeln!(out, "# TYPE zapwoot_store_up gauge\nzapwoot_store_up {up}");
    text_response(StatusCode::OK, "text/plain; version=0.0.4", out)
}
