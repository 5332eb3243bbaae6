//! [`Gateway`] for [`GowaClient`]: the engine's calls mapped onto GOWA's endpoints.

use super::GowaClient;
use crate::gateway::{BoxFuture, Gateway, Health, MediaFile, MessageRef, Outgoing, Sent};
use crate::http;
use crate::{ChatSummary, Error, GatewayKind, HistoryMessage, Jid, Media, MediaSource};

impl Gateway for GowaClient {
    fn kind(&self) -> GatewayKind {
        GatewayKind::Gowa
    }

    fn chats(&self, since: i64) -> BoxFuture<'_, Result<Vec<ChatSummary>, Error>> {
        Box::pin(self.chats_since(since))
    }

    fn history<'a>(
        &'a self,
        chat: &'a Jid,
        since: i64,
        until: i64,
    ) -> BoxFuture<'a, Result<Vec<HistoryMessage>, Error>> {
        Box::pin(self.chat_messages(chat, since, until))
    }

    fn send<'a>(
        &'a self,
        to: &'a Jid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Sent, Error>> {
        Box::pin(self.send_body(
            to,
            &message.body,
            message.reply_to.as_ref().map(|r| r.id.as_str()),
        ))
    }

    fn react<'a>(
        &'a self,
        chat: &'a Jid,
        target: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.reaction(chat, &target.id, emoji.unwrap_or("")))
    }

    fn edit<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.update(chat, message_id, text))
    }

    fn revoke<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::revoke(self, chat, message_id))
    }

    fn mark_read<'a>(
        &'a self,
        chat: &'a Jid,
        _sender: Option<&'a Jid>,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            // GOWA has no chat-level read: mark each message.
            for id in message_ids {
                self.read(chat, id).await?;
            }
            Ok(())
        })
    }

    fn reject_call<'a>(
        &'a self,
        caller: &'a Jid,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::reject_call(self, caller, call_id))
    }

    fn set_typing<'a>(&'a self, chat: &'a Jid, on: bool) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::set_typing(self, chat, on))
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a Media,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<MediaFile, Error>> {
        Box::pin(async move {
            let (bytes, served, name) = match &media.source {
                MediaSource::GowaPath(path) => {
                    let (bytes, mime) = self.fetch_url(self.static_url(path)?, max_bytes).await?;
                    (bytes, mime, None)
                }
                MediaSource::GowaDownload { message_id, chat } => {
                    self.download_message_media(message_id, chat, max_bytes)
                        .await?
                }
                MediaSource::Inline(bytes) => (bytes.clone(), None, None),
                _ => {
                    return Err(Error::MediaUnavailable(
                        "no statics path or message to download".into(),
                    ));
                }
            };
            http::media_file(media, bytes, served, name, max_bytes)
        })
    }

    fn avatar<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(Self::avatar(self, jid))
    }

    fn health(&self) -> BoxFuture<'_, Result<Health, Error>> {
        Box::pin(self.status())
    }

    fn login_qr(&self) -> BoxFuture<'_, Result<crate::QrCode, Error>> {
        Box::pin(Self::login_qr(self))
    }

    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<crate::PairCode, Error>> {
        Box::pin(self.pair_phone(phone))
    }

    fn logout(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Self::logout(self))
    }

    fn reconnect(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Self::reconnect(self))
    }
}
