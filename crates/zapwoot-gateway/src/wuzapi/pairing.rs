//! Pairing a wuzapi session: connect, `GET /session/qr`, `POST /session/pairphone`,
//! logout, and reconnect (`POST /session/disconnect` + connect).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::WuzapiClient;
use crate::json::text_any;
use crate::{Error, PairCode, QrCode};

/// How long [`WuzapiClient::login_qr`] waits for the first QR code after connecting.
pub const QR_WAIT: Duration = Duration::from_secs(10);
/// Between two looks for the first QR code.
const QR_POLL: Duration = Duration::from_millis(250);
/// How long WhatsApp keeps a QR code before the next one replaces it.
const QR_VALID_FOR: Duration = Duration::from_secs(20);

impl WuzapiClient {
    /// `POST /session/connect {"Subscribe": ["All"], "Immediate": true}`: opens the session's
    /// connection (an unpaired session then produces QR codes). Connect overwrites the stored
    /// event list, so it subscribes to all events, as provisioning does; "already connected"
    /// is success.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn connect(&self) -> Result<(), Error> {
        let connect = json!({ "Subscribe": ["All"], "Immediate": true });
        match self
            .call(Method::POST, "session/connect", Some(&connect))
            .await
        {
            Err(Error::Status { message, .. }) if message.contains("already connected") => Ok(()),
            other => other.map(drop),
        }
    }

    /// The QR code to scan: connects the session first when needed, then `GET /session/qr`
    /// (`{QRCode: "data:image/png;base64,…"}`), waiting up to [`QR_WAIT`] for wuzapi to
    /// produce the first code after connecting.
    ///
    /// # Errors
    /// [`Error::AlreadyPaired`] when logged in; as [`send_text`](Self::send_text) otherwise;
    /// [`Error::Decode`] when no code came in time or it is not a PNG data URL.
    pub async fn login_qr(&self) -> Result<QrCode, Error> {
        let status = self.session_status().await?;
        if status.logged_in {
            return Err(Error::AlreadyPaired);
        }
        if !status.connected {
            self.connect().await?;
        }
        let deadline = tokio::time::Instant::now() + QR_WAIT;
        loop {
            match self.call(Method::GET, "session/qr", None).await {
                Ok(data) => {
                    let url = text_any(&data, &["QRCode", "qrcode"]).unwrap_or_default();
                    if !url.is_empty() {
                        let png = crate::pairing::png_from_data_url(url)
                            .ok_or_else(|| Error::decode("QRCode is not a PNG data URL"))?;
                        return Ok(QrCode::new(png, None, Some(QR_VALID_FOR)));
                    }
                }
                Err(Error::Status { message, .. }) if message.contains("already logged in") => {
                    return Err(Error::AlreadyPaired);
                }
                // Right after connecting the session may not be up yet.
                Err(Error::LoggedOut(_)) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::decode("wuzapi produced no QR code in time"));
            }
            tokio::time::sleep(QR_POLL).await;
        }
    }

    /// `POST /session/pairphone {Phone}` → `{LinkingCode}`: pairing by code, after connecting
    /// the session when needed.
    ///
    /// # Errors
    /// [`Error::AlreadyPaired`] when logged in; as [`send_text`](Self::send_text) otherwise.
    pub async fn pair_phone(&self, phone: &str) -> Result<PairCode, Error> {
        let status = self.session_status().await?;
        if status.logged_in {
            return Err(Error::AlreadyPaired);
        }
        if !status.connected {
            self.connect().await?;
        }
        let data = self
            .call(
                Method::POST,
                "session/pairphone",
                Some(&json!({ "Phone": phone })),
            )
            .await
            .map_err(|e| match e {
                Error::Status { message, .. } if message.contains("already logged in") => {
                    Error::AlreadyPaired
                }
                other => other,
            })?;
        let code = text_any(&data, &["LinkingCode", "linkingCode"])
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::decode("pairphone answer has no LinkingCode"))?;
        Ok(PairCode::new(code))
    }

    /// `POST /session/logout`.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn logout(&self) -> Result<(), Error> {
        self.call(Method::POST, "session/logout", Some(&json!({})))
            .await
            .map(drop)
    }

    /// `POST /session/disconnect`, then [`connect`](Self::connect) (which also restores the
    /// event list that newer builds clear on disconnect).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub async fn reconnect(&self) -> Result<(), Error> {
        match self
            .call(Method::POST, "session/disconnect", Some(&json!({})))
            .await
        {
            Ok(_) | Err(Error::LoggedOut(_)) => {}
            Err(e) => return Err(e),
        }
        self.connect().await
    }
}
