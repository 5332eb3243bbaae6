//! `GET /api/v1/activity`: Server-Sent Events of the engine's activity, resumable with
//! `Last-Event-ID`, with a heartbeat comment every 15 s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use tokio::sync::broadcast;

use super::Body;
use crate::activity_log::Numbered;
use crate::state::State as RouterState;

const HEARTBEAT: Duration = Duration::from_secs(15);

fn frame(record: &Numbered) -> Bytes {
    let data = serde_json::to_string(&record.activity).unwrap_or_default();
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        record.id,
        record.activity.name()
    ))
}

struct State {
    backlog: std::vec::IntoIter<Numbered>,
    receiver: broadcast::Receiver<Numbered>,
    last: u64,
    instance: Option<String>,
    /// The instances the caller sees (`None`: every one, and records of none).
    visible: Option<std::collections::HashSet<String>>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl State {
    fn wanted(&self, record: &Numbered) -> bool {
        record.id > self.last
            && self
                .instance
                .as_ref()
                .is_none_or(|i| *i == record.activity.instance)
            && self
                .visible
                .as_ref()
                .is_none_or(|v| v.contains(&record.activity.instance))
    }
}

async fn next(mut state: State) -> Option<(Result<Frame<Bytes>, std::convert::Infallible>, State)> {
    while let Some(record) = state.backlog.next() {
        if state.wanted(&record) {
            state.last = record.id;
            return Some((Ok(Frame::data(frame(&record))), state));
        }
    }
    loop {
        if *state.stopping.borrow() {
            return None;
        }
        tokio::select! {
            received = state.receiver.recv() => match received {
                Ok(record) if state.wanted(&record) => {
                    state.last = record.id;
                    return Some((Ok(Frame::data(frame(&record))), state));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = Bytes::from(format!(": {n} records skipped (slow reader)\n\n"));
                    return Some((Ok(Frame::data(note)), state));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            () = tokio::time::sleep(HEARTBEAT) => {
                return Some((Ok(Frame::data(Bytes::from_static(b": heartbeat\n\n"))), state));
            }
            _ = state.stopping.changed() => return None,
        }
    }
}

/// The stream, optionally for one instance, of the instances `visible` (all when `None`),
/// after `last_event_id`.
pub(crate) fn stream(
    app: &Arc<RouterState>,
    last_event_id: u64,
    instance: Option<String>,
    visible: Option<std::collections::HashSet<String>>,
) -> Response<Body> {
    let (backlog, receiver) = app.activity.resume(last_event_id);
    let state = State {
        backlog: backlog.into_iter(),
        receiver,
        last: last_event_id,
        instance,
        visible,
        stopping: app.stopping.subscribe(),
    };
    let opening = stream::once(async {
        Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"retry: 2000\n\n")))
    });
    let body = StreamBody::new(futures_util::StreamExt::chain(
        opening,
        stream::unfold(state, next),
    ));
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
