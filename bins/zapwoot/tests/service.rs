//! How service managers and containers run the bridge: systemd readiness (`Type=notify`),
//! `zapwoot healthcheck` (the container image's `HEALTHCHECK`), the generated man page and shell
//! completions the Debian package ships.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output};
use std::time::Duration;

use zapwoot_testkit::{Bridge, Db};

fn zapwoot(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zapwoot"));
    command.args(args).env_clear();
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zapwoot-service-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// READY=1 comes once the bridge answers `/healthz` (so systemd starts dependants only then),
/// STOPPING=1 on SIGTERM.
#[test]
fn systemd_is_told_when_the_bridge_is_ready_and_when_it_stops() {
    let dir = temp_dir("notify");
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let db = Db::sqlite();
    let bridge = Bridge::start_with(&db, &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    let ready = receive(&socket);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    let listen = bridge.url.trim_start_matches("http://").to_owned();
    let check = zapwoot(&["healthcheck", "--listen", &listen], &[]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
    assert_eq!(receive(&socket), "STOPPING=1");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without `NOTIFY_SOCKET` nothing is sent and nothing fails (the bridge started at all).
#[test]
fn healthcheck_reads_the_listen_address_from_the_environment_and_fails_when_down() {
    let db = Db::sqlite();
    let bridge = Bridge::start(&db);
    let listen = bridge.url.trim_start_matches("http://").to_owned();
    // 0.0.0.0 means "this host", as in the container image's ZAPWOOT_LISTEN.
    let port = listen.rsplit(':').next().unwrap().to_owned();
    let check = zapwoot(
        &["healthcheck"],
        &[("ZAPWOOT_LISTEN", &format!("0.0.0.0:{port}"))],
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // ... and from the configuration file's `listen`, as `serve` does.
    let dir = temp_dir("healthcheck-config");
    let config = dir.join("zapwoot.toml");
    std::fs::write(&config, format!("listen = \"{listen}\"\n")).unwrap();
    let check = zapwoot(&["--config", config.to_str().unwrap(), "healthcheck"], &[]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");

    let down = zapwoot(&["healthcheck", "--listen", &listen, "--timeout", "2"], &[]);
    assert!(!down.status.success());
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.contains(&format!("connecting to {listen}")),
        "{stderr}"
    );
}

/// A port that answers something other than the bridge's ok is unhealthy.
#[test]
fn healthcheck_refuses_an_answer_that_is_not_ok() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).unwrap();
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\nno")
            .unwrap();
    });
    let check = zapwoot(&["healthcheck", "--listen", &addr], &[]);
    server.join().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("unhealthy: HTTP/1.1 503"), "{stderr}");
}

/// The man page and completions come from the same clap definitions as the parser: every
/// subcommand is in them.
#[test]
fn man_page_and_completions_name_every_subcommand() {
    let man = zapwoot(&["manpage"], &[]);
    assert!(man.status.success());
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH zapwoot"),
        "{man}"
    );
    let subcommands = [
        "serve",
        "migrate",
        "instance",
        "events",
        "subscription",
        "send",
        "doctor",
        "demo",
        "healthcheck",
        "completions",
        "manpage",
    ];
    for sub in subcommands {
        assert!(man.contains(sub), "man page lacks {sub}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = zapwoot(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
        assert!(script.contains("database-url"), "{shell}");
    }
    // One page per subcommand, for `man zapwoot-serve`: serve's own flags are there.
    let dir = temp_dir("man");
    let out = zapwoot(&["manpage", "--out-dir", dir.to_str().unwrap()], &[]);
    assert!(out.status.success());
    let serve = std::fs::read_to_string(dir.join("zapwoot-serve.1")).unwrap();
    assert!(serve.contains("ZAPWOOT_ADMIN_TOKEN"), "{serve}");
    assert!(dir.join("zapwoot.1").exists());
    assert!(dir.join("zapwoot-instance-add.1").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let bad = zapwoot(&["completions", "tcsh"], &[]);
    assert!(!bad.status.success());
}

/// `zapwoot backup FILE` while a bridge serves the database: the copy and its key file are
/// 0600, open as a database of their own with the instance and its sealed secrets, and are
/// never written over. Without the copied key the copy's secrets stay sealed.
#[test]
fn a_backup_taken_while_serving_opens_with_its_key_and_is_never_overwritten() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("backup");
    let url = format!("sqlite://{}", dir.join("live.db").display());
    let env = [("ZAPWOOT_DATABASE_URL", url.as_str())];
    let doc = r#"{"name": "alpha",
        "gateway": {"kind": "wuzapi", "base_url": "http://127.0.0.1:9", "token": "backup-gw-token"},
        "chatwoot": {"base_url": "http://127.0.0.1:9", "account_id": 1, "api_token": "backup-cw-token", "inbox_id": 4}}"#;
    let mut add = Command::new(env!("CARGO_BIN_EXE_zapwoot"));
    add.args(["instance", "add", "--file", "-"])
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = add.spawn().unwrap();
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(doc.as_bytes())
            .unwrap();
    }
    let added = child.wait_with_output().unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let mut serving = Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Serving once it says where it listens (as the black-box harness waits).
    let stdout = std::io::BufReader::new(serving.stdout.take().unwrap());
    let listening = std::io::BufRead::lines(stdout)
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("zapwoot listening on http://")
                .map(str::to_owned)
        })
        .unwrap();
    assert!(
        zapwoot(&["healthcheck", "--listen", &listening], &[])
            .status
            .success()
    );

    let copy = dir.join("copy.db");
    let backup = zapwoot(&["backup", copy.to_str().unwrap()], &env);
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let key_copy = dir.join("copy.db.key");
    for file in [&copy, &key_copy] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    assert_eq!(
        std::fs::read(&key_copy).unwrap(),
        std::fs::read(dir.join("live.db.key")).unwrap()
    );
    let again = zapwoot(&["backup", copy.to_str().unwrap()], &env);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let _ = serving.kill();
    let _ = serving.wait();

    let copy_url = format!("sqlite://{}", copy.display());
    let shown = zapwoot(
        &["instance", "show", "alpha"],
        &[("ZAPWOOT_DATABASE_URL", &copy_url)],
    );
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(String::from_utf8_lossy(&shown.stdout).contains("\"alpha\""));
    // Another key cannot open the copy's secrets.
    let wrong = zapwoot(
        &["instance", "show", "alpha"],
        &[
            ("ZAPWOOT_DATABASE_URL", &copy_url),
            (
                "ZAPWOOT_SECRET_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            ),
        ],
    );
    assert!(!wrong.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
