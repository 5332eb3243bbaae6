//! `--config FILE` (TOML): the same settings as the flags and environment variables, plus
//! instances to upsert at start. Precedence: flag, then environment, then the file, then the
//! built-in default.
//!
//! ```toml
//! database_url = "sqlite:///var/lib/zapwoot/zapwoot.db"
//! listen = "0.0.0.0:8080"
//! public_url = "https://zapwoot.example.com"
//!
//! [[instances]]
//! name = "alpha"
//! gateway = { kind = "wuzapi", base_url = "http://wuzapi:8080", token = "…" }
//! chatwoot = { base_url = "https://chat.example.com", account_id = 1, api_token = "…" }
//! ```

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde_json::Value;

use crate::cli::{Cli, Command};
use crate::config_file::ConfigFile;

/// Reads and parses `path`.
pub(crate) fn read(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    crate::config_file::parse(&text)
        .with_context(|| format!("in the configuration file {}", path.display()))
}

/// Whether `id` was left to its default (neither flag nor environment variable given).
fn unset(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        None | Some(ValueSource::DefaultValue)
    )
}

fn fill<T>(target: &mut T, value: Option<T>, matches: &ArgMatches, id: &str) {
    if let Some(value) = value
        && unset(matches, id)
    {
        *target = value;
    }
}

/// Applies the file to `cli` where neither a flag nor the environment set a value; returns
/// the instance documents to upsert.
pub(crate) fn apply(file: ConfigFile, cli: &mut Cli, matches: &ArgMatches) -> Result<Vec<Value>> {
    let g = &mut cli.global;
    fill(
        &mut g.database_url,
        file.database_url,
        matches,
        "database_url",
    );
    fill(
        &mut g.secret_key,
        file.secret_key.map(Some),
        matches,
        "secret_key",
    );
    fill(&mut g.log, file.log, matches, "log");
    fill(&mut g.log_format, file.log_format, matches, "log_format");
    if let (Command::Serve(serve), Some(matches)) =
        (&mut cli.command, matches.subcommand_matches("serve"))
    {
        fill(&mut serve.listen, file.listen, matches, "listen");
        fill(
            &mut serve.admin_token,
            file.admin_token.map(Some),
            matches,
            "admin_token",
        );
        fill(
            &mut serve.public_url,
            file.public_url.map(Some),
            matches,
            "public_url",
        );
        fill(
            &mut serve.max_gateway_body,
            file.max_gateway_body,
            matches,
            "max_gateway_body",
        );
        fill(
            &mut serve.max_chatwoot_body,
            file.max_chatwoot_body,
            matches,
            "max_chatwoot_body",
        );
        fill(
            &mut serve.max_inflight_body,
            file.max_inflight_body,
            matches,
            "max_inflight_body",
        );
        fill(
            &mut serve.max_connections_per_address,
            file.max_connections_per_address,
            matches,
            "max_connections_per_address",
        );
        fill(
            &mut serve.retain_bodies_days,
            file.retain_bodies_days,
            matches,
            "retain_bodies_days",
        );
        fill(
            &mut serve.retain_events_days,
            file.retain_events_days,
            matches,
            "retain_events_days",
        );
    }
    if let (Command::Healthcheck(check), Some(matches)) =
        (&mut cli.command, matches.subcommand_matches("healthcheck"))
    {
        fill(&mut check.listen, file.listen, matches, "listen");
    }
    file.instances
        .into_iter()
        .map(|table| serde_json::to_value(table).context("an instance in the configuration file"))
        .collect()
}

#[cfg(test)]
mod tests {

    const VALID: &str = r#"
database_url = "sqlite:///var/lib/zapwoot/zapwoot.db"
listen = "0.0.0.0:8080"
public_url = "https://zapwoot.example.com"
max_gateway_body = 16777216
retain_events_days = 30

[[instances]]
name = "alpha"
gateway = { kind = "wuzapi", base_url = "http://wuzapi:8080", token = "t" }
chatwoot = { base_url = "https://chat.example.com", account_id = 1, api_token = "c" }
options = { groups = true, ignore_jids = ["1@g.us"] }
"#;

    /// The Debian package's `/etc/zapwoot/zapwoot.toml` parses, keeps the state in the
    /// packaged state directory, and every setting it shows commented out is one the parser
    /// takes (uncommented, the file still parses).
    #[test]
    fn the_packaged_configuration_file_parses_with_every_commented_setting() {
        let text = include_str!("../packaging/zapwoot.toml");
        let file = crate::config_file::parse(text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            file.database_url.as_deref(),
            Some("sqlite:///var/lib/zapwoot/zapwoot.db")
        );
        assert_eq!(
            file.listen.map(|l| l.to_string()).as_deref(),
            Some("127.0.0.1:8080")
        );
        assert!(file.admin_token.is_none(), "secrets live in zapwoot.env");
        let settings: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .filter(|l| !l.starts_with("database_url"))
            .map(str::to_owned)
            .collect();
        assert!(settings.len() >= 8, "{settings:?}");
        let uncommented = text
            .lines()
            .filter(|l| !l.starts_with("listen") && !l.starts_with("log ="))
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest == "[[instances]]" || settings.iter().any(|s| s == rest) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        crate::config_file::parse(&uncommented).unwrap_or_else(|e| unreachable!("{e}"));
    }

    /// Thousands of mutated configuration files (bytes flipped, dropped, duplicated,
    /// truncated) through the parser and the instance documents they declare: errors, never
    /// a panic. A cheap, always-on stand-in for a fuzzer on a parser that lives in the binary.
    #[test]
    fn mutated_config_files_never_panic() {
        let file = crate::config_file::parse(VALID).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(file.instances.len(), 1);
        let mut seed: u64 = 0x00c0_ffee;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"[]{}=\"',.#\n 0123456789abcdefxyz_-:/\\\xc3\xa9";
        let original = VALID.as_bytes();
        let mut parsed = 0;
        for _ in 0..5_000 {
            let mut bytes = original.to_vec();
            for _ in 0..=next() % 4 {
                let at = usize::try_from(next() % (bytes.len() as u64 + 1)).unwrap_or(0);
                match next() % 4 {
                    0 if at < bytes.len() => {
                        let pick = usize::try_from(next() % alphabet.len() as u64).unwrap_or(0);
                        bytes[at] = alphabet[pick];
                    }
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    2 => bytes.truncate(at),
                    _ => {
                        let pick = usize::try_from(next() % alphabet.len() as u64).unwrap_or(0);
                        bytes.insert(at.min(bytes.len()), alphabet[pick]);
                    }
                }
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            if let Ok(file) = crate::config_file::parse(text) {
                parsed += 1;
                for table in &file.instances {
                    if let Ok(doc) = serde_json::to_value(table) {
                        let _ = crate::document::to_new_instance(&doc);
                    }
                }
            }
        }
        assert!(
            parsed > 100,
            "the mutations also produce valid files ({parsed})"
        );
    }
}
