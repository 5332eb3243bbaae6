//! The command line as a user runs it: `demo`, `instance …`, `events …`, `subscription …`, `doctor`, `migrate`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn zapwoot(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .args(args)
        .env_clear()
        .env(
            "ZAPWOOT_DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zapwoot-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn demo_plays_the_whole_conversation() {
    let output = Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .arg("demo")
        .env_remove("ZAPWOOT_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("all 8 steps arrived"), "{stdout}");
    // The phone is paired from Chatwoot first: the QR code the bridge posted, drawn here
    // (the fake's 21×21 code in a 2-module quiet zone: 13 lines of 25 cells).
    assert!(
        stdout.contains("✓ pair the phone from Chatwoot"),
        "{stdout}"
    );
    let drawn = stdout
        .lines()
        .filter(|l| l.chars().count() == 25 && l.chars().all(|c| "█▀▄ ".contains(c)))
        .count();
    assert_eq!(drawn, 13, "{stdout}");
    assert!(stdout.contains("the phone scans it"), "{stdout}");
    for step in [
        "customer text",
        "image",
        "reply",
        "reaction",
        "agent reply",
        "read receipt",
        "group message",
    ] {
        assert!(
            stdout.contains(&format!("✓ {step}")) || stdout.contains(step),
            "{step} missing:\n{stdout}"
        );
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}

#[test]
fn instances_are_managed_from_the_command_line_with_secrets_masked() {
    let dir = temp_dir("instances");
    let doc = json!({
        "name": "alpha",
        "gateway": { "kind": "wuzapi", "base_url": "http://127.0.0.1:9", "token": "cli-wuzapi-token" },
        "chatwoot": { "base_url": "http://127.0.0.1:9", "account_id": 1, "api_token": "cli-chatwoot-token", "inbox_id": 4 },
    });
    let added = zapwoot(&dir, &["instance", "add"], Some(&doc.to_string()));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let shown: Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(shown["gateway"]["token"], json!("***"));
    assert_eq!(shown["chatwoot"]["api_token"], json!("***"));
    assert!(
        shown["webhooks"]["gateway"]
            .as_str()
            .unwrap()
            .contains("/webhooks/gateway/")
    );

    // Reconciling an instance with no conversations yet finds nothing; unknown names fail.
    let reconciled = zapwoot(&dir, &["instance", "reconcile", "alpha"], None);
    assert!(
        String::from_utf8_lossy(&reconciled.stdout)
            .contains("chatwoot_to_whatsapp: 0 conversations looked at"),
        "{}",
        String::from_utf8_lossy(&reconciled.stderr)
    );
    assert!(
        !zapwoot(&dir, &["instance", "reconcile", "nobody"], None)
            .status
            .success()
    );

    // The same validation as the API: a duplicate name and a bad field are refused.
    let again = zapwoot(&dir, &["instance", "add"], Some(&doc.to_string()));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let bad = zapwoot(
        &dir,
        &["instance", "add"],
        Some(r#"{"name":"b","gateway":{"kind":"telegram"}}"#),
    );
    assert!(!bad.status.success());

    let patch = zapwoot(
        &dir,
        &["instance", "update", "alpha"],
        Some(r#"{"enabled": false, "gateway": {"token": "***"}}"#),
    );
    assert!(
        patch.status.success(),
        "{}",
        String::from_utf8_lossy(&patch.stderr)
    );
    let listed = zapwoot(&dir, &["instance", "list"], None);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("alpha") && listed.contains("disabled"),
        "{listed}"
    );

    // Upstreams that do not answer make `test` and `doctor` fail with what to fix.
    let test = zapwoot(&dir, &["instance", "test", "alpha"], None);
    assert!(!test.status.success());
    let doctor = zapwoot(&dir, &["doctor"], None);
    assert!(!doctor.status.success());
    let doctor_out = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        doctor_out.contains("ok    database") && doctor_out.contains("FAIL  instance alpha"),
        "{doctor_out}"
    );

    let events = zapwoot(&dir, &["events", "list"], None);
    assert!(events.status.success());
    assert!(
        !zapwoot(&dir, &["events", "retry", "99"], None)
            .status
            .success()
    );
    assert!(zapwoot(&dir, &["migrate"], None).status.success());

    // Secrets may come from the environment instead of the document.
    let mut from_env = doc;
    from_env["name"] = json!("gamma");
    from_env["chatwoot"]
        .as_object_mut()
        .unwrap()
        .remove("api_token");
    let without = zapwoot(&dir, &["instance", "add"], Some(&from_env.to_string()));
    assert!(String::from_utf8_lossy(&without.stderr).contains("chatwoot.api_token"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_zapwoot"));
    let output = command
        .args(["instance", "add"])
        .env(
            "ZAPWOOT_DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
        .env("ZAPWOOT_CHATWOOT_API_TOKEN", "token-from-env-123")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = output;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(from_env.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["chatwoot"]["api_token"], json!("***"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("token-from-env-123"));

    let removed = zapwoot(&dir, &["instance", "remove", "alpha"], None);
    assert!(removed.status.success());
    assert!(
        !zapwoot(&dir, &["instance", "show", "alpha"], None)
            .status
            .success()
    );

    for output in [&added, &patch] {
        let all = [
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ]
        .concat();
        assert!(
            !all.contains("cli-wuzapi-token") && !all.contains("cli-chatwoot-token"),
            "{all}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sqlite_without_a_key_gets_a_private_key_file() {
    let dir = temp_dir("keyfile");
    let output = Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .arg("migrate")
        .env_clear()
        .env(
            "ZAPWOOT_DATABASE_URL",
            format!("sqlite://{}", dir.join("k.db").display()),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = dir.join("k.db.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // PostgreSQL without a key is refused with the fix.
    let output = Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .arg("migrate")
        .env_clear()
        .env("ZAPWOOT_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ZAPWOOT_SECRET_KEY is required"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn subscriptions_are_managed_from_the_command_line() {
    let dir = temp_dir("subscriptions");
    // Refused: a private target without the opt-in; nothing is created.
    let refused = zapwoot(
        &dir,
        &["subscription", "add"],
        Some(r#"{"url": "http://127.0.0.1:9/hook", "events": ["*"]}"#),
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("allow_private_network"));
    assert_eq!(ok(&zapwoot(&dir, &["subscription", "list"], None)), "");

    let doc = r#"{"url": "http://127.0.0.1:9/hook", "events": ["message.*"], "allow_private_network": true,
                  "headers": {"Authorization": "Bearer crm-SECRET"}}"#;
    let created: Value =
        serde_json::from_str(&ok(&zapwoot(&dir, &["subscription", "add"], Some(doc)))).unwrap();
    let id = created["id"].as_i64().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = ok(&zapwoot(&dir, &["subscription", "list"], None));
    assert!(
        listed.starts_with(&format!(
            "{id}\tenabled\thttp://127.0.0.1:9/hook\tmessage.*"
        )),
        "{listed}"
    );
    let shown = ok(&zapwoot(&dir, &["subscription", "show", &id], None));
    assert!(
        !shown.contains(&secret) && !shown.contains("crm-SECRET"),
        "{shown}"
    );

    let updated: Value = serde_json::from_str(&ok(&zapwoot(
        &dir,
        &["subscription", "update", &id],
        Some(r#"{"enabled": false, "events": ["*"]}"#),
    )))
    .unwrap();
    assert_eq!(
        (updated["enabled"].clone(), updated["events"].clone()),
        (json!(false), json!(["*"]))
    );

    // No bridge runs on this database: the test event is queued and the wait says so.
    let test = zapwoot(&dir, &["subscription", "test", &id, "--wait", "1"], None);
    assert!(!test.status.success());
    assert!(String::from_utf8_lossy(&test.stderr).contains("is `zapwoot serve` running"));
    let deliveries = ok(&zapwoot(&dir, &["subscription", "deliveries", &id], None));
    assert!(
        deliveries.contains("endpoint.test\tpending\tattempts=0"),
        "{deliveries}"
    );
    let full: Value = serde_json::from_str(&ok(&zapwoot(
        &dir,
        &["subscription", "deliveries", &id, "--json"],
        None,
    )))
    .unwrap();
    assert_eq!(full[0]["payload"]["type"], json!("endpoint.test"));
    let delivery = full[0]["id"].as_i64().unwrap().to_string();

    assert_eq!(
        ok(&zapwoot(
            &dir,
            &[
                "subscription",
                "replay",
                &id,
                "--since",
                "2000-01-01T00:00:00Z"
            ],
            None
        ))
        .trim(),
        "0 deliveries queued again"
    );
    assert!(
        ok(&zapwoot(
            &dir,
            &["subscription", "replay", &id, "--delivery", &delivery],
            None
        ))
        .contains("queued again")
    );
    let bad_time = zapwoot(
        &dir,
        &["subscription", "replay", &id, "--since", "yesterday"],
        None,
    );
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));

    let rotated: Value =
        serde_json::from_str(&ok(&zapwoot(&dir, &["subscription", "rotate", &id], None))).unwrap();
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);
    assert!(rotated["previous_secret_until_ms"].is_i64());

    assert!(ok(&zapwoot(&dir, &["subscription", "remove", &id], None)).contains("removed"));
    assert!(
        !zapwoot(&dir, &["subscription", "show", &id], None)
            .status
            .success()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
