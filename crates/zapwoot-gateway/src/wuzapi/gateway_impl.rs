//! [`Gateway`] for [`WuzapiClient`]: the engine's calls mapped onto wuzapi's endpoints.

use reqwest::Url;

use super::{ReplyContext, WuzapiClient};
use crate::gateway::{BoxFuture, Gateway, Health, MediaFile, MessageRef, Outgoing, Sent};
use crate::http;
use crate::{Error, GatewayKind, Jid, Media, MediaSource};

fn reply_context(to: &Jid, reply: Option<&MessageRef>, own: Option<&Jid>) -> Option<ReplyContext> {
    let reply = reply?;
    // wuzapi needs StanzaId and Participant together; in 1:1 chats the author is either the
    // customer (the chat) or us.
    let participant = reply.participant.clone().or_else(|| {
        if reply.from_me {
            own.cloned()
        } else {
            Some(to.clone())
        }
    })?;
    Some(ReplyContext {
        stanza_id: reply.id.clone(),
        participant: participant.to_string(),
    })
}

impl Gateway for WuzapiClient {
    fn kind(&self) -> GatewayKind {
        GatewayKind::Wuzapi
    }

    fn send<'a>(
        &'a self,
        to: &'a Jid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Sent, Error>> {
        Box::pin(async move {
            let own = if message
                .reply_to
                .as_ref()
                .is_some_and(|r| r.from_me && r.participant.is_none())
            {
                self.session_status()
                    .await
                    .ok()
                    .and_then(|h| h.jid)
                    .map(|j| j.to_non_device())
            } else {
                None
            };
            let context = reply_context(to, message.reply_to.as_ref(), own.as_ref());
            self.send_media(to, &message.body, context.as_ref(), message.id.as_deref())
                .await
        })
    }

    fn react<'a>(
        &'a self,
        chat: &'a Jid,
        target: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::react(self, chat, target, emoji))
    }

    fn edit<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::edit(self, chat, message_id, text))
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
        sender: Option<&'a Jid>,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::mark_read(self, chat, sender, message_ids))
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
            let (bytes, served_mime) = match &media.source {
                MediaSource::Inline(bytes) => (bytes.clone(), None),
                MediaSource::Url(url) => {
                    let url = Url::parse(url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
                    http::fetch_media(self.http.get(url), &self.token, "S3", max_bytes).await?
                }
                MediaSource::WuzapiDownload { kind, keys } => self.download(kind, keys).await?,
                _ => {
                    return Err(Error::MediaUnavailable(
                        "no media keys, URL or inline data".into(),
                    ));
                }
            };
            http::media_file(media, bytes, served_mime, None, max_bytes)
        })
    }

    fn avatar<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(Self::avatar(self, jid))
    }

    fn health(&self) -> BoxFuture<'_, Result<Health, Error>> {
        Box::pin(self.session_status())
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

    fn chats(&self, since: i64) -> BoxFuture<'_, Result<Vec<crate::ChatSummary>, Error>> {
        Box::pin(self.history_chats(since))
    }

    fn history<'a>(
        &'a self,
        chat: &'a Jid,
        since: i64,
        until: i64,
    ) -> BoxFuture<'a, Result<Vec<crate::HistoryMessage>, Error>> {
        Box::pin(self.chat_history(chat, since, until))
    }
}
