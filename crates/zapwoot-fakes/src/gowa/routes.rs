//! The fake GOWA's routes: authentication, device scoping, sends and message actions.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

/// `PATCH /devices/{id}/webhook {webhook_url, webhook_secret?}` (id or JID; `""` clears).
pub(super) fn device_webhook(core: &Core, rest: &str, req: &FakeRequest) -> Reply {
    let Some(asked) = rest.strip_suffix("/webhook").map(percent_decode) else {
        return Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot PATCH"));
    };
    if !core.config.device_webhooks {
        return Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot PATCH"));
    }
    let Some((_, jid)) = core
        .config
        .devices
        .iter()
        .find(|(id, jid)| *id == asked || *jid == asked)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "DEVICE_NOT_FOUND",
            &format!("device {asked} not found"),
        );
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(url) = body.get("webhook_url").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "webhook_url: cannot be blank.",
        );
    };
    let secret = body
        .get("webhook_secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let mut state = core.state();
    if url.is_empty() {
        state.device_webhooks.remove(jid);
    } else {
        state
            .device_webhooks
            .insert(jid.clone(), (url.to_owned(), secret));
    }
    success(&json!({ "device_id": jid, "webhook_url": url }))
}

/// `X-Device-Id` (or `device_id` query): id or JID; defaults to the only device.
// The error is the finished reply; a fake can afford the large variant.
#[allow(clippy::result_large_err)]
pub(super) fn resolve_device(core: &Core, req: &FakeRequest) -> Result<String, Reply> {
    let asked = req
        .header("x-device-id")
        .map(str::to_owned)
        .or_else(|| req.query_param("device_id"));
    let devices = &core.config.devices;
    let device = match asked.filter(|a| !a.is_empty()) {
        Some(a) => devices
            .iter()
            .find(|(id, jid)| *id == a || *jid == a)
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "DEVICE_NOT_FOUND",
                    &format!("device {a} not found"),
                )
            })?,
        None if devices.len() == 1 => devices
            .first()
            .ok_or_else(|| error(StatusCode::NOT_FOUND, "DEVICE_NOT_FOUND", "no device"))?,
        None => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "DEVICE_ID_REQUIRED",
                "device_id is required",
            ));
        }
    };
    if core.state().logged_out.contains(&device.0) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "you are not logged in",
        ));
    }
    Ok(device.0.clone())
}

/// GOWA's phone validation: international digits (no leading 0, no `+`) or a full JID.
#[allow(clippy::result_large_err)]
pub(super) fn check_phone(phone: Option<&str>) -> Result<String, Reply> {
    let phone = phone.filter(|p| !p.is_empty()).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "phone: cannot be blank.",
        )
    })?;
    let user = phone.split('@').next().unwrap_or(phone);
    if user.starts_with('0') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "phone: phone number must be in international format without leading 0.",
        ));
    }
    if user.starts_with('+') || !user.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_JID",
            &format!("invalid JID {phone}"),
        ));
    }
    Ok(phone.to_owned())
}

pub(super) async fn handle(core: &Core, req: FakeRequest) -> Reply {
    let path = req.path.trim_end_matches('/').to_owned();
    if req.method == Method::GET && path == "/health" {
        return success(&json!({ "status": "ok" }));
    }
    if req.method == Method::GET && path.starts_with("/statics/") {
        let key = percent_decode(path.trim_start_matches('/'));
        return match core.state().statics.get(&key) {
            Some((bytes, mime)) => {
                let mut response =
                    http::Response::new(http_body_util::Full::new(Bytes::from(bytes.clone())));
                if let Ok(v) = http::HeaderValue::from_str(mime) {
                    response.headers_mut().insert(http::header::CONTENT_TYPE, v);
                }
                Reply::Send(response)
            }
            None => Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot GET")),
        };
    }
    if !authorized(core, &req) {
        return Reply::Send(plain(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    if req.method == Method::GET {
        match path.as_str() {
            "/app/devices" => {
                return success(&Value::Array(
                    core.config
                        .devices
                        .iter()
                        .map(|(id, jid)| json!({ "name": id, "device": jid, "jid": jid }))
                        .collect(),
                ));
            }
            "/app/info" => {
                return success(
                    &json!({ "version": "v9.2.0", "os": "linux", "base_path": "", "max_file_size": 52_428_800, "max_video_size": 104_857_600, "max_image_size": 20_971_520, "chatwoot_enabled": false }),
                );
            }
            _ => {}
        }
    }
    if req.method == Method::PATCH
        && let Some(rest) = path.strip_prefix("/devices/")
    {
        return device_webhook(core, rest, &req);
    }
    if let Some(reply) = pairing(core, &req, &path) {
        return reply;
    }
    let device = match resolve_device(core, &req) {
        Ok(d) => d,
        Err(reply) => return reply,
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method.clone(), segments.as_slice()) {
        (Method::GET, ["chats"]) => chats(core, &req),
        (Method::GET, ["chat", jid, "messages"]) => chat_messages(core, &req, &percent_decode(jid)),
        (Method::GET, ["user", "info"]) => match check_phone(req.query_param("phone").as_deref()) {
            Ok(phone) => success(
                &json!({ "data": [{ "name": "Customer", "verified_name": "", "status": "", "picture_id": "", "devices": [] }], "resolved_phone": phone }),
            ),
            Err(reply) => reply,
        },
        (Method::GET, ["user", "check"]) => {
            match check_phone(req.query_param("phone").as_deref()) {
                Ok(_) => success(&json!({ "is_on_whatsapp": true })),
                Err(reply) => reply,
            }
        }
        (Method::GET, ["user", "avatar"]) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "no avatar found",
        ),
        (Method::GET, ["message", id, "download"]) => {
            let path = core.state().downloads.get(*id).cloned();
            match path {
                Some(path) => success(
                    &json!({ "message_id": id, "status": "downloaded", "media_type": "", "filename": path.rsplit('/').next(), "file_path": path, "file_size": 0 }),
                ),
                None => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "message not found in chat storage",
                ),
            }
        }
        (Method::POST, ["call", "reject"]) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let field = |k: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
            };
            match (field("caller_jid"), field("call_id")) {
                (Some(caller), Some(id)) => {
                    core.state()
                        .rejected_calls
                        .push((caller.to_owned(), id.to_owned()));
                    success(&json!({ "status": "call rejected" }))
                }
                (None, _) => error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "caller_jid: cannot be blank.",
                ),
                (_, None) => error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "call_id: cannot be blank.",
                ),
            }
        }
        (Method::POST, ["send", kind]) => send(core, &req, &device, kind).await,
        (Method::POST, ["message", id, action]) => message_action(core, &req, &device, id, action),
        _ => Reply::Unrouted(
            error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
        ),
    }
}

/// The fields of a JSON or multipart body, and the uploaded file.
pub(super) async fn fields(
    req: &FakeRequest,
) -> Result<
    (
        Map<String, Value>,
        Option<(String, String, String, Vec<u8>)>,
    ),
    Reply,
> {
    let content_type = req.header("content-type").unwrap_or_default().to_owned();
    if content_type.starts_with("multipart/form-data") {
        let bad = |e: &dyn std::fmt::Display| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                &e.to_string(),
            )
        };
        let boundary = multer::parse_boundary(&content_type).map_err(|e| bad(&e))?;
        let body = req.body.clone();
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut map = Map::new();
        let mut file = None;
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                ToString::to_string,
            );
            let data = field.bytes().await.map_err(|e| bad(&e))?;
            match file_name {
                Some(file_name) => file = Some((name, file_name, part_type, data.to_vec())),
                None => {
                    map.insert(name, json!(String::from_utf8_lossy(&data)));
                }
            }
        }
        return Ok((map, file));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok((map, None)),
        // GOWA answers malformed JSON with a 500.
        _ => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "failed to parse body",
        )),
    }
}

pub(super) async fn send(core: &Core, req: &FakeRequest, device: &str, kind: &str) -> Reply {
    let (fields, file) = match fields(req).await {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Err(reply) = check_phone(text("phone")) {
        return reply;
    }
    let blank = |k: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!("{k}: cannot be blank."),
        )
    };
    match kind {
        "message" if text("message").is_none() => return blank("message"),
        "image" | "video" | "audio" | "file" | "sticker" => {
            let has_file = file.as_ref().is_some_and(|f| f.0 == kind);
            if !has_file && text(&format!("{kind}_url")).is_none() {
                return blank(kind);
            }
        }
        "location" => {
            for k in ["latitude", "longitude"] {
                if text(k).and_then(|v| v.parse::<f64>().ok()).is_none() {
                    return blank(k);
                }
            }
        }
        "contact" => {
            for k in ["contact_name", "contact_phone"] {
                if text(k).is_none() {
                    return blank(k);
                }
            }
        }
        "chat-presence" => {
            let action = text("action").unwrap_or_default().to_owned();
            if !matches!(action.as_str(), "start" | "stop") {
                return error(
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "action: must be a valid value.",
                );
            }
            let phone = text("phone").unwrap_or_default().to_owned();
            core.state().presences.push((phone, action.clone()));
            return success(
                &json!({ "message_id": "", "status": format!("Send chat presence {action} success") }),
            );
        }
        "message" | "link" | "poll" => {}
        _ => {
            return Reply::Unrouted(
                error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
            );
        }
    }
    let message_id = format!("3EB0{}", random::hex(10));
    core.state().sends.push(GowaSend {
        endpoint: format!("/send/{kind}"),
        device: device.to_owned(),
        fields: fields.clone(),
        file,
        message_id: message_id.clone(),
    });
    success(
        &json!({ "message_id": message_id, "status": format!("Message sent to {} (server timestamp: {})", text("phone").unwrap_or_default(), rfc3339_now()) }),
    )
}

pub(super) fn message_action(
    core: &Core,
    req: &FakeRequest,
    device: &str,
    id: &str,
    action: &str,
) -> Reply {
    if ![
        "reaction", "revoke", "update", "read", "delete", "star", "unstar",
    ]
    .contains(&action)
    {
        return Reply::Unrouted(
            error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "failed to parse body",
        );
    };
    if let Err(reply) = check_phone(body.get("phone").and_then(Value::as_str)) {
        return reply;
    }
    if action == "update"
        && body
            .get("message")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "message: cannot be blank.",
        );
    }
    if action == "read" {
        let phone = body
            .get("phone")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        core.state().read_marks.push((phone, id.to_owned()));
        return success(&json!({ "message_id": id, "status": "read success" }));
    }
    let message_id = format!("3EB0{}", random::hex(10));
    core.state().sends.push(GowaSend {
        endpoint: format!("/message/{id}/{action}"),
        device: device.to_owned(),
        fields: body,
        file: None,
        message_id: message_id.clone(),
    });
    success(&json!({ "message_id": message_id, "status": format!("{action} success") }))
}

pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The device `asked` names (id or JID), logged in or not; the only one when not asked.
#[allow(clippy::result_large_err)]
fn any_device(core: &Core, asked: Option<&str>) -> Result<String, Reply> {
    let devices = &core.config.devices;
    match asked.filter(|a| !a.is_empty()) {
        Some(a) => devices
            .iter()
            .find(|d| d.0 == a || d.1 == a)
            .map(|d| d.0.clone())
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "DEVICE_NOT_FOUND",
                    &format!("device {a} not found"),
                )
            }),
        None if devices.len() == 1 => Ok(devices.first().map(|d| d.0.clone()).unwrap_or_default()),
        None => Err(error(
            StatusCode::BAD_REQUEST,
            "DEVICE_ID_REQUIRED",
            "device_id is required",
        )),
    }
}

/// Pairing and session routes: `/devices/{id}/login|login/code|logout|reconnect|status`
/// (GOWA ≥ 8) and `/app/login|login-with-code|logout|reconnect` (older, or with
/// `X-Device-Id`). They work on logged-out devices; each login restarts the QR flow.
fn pairing(core: &Core, req: &FakeRequest, path: &str) -> Option<Reply> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (asked, action) = match (req.method.clone(), segments.as_slice()) {
        (Method::GET, ["devices", id, "login"]) => (Some((*id).to_owned()), "login"),
        (Method::POST, ["devices", id, "login", "code"]) => (Some((*id).to_owned()), "code"),
        (Method::POST, ["devices", id, "logout"]) => (Some((*id).to_owned()), "logout"),
        (Method::POST, ["devices", id, "reconnect"]) => (Some((*id).to_owned()), "reconnect"),
        (Method::GET, ["devices", id, "status"]) => (Some((*id).to_owned()), "status"),
        (Method::GET, ["app", "status"]) => (None, "app_status"),
        (Method::GET, ["app", "login"]) => (None, "login"),
        (Method::GET, ["app", "login-with-code"]) => (None, "code"),
        (Method::GET, ["app", "logout"]) => (None, "logout"),
        (Method::GET, ["app", "reconnect"]) => (None, "reconnect"),
        _ => return None,
    };
    let asked = asked.or_else(|| {
        req.header("x-device-id")
            .map(str::to_owned)
            .or_else(|| req.query_param("device_id"))
    });
    let device = match any_device(core, asked.as_deref()) {
        Ok(d) => d,
        Err(reply) => return Some(reply),
    };
    let jid = core
        .config
        .devices
        .iter()
        .find(|d| d.0 == device)
        .map(|d| d.1.clone())
        .unwrap_or_default();
    let mut state = core.state();
    let logged_in = !state.logged_out.contains(&device);
    Some(match action {
        "status" => success(
            &json!({ "device_id": if logged_in { jid.as_str() } else { "" }, "is_connected": logged_in, "is_logged_in": logged_in }),
        ),
        "app_status" => {
            let jid = if logged_in { jid.as_str() } else { "" };
            success(
                &json!({ "is_connected": logged_in, "is_logged_in": logged_in, "device_id": jid, "jid": jid }),
            )
        }
        "login" | "code" if logged_in => error(
            StatusCode::BAD_REQUEST,
            "ALREADY_LOGGED_IN",
            "you are already logged in.",
        ),
        "login" => {
            let pairing = state.pairing.entry(device.clone()).or_default();
            let code = pairing.next_qr();
            let file = format!("scan-qr-{}.png", crate::random::base58(12));
            state.statics.insert(
                format!("statics/images/qrcode/{file}"),
                (crate::pairing::png(&code), "image/png".to_owned()),
            );
            // GOWA builds the link from its own idea of its address, not the caller's.
            success(
                &json!({ "device_id": device, "qr_link": format!("http://localhost:3000/statics/images/qrcode/{file}"), "qr_duration": 30 }),
            )
        }
        "code" => match check_phone(req.query_param("phone").as_deref()) {
            Ok(phone) => {
                let code = state
                    .pairing
                    .entry(device.clone())
                    .or_default()
                    .new_pair_code(&phone);
                success(&json!({ "device_id": device, "pair_code": code }))
            }
            Err(reply) => reply,
        },
        "logout" => {
            if logged_in {
                state.logged_out.push(device.clone());
            }
            state.pairing.remove(&device);
            success(&Value::Null)
        }
        _ => success(&Value::Null),
    })
}
