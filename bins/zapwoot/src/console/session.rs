//! Console sign-in: a random session token in an HttpOnly, `SameSite=Strict` cookie (also
//! `Secure` when the public URL is https), kept in the store only as its SHA-256; a CSRF
//! token derived from the session token, which every form and every unsafe API call from the
//! console carries.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, header};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::state::State;

/// How long a console session lasts after signing in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The session cookie.
pub(crate) const COOKIE: &str = "zw_session";

/// The sign-in form's own CSRF cookie (no session exists yet).
pub(crate) const LOGIN_COOKIE: &str = "zw_login";

/// The header the console's script sends its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who signs in with the admin token.
const ADMIN: &str = "admin";

/// A signed-in console session.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    hash: [u8; 32],
    /// The token forms and API calls must carry.
    pub(crate) csrf: String,
    /// Who signed in: the admin token, or an API key with its scopes and limits.
    pub(crate) who: crate::access::Principal,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let joined: Vec<u8> = parts.concat();
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, &joined).as_ref());
    out
}

/// 32 random bytes, hex.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

fn signed(token: &str) -> Signed {
    Signed {
        hash: sha256(&[token.as_bytes()]),
        csrf: hex(&sha256(&[b"zapwoot console csrf\0", token.as_bytes()])),
        who: crate::access::Principal::admin(),
    }
}

/// Constant-time comparison of two tokens.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, `SameSite=Strict`, for the whole site (the console's
/// script calls `/api/v1` with it), `Secure` behind https.
pub(crate) fn set_cookie(app: &State, name: &str, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if app.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session the request's cookie names, if it is signed in and has not expired, and the
/// admin token that signed it in is still configured or the key that did is still active.
pub(crate) async fn current(app: &State, headers: &HeaderMap) -> Option<Signed> {
    let token = cookie(headers, COOKIE)?;
    if token.len() != 64 {
        return None;
    }
    let mut signed = signed(token);
    match app.store.console_sessions().get(&signed.hash).await {
        Ok(Some(session)) if session.principal == ADMIN => {
            app.admin_token.as_ref()?;
            Some(signed)
        }
        Ok(Some(session)) => {
            let id: i64 = session.principal.strip_prefix("key:")?.parse().ok()?;
            let key = app.store.api_keys().get(id).await.ok()??;
            if !key.is_active(crate::pairing::now_ms()) {
                return None;
            }
            signed.who = crate::access::keys::principal_of(&key);
            Some(signed)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "console session lookup failed");
            None
        }
    }
}

/// Why a sign-in failed.
#[derive(Debug)]
pub(crate) enum SignInError {
    /// No admin token is configured: the console is off.
    Off,
    /// The token is not the admin token.
    WrongToken,
    /// The session could not be stored.
    Store(zapwoot_store::StoreError),
}

/// Signs in with the admin `token` or an API key: records a session and answers the new
/// cookie's token.
pub(crate) async fn sign_in(app: &State, token: &str) -> Result<String, SignInError> {
    let principal = if crate::access::keys::looks_like_key(token) {
        match app.keys.principal(&app.store, token).await {
            Ok(p) => p.actor(),
            Err(crate::access::keys::Refusal::Store(e)) => return Err(SignInError::Store(e)),
            Err(_) => return Err(SignInError::WrongToken),
        }
    } else {
        let admin = app.admin_token.as_ref().ok_or(SignInError::WrongToken)?;
        if !admin.matches(token) {
            return Err(SignInError::WrongToken);
        }
        ADMIN.to_owned()
    };
    let session = random_token().ok_or(SignInError::Off)?;
    let signed = signed(&session);
    app.store
        .console_sessions()
        .create(&signed.hash, &principal, SystemTime::now() + LIFETIME)
        .await
        .map_err(SignInError::Store)?;
    Ok(session)
}

/// Ends the session (signing out).
pub(crate) async fn sign_out(app: &State, session: &Signed) {
    if let Err(e) = app.store.console_sessions().delete(&session.hash).await {
        tracing::warn!(error = %e, "console sign-out failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_differs_from_the_stored_hash_and_per_session() {
        let a = signed(&"a".repeat(64));
        let b = signed(&"b".repeat(64));
        assert_ne!(a.csrf, b.csrf);
        assert_ne!(a.csrf, hex(&a.hash));
        assert!(same(&a.csrf, &a.csrf.clone()));
        assert!(!same(&a.csrf, &b.csrf));
        assert!(!same(&a.csrf, ""));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; zw_session=abc; y=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "zw"), None);
    }
}
