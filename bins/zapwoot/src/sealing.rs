//! Where the key sealing stored secrets comes from: `ZAPWOOT_SECRET_KEY`, or for SQLite a
//! key file next to the database (created on first use, mode 0600) so a newcomer needs no
//! setup. PostgreSQL deployments (many replicas) must pass the key explicitly.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use zapwoot_store::{Sealer, SealingKey, Store, StoreOptions};

use crate::cli::Global;

/// The key file used for `sqlite://PATH` when no key is configured: `PATH.key`.
pub(crate) fn sqlite_key_file(database_url: &str) -> Option<PathBuf> {
    let path = database_url.strip_prefix("sqlite://")?;
    Some(PathBuf::from(format!("{path}.key")))
}

fn read_or_create(path: &Path) -> Result<SealingKey> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the secret key file {}", path.display()))?;
        return SealingKey::from_base64(text.trim())
            .with_context(|| format!("the secret key file {} is invalid", path.display()));
    }
    let (key, text) = SealingKey::generate()?;
    write_private(path, &text)
        .with_context(|| format!("creating the secret key file {}", path.display()))?;
    tracing::warn!(
        file = %path.display(),
        "no ZAPWOOT_SECRET_KEY set: generated a key file next to the database; back it up with the database"
    );
    Ok(key)
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The sealer for `global`.
pub(crate) fn sealer(global: &Global) -> Result<Sealer> {
    if let Some(text) = &global.secret_key {
        let key = SealingKey::from_base64(text.trim())
            .context("ZAPWOOT_SECRET_KEY must be 32 bytes in base64")?;
        return Ok(Sealer::new(key));
    }
    match sqlite_key_file(&global.database_url) {
        Some(path) => Ok(Sealer::new(read_or_create(&path)?)),
        None => bail!(
            "ZAPWOOT_SECRET_KEY is required with PostgreSQL (32 bytes, base64; e.g. `openssl rand -base64 32`)"
        ),
    }
}

/// Opens (and migrates) the store of `global`.
pub(crate) async fn open_store(global: &Global) -> Result<Store> {
    let sealer = sealer(global)?;
    Store::open(&global.database_url, StoreOptions::with_sealer(sealer))
        .await
        .context("opening the database")
}
