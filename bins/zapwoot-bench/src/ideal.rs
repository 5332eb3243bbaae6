//! The ideal relay: the least a bridge must do — verify the signature, parse the webhook,
//! post the message to Chatwoot, answer — with no persistence, no retries, no ordering. The
//! bridge's relay rate is reported as a fraction of this one's on the same traffic.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Mutex;
use zapwoot_chatwoot::{
    AccountClient, Client, NewApiInbox, NewContact, NewConversation, NewMessage,
};
use zapwoot_gateway::{Content, InboundEvent, wuzapi};
use zapwoot_signing::{Keyring, Secret};

use crate::fakes::{Endpoints, HMAC_KEY};

struct Relay {
    keys: Keyring,
    chatwoot: AccountClient,
    inbox: u64,
    /// Chat JID → conversation id (one lock per chat so concurrent first messages create one).
    conversations: Mutex<HashMap<String, Arc<Mutex<Option<u64>>>>>,
}

/// Starts the ideal relay; returns its URL.
pub(crate) async fn start(fakes: &Endpoints) -> Result<String> {
    let chatwoot = Client::builder(&fakes.chatwoot, &fakes.chatwoot_token)
        .build()?
        .account(fakes.account_id);
    let inbox = chatwoot
        .create_api_inbox(&NewApiInbox::new("ideal relay", ""))
        .await?
        .id;
    let relay = Arc::new(Relay {
        keys: Keyring::new(&Secret::from_bytes(HMAC_KEY)?),
        chatwoot,
        inbox,
        conversations: Mutex::new(HashMap::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let relay = Arc::clone(&relay);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let relay = Arc::clone(&relay);
                    async move { Ok::<_, Infallible>(handle(&relay, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

async fn handle(relay: &Relay, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let signature = req
        .headers()
        .get("x-hmac-signature")
        .map(|v| v.as_bytes().to_vec());
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return status(StatusCode::BAD_REQUEST);
    };
    if relay
        .keys
        .verify_plain_hex(signature.as_deref(), &body)
        .is_err()
    {
        return status(StatusCode::UNAUTHORIZED);
    }
    let Ok(webhook) = wuzapi::parse(&content_type, &body) else {
        return status(StatusCode::BAD_REQUEST);
    };
    for event in &webhook.events {
        let InboundEvent::Message(m) = event else {
            continue;
        };
        let Content::Text { body: text } = &m.content else {
            continue;
        };
        let chat = m.origin.lane();
        let Ok(conversation) = conversation(relay, &chat).await else {
            return status(StatusCode::BAD_GATEWAY);
        };
        if relay
            .chatwoot
            .create_message(conversation, &NewMessage::incoming(text.clone()))
            .await
            .is_err()
        {
            return status(StatusCode::BAD_GATEWAY);
        }
    }
    status(StatusCode::OK)
}

async fn conversation(relay: &Relay, chat: &str) -> Result<u64> {
    let slot = Arc::clone(
        relay
            .conversations
            .lock()
            .await
            .entry(chat.to_owned())
            .or_default(),
    );
    let mut slot = slot.lock().await;
    if let Some(id) = *slot {
        return Ok(id);
    }
    let mut contact = NewContact::new();
    contact.inbox_id = Some(relay.inbox);
    contact.source_id = Some(chat.to_owned());
    contact.name = Some(chat.to_owned());
    let created = relay.chatwoot.create_contact(&contact).await?;
    let source = created.source_id.unwrap_or_else(|| chat.to_owned());
    let conversation = relay
        .chatwoot
        .create_conversation(&NewConversation::new(
            source,
            relay.inbox,
            created.contact.id,
        ))
        .await?;
    *slot = Some(conversation.id);
    Ok(conversation.id)
}
