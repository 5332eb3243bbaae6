//! The [`Gateway`] trait the sync engine talks to, and the outgoing model.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::{Error, GatewayKind, Jid, Media};

/// A boxed, sendable future (the trait is object-safe so engines can hold `Arc<dyn Gateway>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A reference to an existing WhatsApp message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageRef {
    /// Message id.
    pub id: String,
    /// Sent by the bridged number.
    pub from_me: bool,
    /// Its author in a group (needed to quote or react there).
    pub participant: Option<Jid>,
}

impl MessageRef {
    /// A reference to message `id`.
    #[must_use]
    pub fn new(id: impl Into<String>, from_me: bool, participant: Option<Jid>) -> Self {
        Self {
            id: id.into(),
            from_me,
            participant,
        }
    }
}

/// Where the bytes of a file to send are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileData {
    /// In memory.
    Memory(Vec<u8>),
    /// In a file on disk (large media the caller spooled), read when sent: multipart uploads
    /// stream it; gateways that take base64 read it then.
    Path {
        /// The file.
        path: std::path::PathBuf,
        /// Its size in bytes.
        len: u64,
    },
}

/// A file to send.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct File {
    /// Content.
    pub data: FileData,
    /// MIME type.
    pub mime_type: String,
    /// File name (shown for documents).
    pub file_name: String,
}

impl File {
    /// A file in memory.
    #[must_use]
    pub fn new(bytes: Vec<u8>, mime_type: impl Into<String>, file_name: impl Into<String>) -> Self {
        Self {
            data: FileData::Memory(bytes),
            mime_type: mime_type.into(),
            file_name: file_name.into(),
        }
    }

    /// A file of `len` bytes on disk at `path` (it must stay there until sent).
    #[must_use]
    pub fn from_path(
        path: impl Into<std::path::PathBuf>,
        len: u64,
        mime_type: impl Into<String>,
        file_name: impl Into<String>,
    ) -> Self {
        Self {
            data: FileData::Path {
                path: path.into(),
                len,
            },
            mime_type: mime_type.into(),
            file_name: file_name.into(),
        }
    }

    /// Size in bytes.
    #[must_use]
    pub fn len(&self) -> u64 {
        match &self.data {
            FileData::Memory(bytes) => bytes.len() as u64,
            FileData::Path { len, .. } => *len,
        }
    }

    /// Whether the file is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, read from disk when spooled.
    pub(crate) async fn bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        match &self.data {
            FileData::Memory(bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
            FileData::Path { path, .. } => tokio::fs::read(path)
                .await
                .map(std::borrow::Cow::Owned)
                .map_err(|e| Error::MediaUnavailable(format!("reading the file to send: {e}"))),
        }
    }

    /// A multipart part: the bytes, or a stream of the file on disk.
    pub(crate) async fn part(&self) -> Result<reqwest::multipart::Part, Error> {
        let part = match &self.data {
            FileData::Memory(bytes) => reqwest::multipart::Part::bytes(bytes.clone()),
            FileData::Path { path, len } => {
                let file = tokio::fs::File::open(path).await.map_err(|e| {
                    Error::MediaUnavailable(format!("opening the file to send: {e}"))
                })?;
                reqwest::multipart::Part::stream_with_length(file, *len)
            }
        };
        part.file_name(self.file_name.clone())
            .mime_str(&self.mime_type)
            .map_err(|e| Error::Build(e.to_string()))
    }

    pub(crate) async fn data_url(&self) -> Result<String, Error> {
        use base64::Engine as _;
        Ok(format!(
            "data:{};base64,{}",
            self.mime_type,
            base64::engine::general_purpose::STANDARD.encode(self.bytes().await?)
        ))
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("mime_type", &self.mime_type)
            .field("file_name", &self.file_name)
            .field("len", &self.len())
            .finish()
    }
}

/// What to send.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutgoingBody {
    /// Text (WhatsApp markup).
    Text(String),
    /// An image with an optional caption.
    Image(File, Option<String>),
    /// A video with an optional caption.
    Video(File, Option<String>),
    /// Audio; `true` sends a voice note (PTT).
    Audio(File, bool),
    /// A document with an optional caption.
    Document(File, Option<String>),
    /// A sticker.
    Sticker(File),
    /// A location.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: Option<String>,
    },
    /// A contact card.
    Contact {
        /// Name.
        name: String,
        /// Phone number.
        phone: String,
    },
}

/// A message to send, optionally as a reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outgoing {
    /// What.
    pub body: OutgoingBody,
    /// The message it replies to.
    pub reply_to: Option<MessageRef>,
    /// A message id chosen by the caller, for gateways that take one (wuzapi): a retry with
    /// the same id after a lost answer is one WhatsApp message. Others ignore it.
    pub id: Option<String>,
}

impl Outgoing {
    /// A message without reply context.
    #[must_use]
    pub fn new(body: OutgoingBody) -> Self {
        Self {
            body,
            reply_to: None,
            id: None,
        }
    }

    /// With caller-chosen message id `id`.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Text.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(OutgoingBody::Text(text.into()))
    }

    /// As a reply to `message`.
    #[must_use]
    pub fn replying_to(mut self, message: MessageRef) -> Self {
        self.reply_to = Some(message);
        self
    }
}

/// A message the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// WhatsApp message id (keep it: edits, revokes, reactions and receipts refer to it).
    pub message_id: String,
    /// Server time, unix seconds, when given.
    pub timestamp: Option<i64>,
}

/// A downloaded media file.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaFile {
    /// Content.
    pub bytes: Vec<u8>,
    /// MIME type: declared by the sender, else the response's, else sniffed.
    pub mime_type: Option<String>,
    /// File name.
    pub file_name: Option<String>,
}

impl MediaFile {
    /// The file `media` describes, from bytes fetched elsewhere (e.g. its URL, by a caller
    /// that guards where it connects): size checked; MIME type declared by the sender, else
    /// the served one unless generic, else sniffed; the sender's file name, else the served one.
    ///
    /// # Errors
    /// [`Error::TooLarge`] beyond `max_bytes`.
    pub fn from_download(
        media: &crate::Media,
        bytes: Vec<u8>,
        served_mime: Option<String>,
        served_name: Option<String>,
        max_bytes: u64,
    ) -> Result<Self, Error> {
        crate::http::media_file(media, bytes, served_mime, served_name, max_bytes)
    }
}

impl fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaFile")
            .field("mime_type", &self.mime_type)
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Session health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Connected to WhatsApp.
    pub connected: bool,
    /// Logged in (paired).
    pub logged_in: bool,
    /// The session's own JID.
    pub jid: Option<Jid>,
}

impl Health {
    /// A session's health as a gateway reports it.
    #[must_use]
    pub fn new(connected: bool, logged_in: bool, jid: Option<Jid>) -> Self {
        Self {
            connected,
            logged_in,
            jid,
        }
    }
}

/// What the sync engine needs from a WhatsApp gateway.
pub trait Gateway: Send + Sync + fmt::Debug {
    /// Which gateway this is.
    fn kind(&self) -> GatewayKind;

    /// Sends a message to `to`.
    fn send<'a>(&'a self, to: &'a Jid, message: &'a Outgoing)
    -> BoxFuture<'a, Result<Sent, Error>>;

    /// Reacts to `target` in `chat`; `None` removes the reaction.
    fn react<'a>(
        &'a self,
        chat: &'a Jid,
        target: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Edits an own text message.
    fn edit<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Deletes an own message for everyone.
    fn revoke<'a>(&'a self, chat: &'a Jid, message_id: &'a str)
    -> BoxFuture<'a, Result<(), Error>>;

    /// Marks messages of `sender` (needed in groups) in `chat` as read.
    fn mark_read<'a>(
        &'a self,
        chat: &'a Jid,
        sender: Option<&'a Jid>,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Rejects the incoming call `call_id` from `caller`.
    fn reject_call<'a>(
        &'a self,
        caller: &'a Jid,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Shows (`true`: "typing…") or clears the typing indicator in `chat`.
    fn set_typing<'a>(&'a self, chat: &'a Jid, on: bool) -> BoxFuture<'a, Result<(), Error>>;

    /// Gets a media file's bytes, refusing more than `max_bytes`.
    fn fetch_media<'a>(
        &'a self,
        media: &'a Media,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<MediaFile, Error>>;

    /// Session state.
    fn health(&self) -> BoxFuture<'_, Result<Health, Error>>;

    /// Starts pairing when it is not under way and returns the QR code to scan now.
    /// [`Error::AlreadyPaired`] when the session is logged in. Call it once per request, not
    /// in a loop: on GOWA each call restarts the QR flow.
    fn login_qr(&self) -> BoxFuture<'_, Result<crate::QrCode, Error>>;

    /// Starts pairing by linking code for `phone` (international digits) and returns the code
    /// to type on that phone. [`Error::AlreadyPaired`] when the session is logged in.
    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<crate::PairCode, Error>>;

    /// Logs the session out of WhatsApp: the phone shows the device unlinked, and pairing
    /// is needed again.
    fn logout(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// Drops and re-opens the session's connection to WhatsApp (keeps the pairing).
    fn reconnect(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// The profile picture URL of `jid`, `None` when hidden or absent.
    fn avatar<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<String>, Error>>;

    /// Chats with a message at or after `since` (unix seconds), from the gateway's store.
    /// Gateways that keep no chat list answer [`Error::Unsupported`].
    fn chats(&self, since: i64) -> BoxFuture<'_, Result<Vec<crate::ChatSummary>, Error>> {
        let _ = since;
        Box::pin(async { Err(Error::Unsupported("this gateway keeps no chat list")) })
    }

    /// The messages of `chat` sent in `[since, until)` (unix seconds), oldest first, each as
    /// the webhook that would have carried it. Gateways without a history answer
    /// [`Error::Unsupported`].
    fn history<'a>(
        &'a self,
        chat: &'a Jid,
        since: i64,
        until: i64,
    ) -> BoxFuture<'a, Result<Vec<crate::HistoryMessage>, Error>> {
        let _ = (chat, since, until);
        Box::pin(async { Err(Error::Unsupported("this gateway keeps no message history")) })
    }
}
