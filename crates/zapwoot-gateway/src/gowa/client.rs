//! The GOWA REST client: basic auth, `X-Device-Id`, `{code, message, results}` envelopes.

use std::fmt;
use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Method, RequestBuilder, Url};
use serde_json::{Value, json};

use crate::gateway::{Health, OutgoingBody, Sent};
use crate::http;
use crate::json::{flag, text, text_any};
use crate::{Error, Jid, SendOutcome};

/// Builds a [`GowaClient`].
#[must_use = "has no effect unless built"]
pub struct GowaClientBuilder {
    base_url: String,
    username: Option<String>,
    password: Option<String>,
    device_id: Option<String>,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for GowaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GowaClientBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl GowaClientBuilder {
    /// Basic-auth credentials (`APP_BASIC_AUTH`).
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// The device to act as (`X-Device-Id`): a registered id or the device JID.
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Request timeout (default 60 s; GOWA itself gives up after 45 s with a 504).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses this `reqwest::Client`.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Build`].
    pub fn build(self) -> Result<GowaClient, Error> {
        Ok(GowaClient {
            http: match self.http {
                Some(http) => http,
                None => http::http_client(self.timeout)?,
            },
            base: http::base_url(&self.base_url)?,
            username: self.username,
            password: self.password,
            device_id: self.device_id,
        })
    }
}

/// A client for one GOWA server (and one device on it).
#[derive(Clone)]
pub struct GowaClient {
    http: reqwest::Client,
    base: Url,
    username: Option<String>,
    password: Option<String>,
    device_id: Option<String>,
}

impl fmt::Debug for GowaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GowaClient")
            .field("base", &self.base.as_str())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("device_id", &self.device_id)
            .finish()
    }
}

impl GowaClient {
    /// Starts building a client for the GOWA at `base_url` (including any `APP_BASE_PATH`).
    pub fn builder(base_url: impl Into<String>) -> GowaClientBuilder {
        GowaClientBuilder {
            base_url: base_url.into(),
            username: None,
            password: None,
            device_id: None,
            timeout: Duration::from_secs(60),
            http: None,
        }
    }

    /// The password, to scrub from error messages.
    pub(super) fn secret(&self) -> &str {
        self.password.as_deref().unwrap_or("")
    }

    /// The device slot this client works on (GOWA ≥ 8), if any.
    pub(super) fn device(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    /// The base URL (with any `APP_BASE_PATH`).
    pub(super) fn base(&self) -> &Url {
        &self.base
    }

    pub(super) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let mut request = self.http.request(method, url);
        if let Some(user) = &self.username {
            request = request.basic_auth(user, self.password.as_deref());
        }
        if let Some(device) = &self.device_id {
            request = request.header("X-Device-Id", device);
        }
        request
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, Error> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::InvalidUrl(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends and unwraps `results`.
    pub(super) async fn call(
        &self,
        request: RequestBuilder,
        is_send: bool,
    ) -> Result<Value, Error> {
        let response = http::send(request, self.secret()).await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Error::Transport {
            message: e.to_string(),
            source: e.without_url(),
            outcome: if is_send {
                SendOutcome::MaybeSent
            } else {
                SendOutcome::NotSent
            },
        })?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = text(&value, "code").map(str::to_owned);
        if (200..300).contains(&status) && code.as_deref().is_none_or(|c| c == "SUCCESS") {
            return Ok(value.get("results").cloned().unwrap_or(Value::Null));
        }
        let message = text(&value, "message").map_or_else(
            || String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            str::to_owned,
        );
        Err(classify(status, code, http::scrub(&message, self.secret())))
    }

    async fn post_json(&self, path: &str, body: &Value, is_send: bool) -> Result<Value, Error> {
        let request = self.request(Method::POST, self.url(path, &[])?).json(body);
        self.call(request, is_send).await
    }

    pub(super) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Error> {
        let request = self.request(Method::GET, self.url(path, query)?);
        self.call(request, false).await
    }

    /// `POST /send/message` (with `reply_message_id`, honoured when GOWA knows that message).
    ///
    /// # Errors
    /// [`Error`] as classified; 504 is [`SendOutcome::MaybeSent`].
    pub async fn send_message(
        &self,
        phone: &Jid,
        message: &str,
        reply_message_id: Option<&str>,
    ) -> Result<Sent, Error> {
        let mut body = json!({ "phone": phone.to_string(), "message": message });
        if let (Some(reply), Value::Object(map)) = (reply_message_id, &mut body) {
            map.insert("reply_message_id".into(), json!(reply));
        }
        sent(&self.post_json("send/message", &body, true).await?)
    }

    /// Sends any [`OutgoingBody`]: files go as multipart uploads.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn send_body(
        &self,
        phone: &Jid,
        body: &OutgoingBody,
        reply_message_id: Option<&str>,
    ) -> Result<Sent, Error> {
        let to = phone.to_string();
        let upload = match body {
            OutgoingBody::Text(text) => {
                return self.send_message(phone, text, reply_message_id).await;
            }
            OutgoingBody::Location {
                latitude,
                longitude,
                ..
            } => {
                let body = json!({ "phone": to, "latitude": latitude.to_string(), "longitude": longitude.to_string() });
                return sent(&self.post_json("send/location", &body, true).await?);
            }
            OutgoingBody::Contact {
                name,
                phone: number,
            } => {
                let body = json!({ "phone": to, "contact_name": name, "contact_phone": number });
                return sent(&self.post_json("send/contact", &body, true).await?);
            }
            OutgoingBody::Image(file, caption) => Upload::new(
                "send/image",
                "image",
                file,
                caption.as_ref(),
                Some(("compress", "false")),
            ),
            OutgoingBody::Video(file, caption) => {
                Upload::new("send/video", "video", file, caption.as_ref(), None)
            }
            OutgoingBody::Audio(file, voice) => Upload::new(
                "send/audio",
                "audio",
                file,
                None,
                Some(("ptt", if *voice { "true" } else { "false" })),
            ),
            OutgoingBody::Document(file, caption) => {
                Upload::new("send/file", "file", file, caption.as_ref(), None)
            }
            OutgoingBody::Sticker(file) => Upload::new("send/sticker", "sticker", file, None, None),
        };
        let Upload {
            path,
            field,
            file,
            caption,
            extra,
        } = upload;
        let part = file.part().await?;
        let mut form = Form::new().text("phone", to).part(field.to_owned(), part);
        if let Some(caption) = caption {
            form = form.text("caption", caption.clone());
        }
        if let Some(reply) = reply_message_id {
            form = form.text("reply_message_id", reply.to_owned());
        }
        if let Some((k, v)) = extra {
            form = form.text(k.to_owned(), v.to_owned());
        }
        let request = self
            .request(Method::POST, self.url(path, &[])?)
            .multipart(form);
        sent(&self.call(request, true).await?)
    }

    /// `POST /message/{id}/{action}` with `{phone, …extra}`.
    async fn message_action(
        &self,
        message_id: &str,
        action: &str,
        chat: &Jid,
        extra: Option<(&str, &str)>,
    ) -> Result<(), Error> {
        let mut url = self.url("message/", &[])?;
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("base URL cannot have paths".into()))?
            .pop_if_empty()
            .push(message_id)
            .push(action);
        let mut body = json!({ "phone": chat.to_string() });
        if let (Some((k, v)), Value::Object(map)) = (extra, &mut body) {
            map.insert(k.to_owned(), json!(v));
        }
        let request = self.request(Method::POST, url).json(&body);
        self.call(request, action != "read").await.map(drop)
    }

    /// Reacts (`""` removes).
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn reaction(&self, chat: &Jid, message_id: &str, emoji: &str) -> Result<(), Error> {
        self.message_action(message_id, "reaction", chat, Some(("emoji", emoji)))
            .await
    }

    /// Deletes for everyone.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn revoke(&self, chat: &Jid, message_id: &str) -> Result<(), Error> {
        self.message_action(message_id, "revoke", chat, None).await
    }

    /// Edits an own text message.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn update(&self, chat: &Jid, message_id: &str, message: &str) -> Result<(), Error> {
        self.message_action(message_id, "update", chat, Some(("message", message)))
            .await
    }

    /// Marks one message read.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn read(&self, chat: &Jid, message_id: &str) -> Result<(), Error> {
        self.message_action(message_id, "read", chat, None).await
    }

    /// `POST /call/reject {caller_jid, call_id}`: declines an incoming call.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn reject_call(&self, caller: &Jid, call_id: &str) -> Result<(), Error> {
        let body = json!({ "caller_jid": caller.to_string(), "call_id": call_id });
        self.post_json("call/reject", &body, false).await.map(drop)
    }

    /// `POST /send/chat-presence` `{phone, action: start | stop}`: the typing indicator.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn set_typing(&self, chat: &Jid, on: bool) -> Result<(), Error> {
        let body =
            json!({ "phone": chat.to_string(), "action": if on { "start" } else { "stop" } });
        self.post_json("send/chat-presence", &body, false)
            .await
            .map(drop)
    }

    /// `GET /user/info?phone=`: `results {data: [...], resolved_phone?, resolved_lid?}`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn user_info(&self, phone: &Jid) -> Result<Value, Error> {
        self.get("user/info", &[("phone", &phone.to_string())])
            .await
    }

    /// `GET /user/check?phone=`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn check(&self, phone: &Jid) -> Result<bool, Error> {
        Ok(flag(
            &self
                .get("user/check", &[("phone", &phone.to_string())])
                .await?,
            "is_on_whatsapp",
        ))
    }

    /// `GET /user/avatar?phone=`: the picture URL, `None` when there is none.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message) (408 timeouts and "no avatar" are `Ok(None)`).
    pub async fn avatar(&self, phone: &Jid) -> Result<Option<String>, Error> {
        match self
            .get(
                "user/avatar",
                &[("phone", &phone.to_string()), ("is_preview", "false")],
            )
            .await
        {
            Ok(results) => Ok(text(&results, "url").map(str::to_owned)),
            Err(Error::Status {
                status: 408 | 500, ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /app/devices`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn devices(&self) -> Result<Vec<Value>, Error> {
        Ok(self
            .get("app/devices", &[])
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// `GET /app/info` (≥ v9.0.0): `{version, chatwoot_enabled, …}`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn info(&self) -> Result<Value, Error> {
        self.get("app/info", &[]).await
    }

    /// `GET /app/status`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn status(&self) -> Result<Health, Error> {
        let results = self.get("app/status", &[]).await?;
        Ok(Health {
            connected: flag(&results, "is_connected"),
            logged_in: flag(&results, "is_logged_in"),
            jid: text_any(&results, &["jid", "device_id"]).and_then(|j| Jid::parse(j).ok()),
        })
    }

    /// `PATCH /devices/{device}/webhook` (GOWA ≥ 8.10): `device`'s events go to `url` instead
    /// of the server-wide webhook, signed with `secret` when given (else the global secret).
    /// `device` is the device id or its JID. Older servers answer 404.
    ///
    /// # Errors
    /// [`Error::Status`] 404 for an unknown device or an older server; transport errors.
    pub async fn set_device_webhook(
        &self,
        device: &str,
        url: &str,
        secret: Option<&str>,
    ) -> Result<(), Error> {
        let mut body = json!({ "webhook_url": url });
        if let (Some(secret), Some(map)) = (secret, body.as_object_mut()) {
            map.insert("webhook_secret".to_owned(), json!(secret));
        }
        let path = format!("devices/{device}/webhook");
        let request = self
            .request(Method::PATCH, self.url(&path, &[])?)
            .json(&body);
        self.call(request, false).await.map(drop)
    }

    /// The public URL of a `statics/…` path: each segment percent-encoded, so names with
    /// `; codecs=opus` (pre-v8.3.4) are requested as they are on disk.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] for paths that try to leave the base.
    pub fn static_url(&self, path: &str) -> Result<Url, Error> {
        let segments: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if segments.iter().any(|s| *s == ".." || *s == ".") {
            return Err(Error::InvalidUrl(
                "media path leaves the statics folder".into(),
            ));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("base URL cannot have paths".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    pub(super) async fn fetch_url(
        &self,
        url: Url,
        max_bytes: u64,
    ) -> Result<(Vec<u8>, Option<String>), Error> {
        http::fetch_media(
            self.request(Method::GET, url),
            self.secret(),
            "GOWA",
            max_bytes,
        )
        .await
    }

    /// `GET /message/{id}/download?phone=`, then the file it names.
    ///
    /// # Errors
    /// [`Error::MediaUnavailable`] when GOWA no longer has the message.
    pub async fn download_message_media(
        &self,
        message_id: &str,
        chat: &str,
        max_bytes: u64,
    ) -> Result<(Vec<u8>, Option<String>, Option<String>), Error> {
        let mut url = self.url("message/", &[("phone", chat)])?;
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("base URL cannot have paths".into()))?
            .pop_if_empty()
            .push(message_id)
            .push("download");
        let results = self.call(self.request(Method::GET, url), false).await?;
        let file_name = text(&results, "filename").map(str::to_owned);
        let target = match (text(&results, "file_url"), text(&results, "file_path")) {
            // GOWA serves its files itself: a `file_url` naming another origin (it reports its
            // own idea of its address) is read at the same path here, so the credentials go
            // nowhere but the configured server.
            (Some(u), _) => {
                let u = Url::parse(u).map_err(|e| Error::decode_from("undecodable answer", e))?;
                if u.origin() == self.base.origin() {
                    u
                } else {
                    let mut local = self.base.clone();
                    local.set_path(u.path());
                    local.set_query(u.query());
                    local
                }
            }
            (None, Some(p)) => self.static_url(p)?,
            (None, None) => {
                return Err(Error::MediaUnavailable(
                    "download answer names no file".into(),
                ));
            }
        };
        let (bytes, mime) = self.fetch_url(target, max_bytes).await?;
        Ok((bytes, mime, file_name))
    }
}

/// A multipart send: endpoint, file field, file, caption and one extra flag.
struct Upload<'a> {
    path: &'static str,
    field: &'static str,
    file: &'a crate::File,
    caption: Option<&'a String>,
    extra: Option<(&'static str, &'static str)>,
}

impl<'a> Upload<'a> {
    fn new(
        path: &'static str,
        field: &'static str,
        file: &'a crate::File,
        caption: Option<&'a String>,
        extra: Option<(&'static str, &'static str)>,
    ) -> Self {
        Self {
            path,
            field,
            file,
            caption,
            extra,
        }
    }
}

fn sent(results: &Value) -> Result<Sent, Error> {
    let id = text(results, "message_id")
        .ok_or_else(|| Error::decode("send answer has no message_id"))?;
    Ok(Sent {
        message_id: id.to_owned(),
        timestamp: None,
    })
}

fn classify(status: u16, code: Option<String>, message: String) -> Error {
    match (status, code.as_deref()) {
        (401, Some("AUTHENTICATION_ERROR")) => Error::LoggedOut(message),
        (400, Some("INVALID_JID")) if message.contains("not on whatsapp") => {
            Error::NotOnWhatsApp(message)
        }
        _ => Error::Status {
            status,
            outcome: if status == 504 {
                SendOutcome::MaybeSent
            } else {
                SendOutcome::NotSent
            },
            code,
            message,
        },
    }
}
