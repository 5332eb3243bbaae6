//! `zapwoot instance status NAME` and `zapwoot instance connect NAME [--phone P]`: a phone
//! paired from the terminal, through the instance's gateway, without its UI.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use zapwoot_gateway::{GatewayKind, Health};
use zapwoot_store::{ConnectionRecord, ObservedConnection, SessionState, Store};
use zapwoot_sync::InstanceRuntime;

use super::fail;
use crate::instances;
use crate::pairing;

/// How often the session is asked whether the phone paired.
const ASK_EVERY: Duration = Duration::from_secs(2);

/// How often wuzapi's QR code is fetched again (it rotates every 20 s or so; fetching only
/// reads the code on show).
const WUZAPI_QR_EVERY: Duration = Duration::from_secs(5);

/// `zapwoot instance status NAME`: the recorded session, one line.
pub(crate) async fn status(store: &Store, name: &str) -> Result<()> {
    let instance = instances::get(store, name).await.map_err(|e| fail(&e))?;
    let record = store.connections().get(instance.id).await?;
    println!("{}", describe(name, record.as_ref()));
    Ok(())
}

fn describe(name: &str, record: Option<&ConnectionRecord>) -> String {
    let Some(r) = record else {
        return format!("{name}: unknown (nothing seen of the session yet)");
    };
    let who = match (r.push_name.as_deref(), r.phone(), r.jid.as_deref()) {
        (Some(n), Some(p), _) => format!(" — {n} (+{p})"),
        (None, Some(p), _) => format!(" — +{p}"),
        (_, None, Some(jid)) => format!(" — {jid}"),
        _ => String::new(),
    };
    let since = jiff::Timestamp::from_millisecond(r.since_ms)
        .map(|t| format!(" since {t:.0}"))
        .unwrap_or_default();
    let why = r
        .reason
        .as_deref()
        .map(|w| format!(" ({w})"))
        .unwrap_or_default();
    format!("{name}: {}{who}{since}{why}", r.state)
}

fn who(health: &Health) -> String {
    match &health.jid {
        Some(jid) => match jid.to_string().split_once('@') {
            Some((user, "s.whatsapp.net")) => {
                format!("+{} ({jid})", user.split([':', '.']).next().unwrap_or(user))
            }
            _ => jid.to_string(),
        },
        None => "the paired phone".to_owned(),
    }
}

/// `zapwoot instance connect NAME [--phone P]`: shows the QR code (again each time it
/// rotates) or the linking code for `phone`, and waits until the phone paired.
pub(crate) async fn connect(
    store: &Store,
    name: &str,
    phone: Option<&str>,
    timeout: Duration,
) -> Result<()> {
    let instance = instances::get(store, name).await.map_err(|e| fail(&e))?;
    let digits = phone.map(pairing::phone_digits).transpose()?;
    let runtime = InstanceRuntime::connect(&instance)
        .with_context(|| format!("connecting to instance {name}'s gateway"))?;
    let health = runtime
        .gateway
        .health()
        .await
        .context("asking the gateway")?;
    if health.logged_in {
        println!("{name} is paired already, as {}.", who(&health));
        return Ok(());
    }
    if let Some(digits) = &digits {
        let code = runtime
            .gateway
            .pair_code(digits)
            .await
            .map_err(pairing::PairingError::from)?;
        started(store, &instance, "linking code asked for").await?;
        println!(
            "On the phone +{digits}: WhatsApp → Linked devices → Link a device → Link with \
             phone number instead, and type\n\n    {}\n",
            code.code
        );
    }
    let deadline = Instant::now() + timeout;
    let mut shown: Option<Vec<u8>> = None;
    let mut fetched: Option<(Instant, Duration)> = None;
    let mut drawn = 0;
    loop {
        if digits.is_none() && qr_due(runtime.kind, fetched) {
            match runtime.gateway.login_qr().await {
                Ok(qr) => {
                    fetched = Some((Instant::now(), qr.valid_for.unwrap_or(WUZAPI_QR_EVERY)));
                    if shown.as_deref() != Some(qr.png.as_slice()) {
                        if drawn == 0 {
                            started(store, &instance, "QR code asked for").await?;
                        }
                        drawn += 1;
                        show_qr(name, drawn, &qr.png)?;
                        shown = Some(qr.png);
                    }
                }
                Err(zapwoot_gateway::Error::AlreadyPaired) => {}
                Err(e) => return Err(e).context("asking the gateway for a QR code"),
            }
        }
        let health = runtime
            .gateway
            .health()
            .await
            .context("asking the gateway")?;
        if health.logged_in {
            let mut seen = ObservedConnection::new(
                instance.id,
                if health.connected {
                    SessionState::Connected
                } else {
                    SessionState::Disconnected
                },
                "paired with zapwoot instance connect",
            );
            seen.jid = health.jid.as_ref().map(ToString::to_string);
            pairing::record(store, &seen).await?;
            println!("Connected as {}.", who(&health));
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "no phone paired within {} s; run `zapwoot instance connect {name}` again",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(ASK_EVERY).await;
    }
}

/// Whether to ask for the QR code now: at first, then on wuzapi every few seconds (it only
/// reads the code on show) and on GOWA only once the code shown expired (each call restarts
/// its QR flow).
fn qr_due(kind: GatewayKind, fetched: Option<(Instant, Duration)>) -> bool {
    match fetched {
        None => true,
        Some((at, valid_for)) => match kind {
            GatewayKind::Gowa => at.elapsed() >= valid_for,
            _ => at.elapsed() >= WUZAPI_QR_EVERY.min(valid_for),
        },
    }
}

async fn started(store: &Store, instance: &zapwoot_store::Instance, how: &str) -> Result<()> {
    let seen = ObservedConnection::new(instance.id, SessionState::Pairing, how);
    pairing::record(store, &seen).await?;
    Ok(())
}

fn show_qr(name: &str, n: usize, png: &[u8]) -> Result<()> {
    let drawing = crate::qr_terminal::draw(png)?;
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        // Redraw in place: clear the screen, cursor home.
        write!(out, "\x1b[2J\x1b[H")?;
    }
    writeln!(
        out,
        "QR code {n} for {name}: scan it on the phone under WhatsApp → Linked devices → \
         Link a device (a new code replaces it every 20 s or so)\n"
    )?;
    write!(out, "{drawing}")?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_as_one_line() {
        assert_eq!(
            describe("alpha", None),
            "alpha: unknown (nothing seen of the session yet)"
        );
        let mut r = ConnectionRecord::new(1, SessionState::LoggedOut, 1_764_000_000_000);
        r.jid = Some("5511900000000@s.whatsapp.net".to_owned());
        r.reason = Some("reason code 401".to_owned());
        assert_eq!(
            describe("alpha", Some(&r)),
            "alpha: logged_out — +5511900000000 since 2025-11-24T16:00:00Z (reason code 401)"
        );
    }

    #[test]
    fn gowa_is_asked_for_a_new_code_only_once_the_last_expired() {
        let fresh = Some((Instant::now(), Duration::from_secs(30)));
        assert!(qr_due(GatewayKind::Gowa, None));
        assert!(!qr_due(GatewayKind::Gowa, fresh));
        let old = Instant::now().checked_sub(Duration::from_secs(31));
        assert!(
            old.is_none_or(|at| qr_due(GatewayKind::Gowa, Some((at, Duration::from_secs(30)))))
        );
    }
}
