//! Reading an `/wham/accounts/check` answer: the entry of one account, in either of the two
//! shapes upstream uses.
//!
//! - The list form (current):
//!   `{"accounts":[{"id":"<account id>","workspace_backend_origin":"https://..."|"NO_CONSTRAINT",
//!   "account_routing_override":"NO_CONSTRAINT"|"us"|"us_cr",...}],...}`.
//! - The older map form: `{"accounts":{"<key>":{"account":{"account_id":"<account id>",...}}}}`,
//!   the two routing fields on the inner `account` object (or beside it). An entry without
//!   `account_id` is matched by its key.
//!
//! The entry must match the account id exactly once. An absent or `null` field means
//! `NO_CONSTRAINT`.

use serde_json::{Map, Value};

use super::{CheckError, RoutingOverride, WorkspaceOrigin, WorkspaceRoute};

/// The value meaning "no constraint" in both routing fields.
pub const NO_CONSTRAINT: &str = "NO_CONSTRAINT";

/// The workspace route `body` gives the account `account_id`, whose configured base URL is
/// `configured_base` (the origin rule depends on its scheme).
pub fn parse_accounts_check(
    body: &[u8],
    account_id: &str,
    configured_base: &str,
) -> Result<WorkspaceRoute, CheckError> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| CheckError::NotJson)?;
    let entry = match answer.get("accounts") {
        Some(Value::Array(list)) => only(
            list.iter()
                .filter_map(Value::as_object)
                .filter(|e| e.get("id").and_then(Value::as_str) == Some(account_id)),
        )?,
        Some(Value::Object(map)) => only(map.iter().filter_map(|(key, value)| {
            let value = value.as_object()?;
            let inner = value.get("account").and_then(Value::as_object);
            let id = inner
                .and_then(|a| a.get("account_id"))
                .and_then(Value::as_str)
                .unwrap_or(key);
            (id == account_id).then_some(inner.unwrap_or(value))
        }))?,
        _ => return Err(CheckError::NoAccounts),
    };
    let origin = match field(entry, "workspace_backend_origin")? {
        None | Some(NO_CONSTRAINT) => None,
        Some(value) => Some(WorkspaceOrigin::parse(value, configured_base)?),
    };
    let routing_override = match field(entry, "account_routing_override")? {
        None | Some(NO_CONSTRAINT) => None,
        Some(value) => Some(RoutingOverride::parse(value).ok_or(CheckError::UnknownOverride)?),
    };
    Ok(WorkspaceRoute {
        origin,
        routing_override,
    })
}

/// The one item of `entries`.
fn only<'a>(
    mut entries: impl Iterator<Item = &'a Map<String, Value>>,
) -> Result<&'a Map<String, Value>, CheckError> {
    let first = entries.next().ok_or(CheckError::AccountMissing)?;
    match entries.next() {
        None => Ok(first),
        Some(_) => Err(CheckError::AccountAmbiguous),
    }
}

/// A string field; absent or `null` is `None`.
fn field<'a>(entry: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, CheckError> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(CheckError::FieldType),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";
    const BASE: &str = "https://chatgpt.com";

    fn parse(body: &Value) -> Result<WorkspaceRoute, CheckError> {
        parse_accounts_check(body.to_string().as_bytes(), ID, BASE)
    }

    fn list(entry: &Value) -> Value {
        json!({"accounts": [
            {"id": "someone-else", "workspace_backend_origin": "https://elsewhere.example"},
            entry,
        ], "account_ordering": [ID], "default_account_id": ID})
    }

    #[test]
    fn list_form_with_origin_and_override() {
        let route = parse(&list(&json!({
            "id": ID, "name": "Team", "structure": "workspace",
            "workspace_backend_origin": "https://us.chatgpt.example",
            "account_routing_override": "us",
        })))
        .unwrap();
        assert_eq!(
            route.origin.as_ref().map(WorkspaceOrigin::as_str),
            Some("https://us.chatgpt.example")
        );
        assert_eq!(route.routing_override, Some(RoutingOverride::Us));
    }

    #[test]
    fn no_constraint_and_absent_mean_none() {
        let none = WorkspaceRoute::default();
        let explicit = list(&json!({"id": ID, "workspace_backend_origin": NO_CONSTRAINT,
            "account_routing_override": NO_CONSTRAINT}));
        assert_eq!(parse(&explicit), Ok(none.clone()));
        assert_eq!(parse(&list(&json!({"id": ID}))), Ok(none.clone()));
        let nulls = list(&json!({"id": ID, "workspace_backend_origin": null,
            "account_routing_override": null}));
        assert_eq!(parse(&nulls), Ok(none));
        let us_cr = list(&json!({"id": ID, "account_routing_override": "us_cr"}));
        assert_eq!(
            parse(&us_cr).unwrap().routing_override,
            Some(RoutingOverride::UsCr)
        );
    }

    #[test]
    fn map_form_by_account_id_or_key() {
        let by_id = json!({"accounts": {
            "k1": {"account": {"account_id": ID, "account_routing_override": "us_cr",
                               "workspace_backend_origin": "https://eu.example:8443"}},
            "k2": {"account": {"account_id": "other"}},
        }});
        let route = parse(&by_id).unwrap();
        assert_eq!(route.routing_override, Some(RoutingOverride::UsCr));
        assert_eq!(
            route.origin.map(|o| o.to_string()).as_deref(),
            Some("https://eu.example:8443")
        );
        let by_key = json!({"accounts": {ID: {"account_routing_override": "us"}}});
        assert_eq!(
            parse(&by_key).unwrap().routing_override,
            Some(RoutingOverride::Us)
        );
    }

    #[test]
    fn every_error() {
        assert_eq!(
            parse_accounts_check(b"<html>", ID, BASE),
            Err(CheckError::NotJson)
        );
        assert_eq!(parse(&json!({})), Err(CheckError::NoAccounts));
        assert_eq!(
            parse(&json!({"accounts": "x"})),
            Err(CheckError::NoAccounts)
        );
        assert_eq!(
            parse(&json!({"accounts": []})),
            Err(CheckError::AccountMissing)
        );
        assert_eq!(
            parse(&json!({"accounts": [{"id": "other"}, "junk", {"name": ID}]})),
            Err(CheckError::AccountMissing)
        );
        assert_eq!(
            parse(&json!({"accounts": [{"id": ID}, {"id": ID}]})),
            Err(CheckError::AccountAmbiguous)
        );
        assert_eq!(
            parse(&json!({"accounts": {"a": {"account": {"account_id": ID}}, ID: {}}})),
            Err(CheckError::AccountAmbiguous)
        );
        assert_eq!(
            parse(&list(&json!({"id": ID, "workspace_backend_origin": 5}))),
            Err(CheckError::FieldType)
        );
        assert_eq!(
            parse(&list(
                &json!({"id": ID, "account_routing_override": ["us"]})
            )),
            Err(CheckError::FieldType)
        );
        assert_eq!(
            parse(&list(&json!({"id": ID, "account_routing_override": "eu"}))),
            Err(CheckError::UnknownOverride)
        );
        assert_eq!(
            parse(&list(
                &json!({"id": ID, "workspace_backend_origin": "https://x.example/api"})
            )),
            Err(CheckError::OriginHasPath)
        );
        assert_eq!(
            parse(&list(
                &json!({"id": ID, "workspace_backend_origin": "http://x.example"})
            )),
            Err(CheckError::OriginInsecure)
        );
        // The same plain-HTTP origin is fine for a plain-HTTP account (tests, the demo).
        let plain = list(&json!({"id": ID, "workspace_backend_origin": "http://127.0.0.1:9"}));
        assert!(
            parse_accounts_check(plain.to_string().as_bytes(), ID, "http://127.0.0.1:8").is_ok()
        );
    }
}
