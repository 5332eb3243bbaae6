//! The systemd readiness protocol (`sd_notify(3)`): one datagram to the Unix socket named by
//! `$NOTIFY_SOCKET`, so a `Type=notify` unit counts as started only once the bridge listens.
//! Without the variable (not under systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;

/// Tells the service manager `state` (`READY=1`, `STOPPING=1`, `STATUS=…` lines). Failures
/// are logged, never fatal: a bridge that serves but cannot notify still serves.
pub(crate) fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&path, state) {
        tracing::warn!(error = %e, "could not notify the service manager");
    }
}

fn send(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    // A leading '@' names a socket in Linux's abstract namespace.
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt as _;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
            return Ok(());
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "abstract socket names need Linux",
            ));
        }
    }
    socket.send_to(state.as_bytes(), std::path::Path::new(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn a_datagram_reaches_a_path_socket_and_an_abstract_one() {
        let dir = std::env::temp_dir().join(format!("zapwoot-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap_or_else(|e| unreachable!("{e}"));
        super::send(path.as_os_str(), "READY=1").unwrap_or_else(|e| unreachable!("{e}"));
        let mut buf = [0u8; 64];
        let n = listener
            .recv(&mut buf)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(buf.get(..n), Some(&b"READY=1"[..]));
        let _ = std::fs::remove_dir_all(&dir);

        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt as _;
            let name = format!("zapwoot-notify-test-{}", std::process::id());
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .unwrap_or_else(|e| unreachable!("{e}"));
            let listener = UnixDatagram::bind_addr(&addr).unwrap_or_else(|e| unreachable!("{e}"));
            super::send(std::ffi::OsStr::new(&format!("@{name}")), "STOPPING=1")
                .unwrap_or_else(|e| unreachable!("{e}"));
            let n = listener
                .recv(&mut buf)
                .unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(buf.get(..n), Some(&b"STOPPING=1"[..]));
        }
    }
}
