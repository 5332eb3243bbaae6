//! Typing indicators: an agent typing in Chatwoot shows "typing…" in the customer's WhatsApp
//! chat, throttled, never for private notes, dropped when stale; typing marks the customer's
//! messages read like a reply does. A customer typing on WhatsApp shows in Chatwoot (public
//! API, as the contact) until paused or timed out, and its echo never goes back.

use std::time::Duration;

use super::support::*;

matrix! {
    async fn an_agent_typing_shows_on_whatsapp_once_per_window(h) {
        let first = h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        // Chatwoot repeats typing_on while the agent types: one call for the window.
        assert!(h.chatwoot.agent_typing(conversation, true, false));
        assert!(h.chatwoot.agent_typing(conversation, true, false));
        assert!(h.chatwoot.agent_typing(conversation, true, false));
        h.settle().await;
        assert_eq!(h.typing_shown(), vec![true]);
        assert_eq!(h.read_marks(), vec![first], "typing marks what the agent has seen");
        assert!(h.chatwoot.agent_typing(conversation, false, false));
        assert!(h.chatwoot.agent_typing(conversation, false, false));
        h.settle().await;
        assert_eq!(h.typing_shown(), vec![true, false], "stopped once");

        // A private note, and the typing of the reply itself, are not the customer's business.
        assert!(h.chatwoot.agent_typing(conversation, true, true));
        h.settle().await;
        assert_eq!(h.typing_shown(), vec![true, false]);
        assert!(h.sent_texts().is_empty(), "typing sends no message");
        h.assert_clean();
    }

    async fn stale_typing_is_dropped(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        assert!(h.chatwoot.agent_typing(conversation, true, false));
        h.webhooks_idle().await;
        h.pump().await;
        // Recorded, then not processed for longer than typing lasts.
        h.clock.advance(Duration::from_secs(11));
        h.settle().await;
        assert!(h.typing_shown().is_empty(), "{:?}", h.typing_shown());
        h.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_typing_with_the_option_off() {
    for kind in [
        zapwoot_gateway::GatewayKind::Wuzapi,
        zapwoot_gateway::GatewayKind::Gowa,
    ] {
        let mut options = zapwoot_sync::InstanceOptions::default();
        options.typing = false;
        let h = harness_with(
            Db::sqlite(),
            kind,
            options,
            zapwoot_fakes::FakeChatwootConfig::default(),
        )
        .await;
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        assert!(h.chatwoot.agent_typing(conversation, true, false));
        h.settle().await;
        assert!(h.typing_shown().is_empty(), "{kind:?}");
        h.assert_clean();
    }
}

matrix! {
    async fn a_customer_typing_shows_in_chatwoot_until_paused_or_timed_out(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        // Typing (repeated, as WhatsApp does), then paused: on once, off once (the time-out's
        // task, which settling waits for, then finds typing already off).
        h.customer_typing("composing");
        h.customer_typing("composing");
        // Recorded in this order (the fake may post concurrent webhooks in any order).
        h.deliver().await;
        h.customer_typing("paused");
        h.settle().await;
        assert_eq!(h.chatwoot.contact_typing(), vec![(conversation, true), (conversation, false)]);
        // Chatwoot echoes the contact's typing: never sent back to WhatsApp.
        assert!(h.typing_shown().is_empty());

        // No "paused" from the gateway: the time-out clears it, once.
        h.customer_typing("composing");
        h.settle().await;
        assert_eq!(
            h.chatwoot.contact_typing(),
            vec![(conversation, true), (conversation, false), (conversation, true), (conversation, false)]
        );
        h.settle().await;
        assert_eq!(h.chatwoot.contact_typing().len(), 4, "cleared once");
        assert!(h.typing_shown().is_empty());
        h.assert_clean();
    }
}
