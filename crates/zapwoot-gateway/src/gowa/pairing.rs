//! Pairing a GOWA device: the QR code (`qr_link` to a PNG under `/statics`, `qr_duration`),
//! the linking code, logout and reconnect. GOWA ≥ 8 with a device slot uses
//! `/devices/{id}/…`; older servers (and a client without a device) `/app/…`.
//!
//! Each login call restarts GOWA's QR flow: call [`GowaClient::login_qr`] once per request.

use std::time::Duration;

use reqwest::{Method, Url};

use super::GowaClient;
use crate::json::{flag, text};
use crate::{Error, Health, Jid, PairCode, QrCode};

/// The PNG signature.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

impl GowaClient {
    /// `/devices/{id}/{tail…}` for the client's device, with each segment encoded.
    fn device_url(
        &self,
        device: &str,
        tail: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Url, Error> {
        let mut url = self.base().clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("the base URL cannot have a path".to_owned()))?
            .pop_if_empty()
            .push("devices")
            .push(device)
            .extend(tail);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// A pairing call: `POST /devices/{id}/{tail}` (GOWA ≥ 8 with a device), else
    /// `GET /app/{legacy}`.
    async fn pairing_call(
        &self,
        tail: &[&str],
        legacy: &str,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, Error> {
        let request = match self.device() {
            Some(device) => {
                let method = if tail == ["login"] {
                    Method::GET
                } else {
                    Method::POST
                };
                self.request(method, self.device_url(device, tail, query)?)
            }
            None => self.request(Method::GET, self.url(legacy, query)?),
        };
        self.call(request, false).await
    }

    /// The session's state: `GET /devices/{id}/status` (≥ 8 with a device), else
    /// `GET /app/status`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn session(&self) -> Result<Health, Error> {
        let Some(device) = self.device() else {
            return self.status().await;
        };
        let request = self.request(Method::GET, self.device_url(device, &["status"], &[])?);
        let results = self.call(request, false).await?;
        Ok(Health {
            connected: flag(&results, "is_connected"),
            logged_in: flag(&results, "is_logged_in"),
            jid: text(&results, "jid")
                .or_else(|| text(&results, "device_id"))
                .and_then(|j| Jid::parse(j).ok()),
        })
    }

    /// Starts QR pairing (`GET /devices/{id}/login` or `GET /app/login`) and fetches the image
    /// its `qr_link` names, from this client's own base URL (GOWA builds the link from its
    /// own idea of its address, which behind a proxy or in a container is often not ours).
    ///
    /// # Errors
    /// [`Error::AlreadyPaired`] when logged in; as [`send_message`](Self::send_message);
    /// [`Error::Decode`] when the link or the image is not what GOWA documents.
    pub async fn login_qr(&self) -> Result<QrCode, Error> {
        if self.session().await?.logged_in {
            return Err(Error::AlreadyPaired);
        }
        let results = self
            .pairing_call(&["login"], "app/login", &[])
            .await
            .map_err(already_paired)?;
        let link = text(&results, "qr_link")
            .ok_or_else(|| Error::decode("login answer has no qr_link"))?;
        let path = Url::parse(link)
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            })
            .or_else(|_| {
                link.starts_with('/')
                    .then(|| link.to_owned())
                    .ok_or(Error::decode("qr_link is not a URL"))
            })?;
        let url = self
            .base()
            .join(&path)
            .map_err(|e| Error::InvalidUrl(e.to_string()))?;
        let response = crate::http::send(self.request(Method::GET, url), self.secret()).await?;
        let status = response.status().as_u16();
        let png = response.bytes().await.map_err(|e| Error::Transport {
            message: e.to_string(),
            source: e.without_url(),
            outcome: crate::SendOutcome::NotSent,
        })?;
        if status != 200 || !png.starts_with(PNG) {
            return Err(Error::decode(format!(
                "the QR image at qr_link answered {status}, not a PNG"
            )));
        }
        let valid_for = results
            .get("qr_duration")
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_secs);
        Ok(QrCode::new(png.to_vec(), None, valid_for))
    }

    /// Starts pairing by linking code for `phone`: `POST /devices/{id}/login/code?phone=` or
    /// `GET /app/login-with-code?phone=` → `pair_code`.
    ///
    /// # Errors
    /// [`Error::AlreadyPaired`] when logged in; as [`send_message`](Self::send_message).
    pub async fn pair_phone(&self, phone: &str) -> Result<PairCode, Error> {
        if self.session().await?.logged_in {
            return Err(Error::AlreadyPaired);
        }
        let results = self
            .pairing_call(
                &["login", "code"],
                "app/login-with-code",
                &[("phone", phone)],
            )
            .await
            .map_err(already_paired)?;
        let code = text(&results, "pair_code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::decode("login-with-code answer has no pair_code"))?;
        Ok(PairCode::new(code))
    }

    /// Logs the device out: `POST /devices/{id}/logout` or `GET /app/logout` (the slot
    /// stays, to be paired again).
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn logout(&self) -> Result<(), Error> {
        self.pairing_call(&["logout"], "app/logout", &[])
            .await
            .map(drop)
    }

    /// Reconnects the device: `POST /devices/{id}/reconnect` or `GET /app/reconnect`.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn reconnect(&self) -> Result<(), Error> {
        self.pairing_call(&["reconnect"], "app/reconnect", &[])
            .await
            .map(drop)
    }
}

/// GOWA answers a login on a logged-in device with an error naming it.
fn already_paired(error: Error) -> Error {
    match error {
        Error::Status { ref message, .. }
            if message.to_lowercase().contains("already logged in") =>
        {
            Error::AlreadyPaired
        }
        other => other,
    }
}
