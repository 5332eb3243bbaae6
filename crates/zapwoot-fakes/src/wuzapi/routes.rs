//! The fake wuzapi's routes: token check, validation as in the real handlers, and the record of each send.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

pub(super) fn envelope(status: StatusCode, data: &Value) -> Reply {
    Reply::Send(json_response(
        status,
        &json!({ "code": status.as_u16(), "data": data, "success": true }),
    ))
}

pub(super) fn fail(status: StatusCode, error: &str) -> Reply {
    Reply::Send(json_response(
        status,
        &json!({ "code": status.as_u16(), "error": error, "success": false }),
    ))
}

/// Go's `encoding/json` matches keys case-insensitively.
pub(super) fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) fn field_str<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    field(body, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// wuzapi's `parseJID`: digits (optionally with `+`) or a full JID.
pub(super) fn valid_phone(phone: &str) -> bool {
    match phone.split_once('@') {
        Some((user, server)) => {
            !user.is_empty()
                && ["s.whatsapp.net", "g.us", "lid", "newsletter", "broadcast"].contains(&server)
        }
        None => {
            let digits = phone.trim_start_matches('+');
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        }
    }
}

pub(super) fn handle(core: &Core, req: &FakeRequest) -> Reply {
    let token = req
        .header("token")
        .map(str::to_owned)
        .or_else(|| req.query_param("token"));
    if token.as_deref() != Some(core.config.token.as_str()) {
        return fail(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let path = req.path.trim_end_matches('/');
    if req.method == Method::GET {
        return match path {
            "/session/status" => {
                let state = core.state();
                envelope(
                    StatusCode::OK,
                    &json!({
                        "id": core.config.user_id, "name": core.config.instance_name, "connected": state.connected,
                        "loggedIn": state.logged_in, "token": core.config.token, "jid": if state.logged_in { core.config.own_jid.as_str() } else { "" },
                        "webhook": state.webhook, "events": state.events.join(","), "proxy_url": "", "qrcode": "",
                        "history": state.history.keep, "hmac_configured": core.config.hmac_key.is_some(),
                        "s3_config": { "enabled": state.s3_enabled, "endpoint": "", "region": "", "bucket": "",
                                       "access_key": "***", "path_style": false, "public_url": "",
                                       "media_delivery": state.media_delivery, "retention_days": 30 },
                    }),
                )
            }
            "/chat/history" => core.state().history.answer(&core.config.user_id, req),
            "/session/qr" => {
                let state = core.state();
                if state.logged_in {
                    return fail(StatusCode::INTERNAL_SERVER_ERROR, "already logged in");
                }
                if !state.connected {
                    return fail(StatusCode::INTERNAL_SERVER_ERROR, "not connected");
                }
                let qr = state
                    .pairing
                    .qr
                    .as_deref()
                    .map_or_else(String::new, |code| {
                        format!(
                            "data:image/png;base64,{}",
                            STANDARD.encode(crate::pairing::png(code))
                        )
                    });
                envelope(StatusCode::OK, &json!({ "QRCode": qr }))
            }
            "/webhook" => {
                let state = core.state();
                envelope(
                    StatusCode::OK,
                    &json!({ "webhook": state.webhook, "subscribe": state.events }),
                )
            }
            _ => Reply::Unrouted(fail(StatusCode::NOT_FOUND, "not found").into_response()),
        };
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(StatusCode::BAD_REQUEST, "could not decode Payload");
    };
    match (req.method.clone(), path) {
        (Method::PUT, "/webhook") => {
            let active = field(&body, "active")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut state = core.state();
            state.webhook = if active {
                field_str(&body, "webhook").unwrap_or_default().to_owned()
            } else {
                String::new()
            };
            if let Some(events) = field(&body, "events").and_then(Value::as_array) {
                state.events = events
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect();
            }
            envelope(
                StatusCode::OK,
                &json!({ "webhook": state.webhook, "events": state.events, "active": active }),
            )
        }
        (Method::POST, "/webhook") => {
            let mut state = core.state();
            // Only `webhookurl` is read; a `webhook` key stores an empty URL, as upstream does.
            state.webhook = field_str(&body, "webhookurl")
                .unwrap_or_default()
                .to_owned();
            if let Some(events) = field(&body, "events").and_then(Value::as_array) {
                state.events = events
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect();
            }
            envelope(StatusCode::OK, &json!({ "webhook": state.webhook }))
        }
        (Method::POST, "/session/s3/config") => {
            let delivery = field_str(&body, "media_delivery").unwrap_or_default();
            let delivery = if delivery.is_empty() {
                "base64"
            } else {
                delivery
            };
            if !matches!(delivery, "base64" | "s3" | "both") {
                return fail(StatusCode::BAD_REQUEST, "invalid media_delivery");
            }
            let enabled = field(&body, "enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if enabled && field_str(&body, "bucket").unwrap_or_default().is_empty() {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "bucket is required when S3 is enabled",
                );
            }
            let mut state = core.state();
            state.media_delivery = delivery.to_owned();
            state.s3_enabled = enabled;
            envelope(
                StatusCode::OK,
                &json!({ "Details": "S3 configuration saved successfully", "Enabled": enabled, "MediaDelivery": delivery }),
            )
        }
        (Method::POST, "/session/history") => {
            let Some(keep) = field(&body, "history").and_then(Value::as_u64) else {
                return fail(StatusCode::BAD_REQUEST, "missing history in Payload");
            };
            core.state().history.keep = keep;
            envelope(
                StatusCode::OK,
                &json!({ "Details": "History setting saved", "History": keep }),
            )
        }
        (Method::POST, "/session/connect") => {
            let mut state = core.state();
            state.events = field(&body, "Subscribe")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if state.connected {
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "already connected");
            }
            state.connected = true;
            let answer = envelope(
                StatusCode::OK,
                &json!({ "details": "Connected!", "events": state.events.join(","), "jid": core.config.own_jid, "webhook": state.webhook }),
            );
            // Not paired: whatsmeow starts the QR flow at once, and wuzapi posts each code.
            let qr = (!state.logged_in).then(|| state.pairing.next_qr());
            drop(state);
            if let Some(code) = qr {
                core.emit_qr(&code);
            }
            answer
        }
        (Method::POST, "/session/pairphone") => {
            let mut state = core.state();
            if state.logged_in {
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "already logged in");
            }
            if !state.connected {
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "not connected");
            }
            let Some(phone) = field_str(&body, "Phone") else {
                return fail(StatusCode::BAD_REQUEST, "missing Phone in Payload");
            };
            let code = state.pairing.new_pair_code(phone);
            envelope(StatusCode::OK, &json!({ "LinkingCode": code }))
        }
        (Method::POST, "/session/logout") => {
            let mut state = core.state();
            if !state.logged_in {
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "no session");
            }
            state.logged_in = false;
            state.connected = false;
            state.pairing.stop();
            envelope(StatusCode::OK, &json!({ "Details": "Logged out" }))
        }
        (Method::POST, "/session/disconnect") => {
            let mut state = core.state();
            if !state.connected {
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "no session");
            }
            state.connected = false;
            state.pairing.stop();
            envelope(StatusCode::OK, &json!({ "Details": "Disconnected" }))
        }
        (Method::POST, p) if p.starts_with("/chat/download") => {
            let direct_path = field_str(&body, "DirectPath").unwrap_or_default();
            match core.state().media.get(direct_path) {
                Some((bytes, mime)) => envelope(
                    StatusCode::OK,
                    &json!({ "Mimetype": mime, "Data": format!("data:{mime};base64,{}", STANDARD.encode(bytes)) }),
                ),
                None => fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "failed to download media",
                ),
            }
        }
        (Method::POST, "/user/check") => {
            let state = core.state();
            let users: Vec<Value> = field(&body, "Phone").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(|q| {
                let digits: String = q.chars().filter(char::is_ascii_digit).collect();
                let on = !state.not_on_whatsapp.contains(&digits);
                json!({ "Query": q, "IsInWhatsapp": on, "JID": if on { format!("{digits}@s.whatsapp.net") } else { String::new() }, "VerifiedName": "" })
            }).collect();
            envelope(StatusCode::OK, &json!({ "Users": users }))
        }
        (Method::POST, "/user/info") => {
            let Some(phones) = field(&body, "Phone").and_then(Value::as_array) else {
                return fail(StatusCode::BAD_REQUEST, "missing Phone in Payload");
            };
            let mut users = Map::new();
            for phone in phones.iter().filter_map(Value::as_str) {
                if !phone.contains('@') {
                    return fail(StatusCode::BAD_REQUEST, "could not parse Phone");
                }
                users.insert(phone.to_owned(), json!({ "VerifiedName": null, "Status": "", "PictureID": "", "Devices": [], "LID": "" }));
            }
            envelope(StatusCode::OK, &json!({ "Users": users }))
        }
        (Method::POST, "/user/avatar") => {
            let phone = field_str(&body, "Phone").unwrap_or_default();
            match core.state().avatars.get(phone) {
                Some(url) => envelope(
                    StatusCode::OK,
                    &json!({ "url": url, "id": "1", "type": "image", "direct_path": "/x" }),
                ),
                None => fail(StatusCode::INTERNAL_SERVER_ERROR, "no avatar found"),
            }
        }
        (Method::POST, "/call/reject") => {
            let (Some(from), Some(id)) =
                (field_str(&body, "call_from"), field_str(&body, "call_id"))
            else {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "missing call_from or call_id in Payload",
                );
            };
            let (from, id) = (from.to_owned(), id.to_owned());
            core.state().rejected_calls.push((from, id));
            envelope(StatusCode::OK, &json!({ "Details": "Call rejected" }))
        }
        (Method::POST, p) => send_like(core, p, &body),
        _ => Reply::Unrouted(fail(StatusCode::NOT_FOUND, "not found").into_response()),
    }
}

/// Every endpoint that acts in a chat: validation as in the real handlers, then a record.
pub(super) fn send_like(core: &Core, path: &str, body: &Map<String, Value>) -> Reply {
    let required: &[&str] = match path {
        "/chat/send/text" => &["Phone", "Body"],
        "/chat/send/image" => &["Phone", "Image"],
        "/chat/send/audio" => &["Phone", "Audio"],
        "/chat/send/video" => &["Phone", "Video"],
        "/chat/send/document" => &["Phone", "Document", "FileName"],
        "/chat/send/sticker" => &["Phone", "Sticker"],
        "/chat/send/location" => &["Phone"],
        "/chat/send/contact" => &["Phone", "Name", "Vcard"],
        "/chat/react" => &["Phone", "Body", "Id"],
        "/chat/send/edit" => &["Phone", "Body", "Id"],
        "/chat/delete" => &["Phone", "Id"],
        "/chat/markread" => &["Id"],
        "/chat/presence" => &["Phone", "State"],
        _ => return Reply::Unrouted(fail(StatusCode::NOT_FOUND, "not found").into_response()),
    };
    for name in required {
        let present = match field(body, name) {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        if !present {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("missing {name} in Payload"),
            );
        }
    }
    let phone = field_str(body, "Phone")
        .or_else(|| field_str(body, "ChatPhone"))
        .unwrap_or_default()
        .to_owned();
    if !phone.is_empty() && !valid_phone(&phone) {
        return fail(StatusCode::BAD_REQUEST, "could not parse Phone");
    }
    for (name, prefix) in [
        ("Image", "data:image/"),
        ("Audio", "data:audio/"),
        ("Video", "data:video/"),
        ("Document", "data:"),
        ("Sticker", "data:"),
    ] {
        if let Some(data) = field_str(body, name) {
            let is_url = data.starts_with("http://") || data.starts_with("https://");
            let decodes = data
                .split_once(";base64,")
                .is_some_and(|(_, b)| STANDARD.decode(b).is_ok());
            if !(is_url || data.starts_with(prefix) && decodes) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "{} data should start with \"{prefix}…;base64,\"",
                        name.to_lowercase()
                    ),
                );
            }
        }
    }
    if path == "/chat/send/location" {
        for name in ["Latitude", "Longitude"] {
            if field(body, name)
                .and_then(Value::as_f64)
                .is_none_or(|v| v == 0.0)
            {
                return fail(
                    StatusCode::BAD_REQUEST,
                    &format!("missing {name} in Payload"),
                );
            }
        }
    }
    if let Some(Value::Object(context)) = field(body, "ContextInfo") {
        let stanza = field_str(context, "StanzaId").is_some();
        let participant = field_str(context, "Participant").is_some();
        if stanza != participant {
            return fail(
                StatusCode::BAD_REQUEST,
                "missing StanzaId or Participant in ContextInfo",
            );
        }
    }
    let mut state = core.state();
    if !state.logged_in {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "no session");
    }
    if path == "/chat/presence" {
        let state_name = field_str(body, "State").unwrap_or_default().to_owned();
        if !matches!(state_name.as_str(), "composing" | "paused") {
            return fail(StatusCode::BAD_REQUEST, "invalid state");
        }
        state.presences.push((phone, state_name));
        return envelope(
            StatusCode::OK,
            &json!({ "Details": "Chat presence set successfuly" }),
        );
    }
    if path == "/chat/markread" {
        let ids = match field(body, "Id") {
            Some(Value::Array(ids)) if !ids.is_empty() => ids
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => return fail(StatusCode::BAD_REQUEST, "missing Id in Payload"),
        };
        let chat = field_str(body, "ChatPhone")
            .or_else(|| field_str(body, "Chat"))
            .unwrap_or_default()
            .to_owned();
        state.read_marks.push((chat, ids));
        return envelope(
            StatusCode::OK,
            &json!({ "Details": "Message(s) marked as read" }),
        );
    }
    // Sends take a caller-chosen `Id` too ("If ID is omitted, a random message ID will be
    // generated"): resending one is the same WhatsApp message.
    let id = field_str(body, "Id").map_or_else(
        || format!("3EB0{}", random::hex(10)),
        |i| i.trim_start_matches("me:").to_owned(),
    );
    state.sends.push(WuzapiSend {
        endpoint: path.to_owned(),
        phone: phone.clone(),
        body: Value::Object(body.clone()),
        id: id.clone(),
        at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    });
    if let Some(kind) = path.strip_prefix("/chat/send/") {
        let chat = if phone.contains('@') {
            phone
        } else {
            format!("{}@s.whatsapp.net", phone.trim_start_matches('+'))
        };
        state.history.save(Row {
            chat,
            sender: "me".to_owned(),
            message_id: id.clone(),
            at: crate::time::now(),
            kind: kind.to_owned(),
            text: field_str(body, "Body")
                .or_else(|| field_str(body, "Caption"))
                .unwrap_or_default()
                .to_owned(),
            media_link: String::new(),
            quoted: String::new(),
            data_json: String::new(),
        });
    }
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let details = match path {
        "/chat/delete" => "Deleted",
        _ => "Sent",
    };
    envelope(
        StatusCode::OK,
        &json!({ "Details": details, "Timestamp": timestamp, "Id": id }),
    )
}
