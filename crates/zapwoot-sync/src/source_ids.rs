//! The `source_id`s the bridge gives the messages it creates in Chatwoot, so that Chatwoot's
//! webhooks about them are told from agents' messages.

/// `source_id` prefixes of messages the bridge itself created in Chatwoot.
const OWN_SOURCE_PREFIXES: [&str; 4] = ["WAID:", "WAREACT:", "WAEDIT:", "ZAPWOOT:"];

/// `true` for Chatwoot messages this bridge created itself.
pub(crate) fn is_own_source(source_id: Option<&str>) -> bool {
    source_id.is_some_and(|s| OWN_SOURCE_PREFIXES.iter().any(|p| s.starts_with(p)))
}
