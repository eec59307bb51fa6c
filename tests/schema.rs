//! schema.graphql at the repository root must equal the SDL the code generates.

#[test]
fn schema_graphql_is_up_to_date() {
    let limits = annals::config::Config::for_database("sqlite::memory:").limits;
    let generated = annals::graphql::sdl(&annals::graphql::build_schema(&limits, true, None));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema.graphql is out of date with the code.\nRegenerate it with: cargo run -q -- schema > schema.graphql"
    );
}
