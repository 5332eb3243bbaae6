//! Every event payload a test sees is checked against its published JSON Schema
//! (`docs/events/<type>.schema.json`): the schemas are the contract for subscribers, so a field
//! emitted but not documented, or documented but wrong, fails the test that emitted it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

/// The directory holding the event schemas.
#[must_use]
pub fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events")
}

struct Schema {
    validator: jsonschema::Validator,
    /// The documented `data` fields.
    fields: Vec<String>,
}

fn schemas() -> &'static HashMap<String, Schema> {
    static SCHEMAS: OnceLock<HashMap<String, Schema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut map = HashMap::new();
        for entry in std::fs::read_dir(schema_dir()).expect("docs/events") {
            let path = entry.unwrap().path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".schema.json"))
            else {
                continue;
            };
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            jsonschema::meta::validate(&schema)
                .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", path.display()));
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let fields = schema["properties"]["data"]["properties"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            map.insert(name.to_owned(), Schema { validator, fields });
        }
        map
    })
}

/// The event types that have a schema.
#[must_use]
pub fn documented_types() -> Vec<String> {
    let mut types: Vec<String> = schemas().keys().cloned().collect();
    types.sort();
    types
}

/// Checks one outbound webhook body (`{"type", "timestamp", "data"}`) against the schema of
/// its type, and that every `data` field it carries is documented there.
///
/// # Errors
/// Says which type, which field and what is wrong.
pub fn check_webhook_body(body: &Value) -> Result<(), String> {
    let kind = body["type"]
        .as_str()
        .ok_or_else(|| format!("event without a type: {body}"))?;
    let schema = schemas()
        .get(kind)
        .ok_or_else(|| format!("{kind}: no schema in docs/events"))?;
    let errors: Vec<String> = schema
        .validator
        .iter_errors(body)
        .map(|e| format!("{kind}{}: {e}", e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(format!("{}\n  in {body}", errors.join("\n")));
    }
    let undocumented: Vec<&String> = body["data"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| !schema.fields.contains(k))
        .collect();
    if !undocumented.is_empty() {
        return Err(format!(
            "{kind}: fields not in its schema: {undocumented:?}"
        ));
    }
    Ok(())
}

/// Checks one live activity stream record (`{"type", "instance", "timestamp_ms", "data"}`):
/// its `data`, with the instance beside it, is what the webhook body carries.
///
/// # Errors
/// As [`check_webhook_body`], or when the record's own fields are missing.
pub fn check_stream_record(record: &Value) -> Result<(), String> {
    if !record["timestamp_ms"].is_i64() || !record["instance"].is_string() {
        return Err(format!(
            "stream record without timestamp_ms or instance: {record}"
        ));
    }
    let mut data = record["data"].clone();
    let instance = record["instance"].as_str().unwrap_or_default();
    if !instance.is_empty() {
        data["instance"] = Value::from(instance);
    }
    check_webhook_body(&serde_json::json!({
        "type": record["type"],
        "timestamp": "2026-01-01T00:00:00.000Z",
        "data": data,
    }))
}

/// [`check_webhook_body`], panicking with the reason.
pub fn assert_valid_webhook_body(body: &Value) {
    if let Err(e) = check_webhook_body(body) {
        panic!("event payload does not match its schema: {e}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status() -> Value {
        json!({"type": "message.status", "timestamp": "2026-12-03T11:00:00.000Z", "data": {
            "instance": "alpha", "wa_message_id": "3EB0", "status": "read",
            "chat": null, "chatwoot_conversation_id": 1, "chatwoot_message_id": null}})
    }

    #[test]
    fn a_valid_payload_passes() {
        check_webhook_body(&status()).unwrap();
    }

    #[test]
    fn wrong_values_missing_fields_and_undocumented_fields_fail() {
        let mut wrong = status();
        wrong["data"]["status"] = json!("seen");
        assert!(
            check_webhook_body(&wrong)
                .unwrap_err()
                .contains("/data/status")
        );
        let mut missing = status();
        missing["data"].as_object_mut().unwrap().remove("chat");
        assert!(check_webhook_body(&missing).is_err());
        let mut extra = status();
        extra["data"]["mood"] = json!("happy");
        assert!(check_webhook_body(&extra).unwrap_err().contains("mood"));
        let mut time = status();
        time["timestamp"] = json!("yesterday");
        assert!(check_webhook_body(&time).is_err(), "formats are checked");
        assert!(check_webhook_body(&json!({"type": "nope", "data": {}})).is_err());
    }
}
