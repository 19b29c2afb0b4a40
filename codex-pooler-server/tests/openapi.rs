//! The committed `docs/openapi.json` is the spec the server serves: the API changes only on
//! purpose. After a deliberate change, regenerate it with
//! `cargo run -p codex-pooler-server -- openapi > docs/openapi.json`.

#[test]
fn committed_spec_matches_the_routes() {
    let served = codex_pooler_server::admin::openapi_json().expect("render the spec");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .expect("docs/openapi.json is committed");
    assert!(
        served.trim_end() == committed.trim_end(),
        "docs/openapi.json differs from the spec the server serves; if the API change is \
         deliberate, regenerate it with \
         `cargo run -p codex-pooler-server -- openapi > docs/openapi.json`"
    );
}

#[test]
fn every_operation_is_authenticated_and_documents_its_errors() {
    let spec: serde_json::Value =
        serde_json::from_str(&codex_pooler_server::admin::openapi_json().expect("render"))
            .expect("the spec is JSON");
    let paths = spec["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, item) in paths {
        assert!(path.starts_with("/admin/api/v1/"), "{path}");
        for (method, op) in item.as_object().expect("path item") {
            let what = format!("{method} {path}");
            assert_eq!(
                op["security"],
                serde_json::json!([{"operator_token": []}]),
                "{what} must name the operator token"
            );
            assert!(
                op["responses"]["401"].is_object(),
                "{what} must document 401"
            );
            assert!(
                op["operationId"].is_string(),
                "{what} needs an operation id"
            );
        }
    }
}
