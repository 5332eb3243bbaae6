//! A small agent bot for Chatwoot: a hyper service that receives an API inbox's (or an agent
//! bot's) webhooks, verifies `X-Chatwoot-Signature` with `zapwoot-signing`, ignores its own,
//! agents' and private messages (so it never answers itself in a loop), and answers the
//! customer through `zapwoot-chatwoot`. The webhook is answered at once and the reply is sent
//! in the background: Chatwoot waits 5 s for an answer and never retries.
//!
//! ```sh
//! CHATWOOT_URL=https://chat.example.com CHATWOOT_ACCOUNT=1 CHATWOOT_TOKEN=<bot or agent token> \
//!   CHATWOOT_WEBHOOK_SECRET=<inbox secret> LISTEN=127.0.0.1:8090 \
//!   cargo run -p zapwoot-examples --example agent_bot
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use zapwoot_chatwoot::webhook::{self, Event};
use zapwoot_chatwoot::{AccountClient, MessageType, NewMessage};
use zapwoot_signing::{Keyring, Secret};

/// What the bot needs.
#[derive(Debug)]
pub struct Bot {
    /// Chatwoot, for the bot's account.
    pub chatwoot: AccountClient,
    /// The inbox's webhook secret; `None` accepts unsigned webhooks (Chatwoot < 4.12).
    pub keys: Option<Keyring>,
}

impl Bot {
    /// A bot answering through `chatwoot`, verifying with `secret` when given.
    ///
    /// # Errors
    /// An empty secret.
    pub fn new(
        chatwoot: AccountClient,
        secret: Option<&str>,
    ) -> Result<Self, zapwoot_signing::SecretError> {
        let keys = match secret {
            Some(s) => Some(Keyring::new(&Secret::from_bytes(s)?)),
            None => None,
        };
        Ok(Self { chatwoot, keys })
    }
}

/// The bot's answer to a customer's `text`.
#[must_use]
pub fn reply_to(text: &str) -> String {
    format!("Recebemos: \u{201c}{text}\u{201d}. Um atendente responde em breve.")
}

fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Handles one webhook.
async fn handle(bot: Arc<Bot>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name: &str| req.headers().get(name).map(|v| v.as_bytes().to_vec());
    let (signature, timestamp) = (
        header("x-chatwoot-signature"),
        header("x-chatwoot-timestamp"),
    );
    let Ok(body) = Limited::new(req.into_body(), 1024 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    };
    if let Some(keys) = &bot.keys
        && keys
            .verify_chatwoot(signature.as_deref(), timestamp.as_deref(), &body)
            .is_err()
    {
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Ok(Event::MessageCreated(message)) = webhook::parse(&body) else {
        return answer(StatusCode::OK, "ignored");
    };
    // Only customers' public messages: the bot's own replies come back as outgoing webhooks.
    if message.message_type != MessageType::Incoming || message.private {
        return answer(StatusCode::OK, "ignored");
    }
    let (Some(conversation), Some(text)) = (message.conversation_id(), message.content.clone())
    else {
        return answer(StatusCode::OK, "ignored");
    };
    tokio::spawn(async move {
        if let Err(e) = bot
            .chatwoot
            .create_message(conversation, &NewMessage::outgoing(reply_to(&text)))
            .await
        {
            // A real bot would retry `e.is_retryable()` errors with backoff.
            let _ = e;
        }
    });
    answer(StatusCode::OK, "accepted")
}

/// Serves webhooks on `listener` until the task is dropped.
///
/// # Errors
/// Accept errors.
pub async fn serve(listener: TcpListener, bot: Arc<Bot>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let bot = Arc::clone(&bot);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let bot = Arc::clone(&bot);
                async move { Ok::<_, Infallible>(handle(bot, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok();
    let url = var("CHATWOOT_URL").ok_or("CHATWOOT_URL is required")?;
    let token = var("CHATWOOT_TOKEN").ok_or("CHATWOOT_TOKEN is required")?;
    let account: u64 = var("CHATWOOT_ACCOUNT")
        .unwrap_or_else(|| "1".into())
        .parse()?;
    let chatwoot = zapwoot_chatwoot::Client::builder(url, token)
        .build()?
        .account(account);
    let bot = Bot::new(chatwoot, var("CHATWOOT_WEBHOOK_SECRET").as_deref())?;
    let listener =
        TcpListener::bind(var("LISTEN").unwrap_or_else(|| "127.0.0.1:8090".into())).await?;
    serve(listener, Arc::new(bot)).await?;
    Ok(())
}
