//! History import: the last N days of a gateway's chats into Chatwoot, oldest first per chat,
//! with the original times; twice or after a crash, each message exists once.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use zapwoot_fakes::FaultAction;
use zapwoot_gateway::GatewayKind;
use zapwoot_store::ImportState;

use super::support::*;

const OTHER: &str = "5511976543210@s.whatsapp.net";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Six messages over the last three days in two chats (one more, older, outside the
/// window); returns the texts per chat, oldest first, with their times.
fn seed(h: &Harness) -> BTreeMap<&'static str, Vec<(String, i64)>> {
    let keep = |chat: &str, text: &str, at: i64| match &h.gateway {
        FakeGateway::Gowa(gowa) => gowa.keep_text_at(chat, text, at),
        FakeGateway::Wuzapi(wuzapi) => wuzapi.keep_text_at(chat, text, at),
    };
    let t = now();
    keep(CUSTOMER, "velha demais", t - 5 * 86_400);
    let mut seeded: BTreeMap<&'static str, Vec<(String, i64)>> = BTreeMap::new();
    for (chat, text, at) in [
        (CUSTOMER, "dia 1 manhã", t - 2 * 86_400 - 7200),
        (OTHER, "outro dia 1", t - 2 * 86_400),
        (CUSTOMER, "dia 2", t - 86_400),
        (OTHER, "outro dia 2", t - 40_000),
        (CUSTOMER, "dia 3", t - 3600),
        (CUSTOMER, "agora há pouco", t - 60),
    ] {
        keep(chat, text, at);
        seeded.entry(chat).or_default().push((text.to_owned(), at));
    }
    seeded
}

/// Chatwoot's messages per conversation's contact phone: (content, external_created_at).
fn in_chatwoot(h: &Harness) -> Vec<(String, Option<i64>)> {
    h.cw_messages()
        .iter()
        .map(|m| {
            (
                m["content"].as_str().unwrap().to_owned(),
                m["content_attributes"]["external_created_at"].as_i64(),
            )
        })
        .collect()
}

fn assert_imported(h: &Harness, seeded: &BTreeMap<&'static str, Vec<(String, i64)>>) {
    let got = in_chatwoot(h);
    assert_eq!(got.len(), 6, "{got:?}");
    for expected in seeded.values() {
        let order: Vec<&(String, Option<i64>)> = got
            .iter()
            .filter(|(c, _)| expected.iter().any(|(t, _)| t == c))
            .collect();
        assert_eq!(order.len(), expected.len());
        for ((content, at), (text, time)) in order.iter().zip(expected) {
            assert_eq!(
                (content, at),
                (text, &Some(*time)),
                "oldest first, original time kept"
            );
        }
    }
}

matrix! {
    async fn importing_three_days_twice_creates_each_message_once(h) {
        if h.kind == GatewayKind::Wuzapi {
            // wuzapi keeps history only when the instance's `history` is set.
            h.wuzapi().set_history(0);
            let err = h.engine.import_history(h.instance_id, 3, |_| {}).await.unwrap_err();
            assert!(err.to_string().contains("history = 0"), "{err}");
            h.wuzapi().set_history(1000);
        }
        let seeded = seed(&h);
        let mut seen = Vec::new();
        let job = h.engine.import_history(h.instance_id, 3, |j| seen.push((j.chats_done, j.state))).await.unwrap();
        assert_eq!(job.state, ImportState::Done);
        assert_eq!((job.chats.len(), job.messages_found, job.messages_queued), (2, 6, 6));
        assert_eq!(seen.last(), Some(&(2, ImportState::Done)));
        assert_eq!(seen.first(), Some(&(1, ImportState::Running)));
        h.settle().await;
        assert_imported(&h, &seeded);

        let again = h.engine.import_history(h.instance_id, 3, |_| {}).await.unwrap();
        assert_ne!(again.id, job.id, "a finished import is not resumed");
        assert_eq!((again.messages_found, again.messages_queued), (6, 0));
        h.settle().await;
        assert_imported(&h, &seeded);
        assert_eq!(h.store.imports().get(job.id).await.unwrap().unwrap().state, ImportState::Done);
        h.assert_clean();
    }

    async fn an_interrupted_import_resumes_without_duplicates(h) {
        let seeded = seed(&h);
        // The gateway fails on the first chat walked: the job stops, resumable.
        let first_chat = h.first_chat_walked().await;
        let second_chat = if first_chat == CUSTOMER { OTHER } else { CUSTOMER };
        let path = |chat: &str| match h.kind {
            GatewayKind::Gowa => format!("/chat/{chat}/messages"),
            _ => format!("/chat/history?chat_jid={}", chat.replace('@', "%40")),
        };
        h.gateway_faults().inject(Some(Method::GET), &path(first_chat), FaultAction::Status(500), Some(1));
        let failed = h.engine.import_history(h.instance_id, 3, |_| {}).await.unwrap();
        assert_eq!(failed.state, ImportState::Failed);
        assert_eq!(failed.chats_done, 0);
        assert!(failed.error.as_deref().unwrap().contains("500"), "{:?}", failed.error);

        // Resumed, the process dies in the middle: after the first chat, while the gateway
        // is slow to answer for the second.
        h.gateway_faults().inject(Some(Method::GET), &path(second_chat), FaultAction::Delay(std::time::Duration::from_secs(30)), Some(1));
        let engine = std::sync::Arc::clone(&h.engine);
        let instance = h.instance_id;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = tokio::spawn(async move {
            engine.import_history(instance, 3, move |j| { let _ = tx.send(j.clone()); }).await
        });
        let first = rx.recv().await.unwrap();
        assert_eq!((first.id, first.chats_done, first.state), (failed.id, 1, ImportState::Running), "the same job, resumed");
        // Cut off while the second chat's history request is in flight.
        assert!(h.gateway_faults().wait_applied(2, std::time::Duration::from_secs(10)).await, "the second chat was never asked for");
        run.abort();
        let _ = run.await;
        let stored = h.store.imports().get(failed.id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.chats_done), (ImportState::Running, 1), "cut off mid-import");
        h.gateway_faults().clear();

        // Whatever it got to, running it again finishes without doubling anything.
        let done = h.engine.import_history(h.instance_id, 3, |_| {}).await.unwrap();
        assert_eq!(done.id, failed.id);
        assert_eq!(done.state, ImportState::Done);
        h.settle().await;
        assert_imported(&h, &seeded);
        h.assert_clean();
    }
}

impl Harness {
    /// The chat the import walks first (the fake lists chats most recent first).
    async fn first_chat_walked(&self) -> &'static str {
        let chats = self
            .engine
            .runtime(self.instance_id)
            .unwrap()
            .gateway
            .chats(0)
            .await
            .unwrap();
        if chats[0].jid.to_string() == CUSTOMER {
            CUSTOMER
        } else {
            OTHER
        }
    }
}
