//! What a test reads back from the fake Chatwoot, apart from zapwoot's own integration
//! conversation (the contact "zapwoot · NAME" every provisioned instance opens).

use serde_json::Value;
use zapwoot_fakes::FakeChatwoot;

/// Is `conversation` (REST shape) an instance's integration conversation?
#[must_use]
pub fn is_integration(conversation: &Value) -> bool {
    conversation
        .pointer("/meta/sender/name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with("zapwoot · "))
}

/// The customers' conversations.
#[must_use]
pub fn customer_conversations(chatwoot: &FakeChatwoot) -> Vec<Value> {
    chatwoot
        .conversations()
        .into_iter()
        .filter(|c| !is_integration(c))
        .collect()
}

/// The integration conversations.
#[must_use]
pub fn integration_conversations(chatwoot: &FakeChatwoot) -> Vec<Value> {
    chatwoot
        .conversations()
        .into_iter()
        .filter(is_integration)
        .collect()
}

/// Every message in the customers' conversations.
#[must_use]
pub fn customer_messages(chatwoot: &FakeChatwoot) -> Vec<Value> {
    let integration: Vec<u64> = integration_conversations(chatwoot)
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    chatwoot
        .all_messages()
        .into_iter()
        .filter(|m| {
            m["conversation_id"]
                .as_u64()
                .is_none_or(|c| !integration.contains(&c))
        })
        .collect()
}

/// Waits until provisioning's welcome note is in Chatwoot, Chatwoot's webhooks about it were
/// delivered and the bridge handled them: what follows starts from a quiet bridge.
pub async fn welcomed(bridge: &crate::Bridge, chatwoot: &FakeChatwoot) {
    bridge
        .eventually("the welcome note in zapwoot's conversation", || {
            integration_conversations(chatwoot).iter().any(|c| {
                c["id"]
                    .as_u64()
                    .is_some_and(|id| !chatwoot.messages(id).is_empty())
            })
        })
        .await;
    assert!(
        chatwoot
            .wait_for_webhooks(std::time::Duration::from_secs(10))
            .await
    );
    bridge
        .eventually_value("the bridge to be idle", || async {
            bridge
                .events()
                .await
                .iter()
                .all(|e| matches!(e["status"].as_str(), Some("done" | "ignored" | "dead")))
                .then_some(())
        })
        .await;
}

/// The bytes of an attachment's `data_url` (the fake serves its files over loopback).
pub async fn download(url: &str) -> Vec<u8> {
    crate::http_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}
