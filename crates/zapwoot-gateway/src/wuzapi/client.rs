//! The wuzapi REST client (`Token` header; `{code, data, success}` envelopes).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::gateway::{Health, MessageRef, OutgoingBody, Sent};
use crate::http;
use crate::json::{flag, text, text_any, unsigned};
use crate::{Error, Jid, SendOutcome};

/// Reply context for sends: the quoted message id and, in groups, its author.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyContext {
    /// The quoted message id.
    pub stanza_id: String,
    /// The quoted message's author (wuzapi requires both fields together).
    pub participant: String,
}

/// A client for one wuzapi instance (user token).
#[derive(Clone)]
pub struct WuzapiClient {
    pub(super) http: reqwest::Client,
    base: Url,
    pub(super) token: String,
}

impl fmt::Debug for WuzapiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WuzapiClient")
            .field("base", &self.base.as_str())
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

impl WuzapiClient {
    /// A client for the wuzapi at `base_url` with the instance's user `token`.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Build`].
    pub fn new(base_url: &str, token: impl Into<String>) -> Result<Self, Error> {
        Ok(Self {
            http: http::http_client(Duration::from_secs(60))?,
            base: http::base_url(base_url)?,
            token: token.into(),
        })
    }

    /// A client over `http` (a shared pool, a proxy, timeouts), without building a default
    /// one first: building a TLS configuration reads the platform's trust store, which costs
    /// milliseconds of CPU — too much for one per instance among thousands.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zapwoot_gateway::Error> {
    /// let shared = reqwest::Client::new(); // in practice one built with your TLS set-up
    /// let alpha = zapwoot_gateway::wuzapi::WuzapiClient::with_http("http://wuzapi:8080", "alpha-token", shared.clone())?;
    /// let beta = zapwoot_gateway::wuzapi::WuzapiClient::with_http("http://wuzapi:8080", "beta-token", shared)?;
    /// # let _ = (alpha, beta);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidUrl`].
    pub fn with_http(
        base_url: &str,
        token: impl Into<String>,
        http: reqwest::Client,
    ) -> Result<Self, Error> {
        Ok(Self {
            http,
            base: http::base_url(base_url)?,
            token: token.into(),
        })
    }

    /// Uses this `reqwest::Client` (shared pool, proxy, timeouts).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Calls `path` and returns `data` of the envelope.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        self.call_query(method, path, &[], body).await
    }

    /// Calls `path?query` and returns `data` of the envelope.
    pub(super) async fn call_query(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::InvalidUrl(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method, url).header("Token", &self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = http::send(request, &self.token).await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Error::Transport {
            message: e.to_string(),
            source: e.without_url(),
            outcome: SendOutcome::MaybeSent,
        })?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status)
            && value.get("success").and_then(Value::as_bool) != Some(false)
        {
            return Ok(value.get("data").cloned().unwrap_or(value));
        }
        let message = text_any(&value, &["error", "Details", "message"]).map_or_else(
            || String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            str::to_owned,
        );
        let message = http::scrub(&message, &self.token);
        Err(classify(status, message))
    }

    /// `POST /chat/send/text`. `id` is a caller-chosen message id (wuzapi's `Id`): sending
    /// again with the same id after a lost answer is one message on WhatsApp, not two.
    ///
    /// # Errors
    /// [`Error`] as classified from wuzapi's answer.
    pub async fn send_text(
        &self,
        phone: &Jid,
        body: &str,
        reply: Option<&ReplyContext>,
        id: Option<&str>,
    ) -> Result<Sent, Error> {
        let mut payload = json!({ "Phone": phone.to_string(), "Body": body });
        add_context(&mut payload, reply);
        add_id(&mut payload, id);
        sent(
            &self
                .call(Method::POST, "chat/send/text", Some(&payload))
                .await?,
        )
    }

    /// `POST /chat/send/{image|video|audio|document|sticker|location|contact}` with the file
    /// as a data URL (text goes to [`send_text`](Self::send_text)); `id` as there.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn send_media(
        &self,
        phone: &Jid,
        body: &OutgoingBody,
        reply: Option<&ReplyContext>,
        id: Option<&str>,
    ) -> Result<Sent, Error> {
        let to = phone.to_string();
        let (path, mut payload) = match body {
            OutgoingBody::Image(file, caption) => (
                "chat/send/image",
                json!({ "Phone": to, "Image": file.data_url().await?, "Caption": caption.clone().unwrap_or_default(), "MimeType": file.mime_type }),
            ),
            OutgoingBody::Video(file, caption) => (
                "chat/send/video",
                json!({ "Phone": to, "Video": file.data_url().await?, "Caption": caption.clone().unwrap_or_default(), "MimeType": file.mime_type }),
            ),
            OutgoingBody::Audio(file, voice) => (
                "chat/send/audio",
                json!({ "Phone": to, "Audio": file.data_url().await?, "ptt": voice, "mimetype": file.mime_type }),
            ),
            OutgoingBody::Document(file, caption) => (
                "chat/send/document",
                json!({ "Phone": to, "Document": file.data_url().await?, "FileName": file.file_name, "Caption": caption.clone().unwrap_or_default(), "MimeType": file.mime_type }),
            ),
            OutgoingBody::Sticker(file) => (
                "chat/send/sticker",
                json!({ "Phone": to, "Sticker": file.data_url().await? }),
            ),
            OutgoingBody::Location {
                latitude,
                longitude,
                name,
            } => (
                "chat/send/location",
                json!({ "Phone": to, "Latitude": latitude, "Longitude": longitude, "Name": name.clone().unwrap_or_default() }),
            ),
            OutgoingBody::Contact { name, phone } => (
                "chat/send/contact",
                json!({ "Phone": to, "Name": name, "Vcard": vcard(name, phone) }),
            ),
            OutgoingBody::Text(text) => return self.send_text(phone, text, reply, id).await,
        };
        add_id(&mut payload, id);
        if !matches!(
            body,
            OutgoingBody::Location { .. } | OutgoingBody::Contact { .. } | OutgoingBody::Sticker(_)
        ) {
            add_context(&mut payload, reply);
        }
        sent(&self.call(Method::POST, path, Some(&payload)).await?)
    }

    /// `POST /chat/react`: `emoji` `None` removes the reaction.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn react(
        &self,
        chat: &Jid,
        target: &MessageRef,
        emoji: Option<&str>,
    ) -> Result<(), Error> {
        let id = if target.from_me {
            format!("me:{}", target.id)
        } else {
            target.id.clone()
        };
        let mut payload =
            json!({ "Phone": chat.to_string(), "Body": emoji.unwrap_or("remove"), "Id": id });
        if let (Some(participant), Value::Object(map)) = (&target.participant, &mut payload) {
            map.insert("Participant".into(), json!(participant.to_string()));
        }
        self.call(Method::POST, "chat/react", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /chat/send/edit` (own text messages).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn edit(&self, chat: &Jid, message_id: &str, body: &str) -> Result<(), Error> {
        let payload = json!({ "Phone": chat.to_string(), "Body": body, "Id": message_id });
        self.call(Method::POST, "chat/send/edit", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /chat/delete`: revoke an own message for everyone.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn revoke(&self, chat: &Jid, message_id: &str) -> Result<(), Error> {
        let payload = json!({ "Phone": chat.to_string(), "Id": message_id });
        self.call(Method::POST, "chat/delete", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /chat/markread`.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn mark_read(
        &self,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[String],
    ) -> Result<(), Error> {
        let payload = json!({
            "Id": ids,
            "ChatPhone": chat.to_string(),
            "SenderPhone": sender.unwrap_or(chat).to_string(),
        });
        self.call(Method::POST, "chat/markread", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /call/reject {call_from, call_id}`: declines an incoming call.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn reject_call(&self, caller: &Jid, call_id: &str) -> Result<(), Error> {
        let payload = json!({ "call_from": caller.to_string(), "call_id": call_id });
        self.call(Method::POST, "call/reject", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /chat/presence`: typing indicator on (`composing`) or off (`paused`).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn set_typing(&self, chat: &Jid, on: bool) -> Result<(), Error> {
        let payload = json!({ "Phone": chat.to_string(), "State": if on { "composing" } else { "paused" }, "Media": "" });
        self.call(Method::POST, "chat/presence", Some(&payload))
            .await
            .map(drop)
    }

    /// `POST /user/info` with full JIDs: `{Users: {jid: {VerifiedName, Status, PictureID, Devices, LID}}}`.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn user_info(&self, jids: &[Jid]) -> Result<Value, Error> {
        let phones: Vec<String> = jids.iter().map(ToString::to_string).collect();
        self.call(Method::POST, "user/info", Some(&json!({ "Phone": phones })))
            .await
    }

    /// `POST /user/check`: which numbers have WhatsApp, and their JIDs.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn check(&self, phones: &[&str]) -> Result<Vec<(String, bool, Option<Jid>)>, Error> {
        let data = self
            .call(
                Method::POST,
                "user/check",
                Some(&json!({ "Phone": phones })),
            )
            .await?;
        Ok(data
            .get("Users")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|u| {
                (
                    text(u, "Query").unwrap_or_default().to_owned(),
                    flag(u, "IsInWhatsapp"),
                    text(u, "JID").and_then(|j| Jid::parse(j).ok()),
                )
            })
            .collect())
    }

    /// `POST /user/avatar`: the profile picture URL, or `None` when there is none.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text) (except "no avatar found", which is `Ok(None)`).
    pub async fn avatar(&self, jid: &Jid) -> Result<Option<String>, Error> {
        match self
            .call(
                Method::POST,
                "user/avatar",
                Some(&json!({ "Phone": jid.to_string(), "Preview": false })),
            )
            .await
        {
            Ok(data) => Ok(text_any(&data, &["url", "URL"]).map(str::to_owned)),
            Err(Error::Status { message, .. }) if message.contains("no avatar") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /session/status`, old (`Connected/LoggedIn`) and new (`connected/loggedIn`) spellings.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn session_status(&self) -> Result<Health, Error> {
        let data = self.call(Method::GET, "session/status", None).await?;
        let either = |a: &str, b: &str| flag(&data, a) || flag(&data, b);
        Ok(Health {
            connected: either("connected", "Connected"),
            logged_in: either("loggedIn", "LoggedIn"),
            jid: text(&data, "jid").and_then(|j| Jid::parse(j).ok()),
        })
    }

    /// How the instance delivers media in webhooks, from `GET /session/status`
    /// (`s3_config.media_delivery`: `base64`, `s3`, `both`, or `""` for *none* — the value
    /// freshly created users get) and whether S3 is enabled. Builds without S3 support
    /// answer `(None, false)`.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn media_delivery(&self) -> Result<(Option<String>, bool), Error> {
        let data = self.call(Method::GET, "session/status", None).await?;
        let Some(s3) = data.get("s3_config") else {
            return Ok((None, false));
        };
        let delivery = text(s3, "media_delivery")
            .map(str::to_owned)
            .or_else(|| Some(String::new()));
        Ok((delivery, flag(s3, "enabled")))
    }

    /// `POST /session/s3/config {"enabled": false, "media_delivery": "base64"}`: media inline
    /// (base64) in webhooks, S3 off.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn deliver_media_inline(&self) -> Result<(), Error> {
        let body = json!({ "enabled": false, "media_delivery": "base64" });
        self.call(Method::POST, "session/s3/config", Some(&body))
            .await
            .map(drop)
    }

    /// `PUT /webhook {webhook, events, active: true}` (the `active` flag is required: omitted,
    /// wuzapi stores an empty URL), then `POST /session/connect` with the same event list
    /// (connect overwrites the stored list; an empty list means no webhooks at all).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn set_webhook(&self, url: &str, events: &[&str]) -> Result<(), Error> {
        let payload = json!({ "webhook": url, "events": events, "active": true });
        self.call(Method::PUT, "webhook", Some(&payload)).await?;
        let connect = json!({ "Subscribe": events, "Immediate": true });
        match self
            .call(Method::POST, "session/connect", Some(&connect))
            .await
        {
            Err(Error::Status { message, .. }) if message.contains("already connected") => Ok(()),
            other => other.map(drop),
        }
    }

    /// `POST /chat/download{kind}` with a message's media keys; returns bytes and MIME type.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text); [`Error::Decode`] for a bad data URL.
    pub async fn download(
        &self,
        kind: &str,
        keys: &Value,
    ) -> Result<(Vec<u8>, Option<String>), Error> {
        if !["image", "video", "audio", "document", "sticker"].contains(&kind) {
            return Err(Error::Unsupported("unknown media kind"));
        }
        let data = self
            .call(Method::POST, &format!("chat/download{kind}"), Some(keys))
            .await?;
        let url =
            text(&data, "Data").ok_or_else(|| Error::decode("no Data in the download answer"))?;
        let (head, encoded) = url
            .split_once(";base64,")
            .ok_or_else(|| Error::decode("Data is not a base64 data URL"))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| Error::decode_from("undecodable answer", e))?;
        let mime = text(&data, "Mimetype")
            .or_else(|| head.strip_prefix("data:"))
            .map(str::to_owned);
        Ok((bytes, mime))
    }
}

/// Adds the caller-chosen message id, when there is one.
fn add_id(payload: &mut Value, id: Option<&str>) {
    if let (Some(id), Some(map)) = (id, payload.as_object_mut()) {
        map.insert("Id".into(), json!(id));
    }
}

fn add_context(payload: &mut Value, reply: Option<&ReplyContext>) {
    if let (Some(reply), Value::Object(map)) = (reply, payload) {
        map.insert(
            "ContextInfo".into(),
            json!({ "StanzaId": reply.stanza_id, "Participant": reply.participant }),
        );
    }
}

fn vcard(name: &str, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("BEGIN:VCARD\nVERSION:3.0\nFN:{name}\nTEL;type=CELL;waid={digits}:+{digits}\nEND:VCARD")
}

/// `{Details, Timestamp, Id}`; `Timestamp` is unix seconds (new) or RFC 3339 (old).
fn sent(data: &Value) -> Result<Sent, Error> {
    let id = text_any(data, &["Id", "ID", "id"])
        .ok_or_else(|| Error::decode("send answer has no Id"))?;
    let timestamp = unsigned(data, "Timestamp")
        .and_then(|t| i64::try_from(t).ok())
        .or_else(|| text(data, "Timestamp").and_then(crate::json::rfc3339));
    Ok(Sent {
        message_id: id.to_owned(),
        timestamp,
    })
}

fn classify(status: u16, message: String) -> Error {
    let lower = message.to_lowercase();
    if lower.contains("no session")
        || lower.contains("not connected")
        || lower.contains("not logged in")
    {
        return Error::LoggedOut(message);
    }
    if lower.contains("not on whatsapp") || lower.contains("not registered") {
        return Error::NotOnWhatsApp(message);
    }
    Error::Status {
        status,
        code: None,
        message,
        outcome: SendOutcome::NotSent,
    }
}
