//! Integration tests: every test runs against the real HTTP server, once on SQLite and once on
//! PostgreSQL (each on a fresh database, so they run in parallel).
//!
//! PostgreSQL tests use `ANNALS_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `off` disables them). When the server is
//! unreachable they are reported as ignored, with a banner saying so, unless `CI=true`, where
//! that is a failure.

/// The article generator the library's property test uses, for database-backed properties.
#[path = "../../src/content/arbitrary.rs"]
mod arbitrary;
mod caching;
mod cli;
mod cli_tools;
mod cluster;
mod cost;
mod errors;
mod faults;
#[allow(dead_code)] // shared helpers; not every test uses each
mod helpers;
mod http;
mod limits;
mod lossless;
mod metrics;
mod mutations_articles;
mod mutations_auth;
mod mutations_import;
mod mutations_points;
mod mutations_revert;
mod mutations_sections;
mod mutations_topics;
mod operations;
mod pagination;
mod persisted;
mod plans;
mod read;
mod replicas;
mod responses;
mod search;
mod statements;
mod subscriptions;

use annals::content::{Document, PointDoc, SectionDoc};
use helpers::{Backend, TestApp, TestFn};
use libtest_mimic::{Arguments, Trial};

/// Lists test functions as `(name, fn)`; each runs on both backends.
macro_rules! tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$((concat!(stringify!($module), "::", stringify!($name)), (|app: TestApp| Box::pin($module::$name(app)) as _) as TestFn)),*]
    };
}

fn main() {
    let mut args = Arguments::from_args();
    // Most trials wait (on PostgreSQL, child processes, timers), not compute: three trials per
    // core keep the cores busy. On 2 cores the suite took 206 s with 2 threads, 93 s with 4
    // and 84 s with 8. `--test-threads N` still decides.
    if args.test_threads.is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        args.test_threads = Some(cores * 3);
    }
    let postgres = match helpers::postgres_url() {
        None => Err("ANNALS_TEST_POSTGRES_URL=off".to_owned()),
        Some(url) => helpers::postgres_available(&url).map_err(|e| format!("{url}: {e}")),
    };
    if let Err(why) = &postgres {
        let ci = helpers::in_ci();
        let banner = format!(
            "PostgreSQL tests SKIPPED ({why}).\nStart PostgreSQL or set ANNALS_TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB to run them."
        );
        if ci {
            eprintln!("{banner}\nCI=true: PostgreSQL tests must run.");
            std::process::exit(1);
        }
        eprintln!("\n*** {banner}\n");
    }

    let tests = all_tests();
    let registered: Vec<&'static str> = tests.iter().map(|(name, _)| *name).collect();
    let mut trials = vec![Trial::test(
        "registry::every_test_fn_is_registered",
        move || {
            let missing = unregistered(&registered);
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "add to all_tests() in tests/api/main.rs: {}",
                    missing.join(", ")
                )
                .into())
            }
        },
    )];
    for (name, test) in tests {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let label = match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            };
            let trial = Trial::test(format!("{label}::{name}"), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let app = TestApp::spawn(backend).await;
                    test(app).await;
                });
                Ok(())
            });
            trials.push(trial.with_ignored_flag(backend == Backend::Postgres && postgres.is_err()));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Test functions in `tests/api/*.rs` (top-level `async fn NAME(app: TestApp)`) missing from
/// `registered`: a test written but not listed would otherwise never run.
fn unregistered(registered: &[&str]) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api");
    let mut missing = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read tests/api")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    for path in files {
        let module = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let source = std::fs::read_to_string(&path).expect("read a test source");
        for line in source.lines() {
            let Some(rest) = line
                .strip_prefix("pub async fn ")
                .or_else(|| line.strip_prefix("async fn "))
            else {
                continue;
            };
            let Some((name, params)) = rest.split_once('(') else {
                continue;
            };
            if !params.contains(": TestApp)") {
                continue;
            }
            let full = format!("{module}::{name}");
            if !registered.contains(&full.as_str()) {
                missing.push(full);
            }
        }
    }
    missing
}

/// Every test function; the `registry` trial fails when one in `tests/api` is missing here.
fn all_tests() -> Vec<(&'static str, TestFn)> {
    tests![
        cli_tools::serve_refuses_malformed_scaling_settings_in_one_line,
        cost::budgets_behind_a_trusted_proxy_follow_the_forwarded_client,
        replicas::queries_read_a_replica_and_see_their_own_writes,
        replicas::a_lagging_or_stopped_replica_leaves_the_rotation,
        caching::get_answers_are_cacheable_and_304_costs_no_sql,
        caching::compressed_answers_have_their_own_etag,
        caching::cached_answers_come_compressed_as_the_client_asks,
        caching::surrogate_keys_name_what_the_answer_read,
        caching::the_response_cache_answers_repeats_without_sql,
        caching::cached_reads_never_go_back_behind_a_returned_mutation,
        caching::the_purge_webhook_gets_the_keys_after_commit_only,
        caching::annals_import_purges_what_it_committed,
        caching::processes_invalidate_each_others_caches,
        read::article_by_slug_serves_every_sentence_once,
        read::every_root_field_answers,
        read::relations_nest_deeply,
        read::node_round_trips_every_type,
        read::markdown_renders_the_whole_article,
        pagination::pages_forward_and_backward_in_every_order,
        pagination::filters_combine,
        pagination::nested_connections_page_per_parent,
        pagination::nested_pages_are_slices_of_each_parents_list,
        pagination::bad_pagination_arguments_are_refused,
        errors::syntax_errors_have_a_location,
        errors::unknown_fields_have_a_location,
        errors::malformed_ids_are_bad_input,
        errors::internal_errors_do_not_leak,
        errors::introspection_can_be_turned_off,
        errors::every_schema_element_is_described,
        cost::realistic_reads_pass_with_their_cost,
        cost::bombs_and_deep_queries_name_their_limit,
        cost::a_dry_run_costs_what_the_real_run_costs,
        cost::budgets_are_spent_refused_and_refilled,
        cost::caps_are_enforced,
        responses::keys_follow_the_selection_order,
        responses::a_failed_execution_has_data_null,
        responses::every_error_carries_a_code,
        limits::value_nesting_is_refused,
        limits::fragment_fan_out_is_refused,
        limits::shape_limits_are_enforced,
        limits::oversized_bodies_are_refused,
        limits::batches_are_bounded,
        limits::slow_requests_time_out,
        limits::header_abuse_is_refused,
        limits::database_time_limits_hold,
        faults::a_statement_cut_off_at_the_budget_leaks_no_connection,
        faults::terminating_every_backend_costs_only_requests_in_flight,
        faults::an_outage_answers_503_and_recovers_within_a_second,
        faults::readyz_follows_the_database,
        faults::a_statement_timeout_answers_503_timeout,
        faults::the_budget_counts_from_arrival,
        http::get_runs_queries_but_not_mutations,
        http::media_types_follow_the_spec,
        http::batches_answer_in_order,
        http::graphiql_is_served_offline,
        http::responses_are_compressed_by_accept_encoding,
        http::cors_is_off_unless_configured,
        statements::statement_count_is_independent_of_rows,
        statements::columns_are_selected_only_when_asked,
        statements::child_pages_are_lateral_on_postgres,
        cli::export_reproduces_the_seed_byte_for_byte,
        cli::seeding_twice_changes_nothing,
        cli::cli_errors_are_one_line,
        cli::import_export_and_replace,
        cli::migrations_go_down_and_up,
        cli::synthetic_seed_has_the_promised_shape,
        cli::failed_seed_writes_nothing,
        cli_tools::help_shows_each_command_its_own_settings,
        cli_tools::list_shows_articles_as_text_and_json,
        cli_tools::bulk_import_reports_each_file_and_dry_run_writes_nothing,
        cli_tools::export_all_then_import_gives_the_same_articles,
        cli_tools::dump_and_restore_across_backends_reproduce_the_archive,
        cli_tools::a_new_token_works_from_its_hashed_line,
        cli_tools::long_work_reports_progress_at_a_bounded_rate,
        mutations_articles::create_article_records_version_one,
        mutations_articles::create_article_errors_write_nothing,
        mutations_articles::update_article_bumps_version_and_noop_does_not,
        mutations_articles::update_article_errors_write_nothing,
        mutations_articles::concurrent_updates_with_one_expected_version_one_wins,
        mutations_articles::delete_article_removes_everything_in_it,
        mutations_auth::every_mutation_needs_a_valid_token,
        mutations_auth::without_configured_tokens_every_mutation_is_refused,
        mutations_auth::tokens_file_names_editors,
        mutations_import::import_creates_then_replaces_as_one_version,
        mutations_import::import_errors_write_nothing,
        mutations_import::cli_import_records_editor_cli,
        mutations_points::reform_lifecycle_keeps_positions_dense,
        mutations_points::reaction_lifecycle,
        mutations_points::point_errors_write_nothing,
        mutations_revert::revert_to_the_seed_reproduces_it_exactly,
        mutations_revert::revisions_page_newest_first,
        plans::planned_reads_answer_as_the_resolvers_do,
        plans::plans_read_variables_and_cursors_as_the_resolvers_do,
        plans::a_plan_loads_each_relation_once_for_the_whole_response,
        plans::a_root_article_comes_with_its_sections_in_one_statement,
        plans::a_root_topic_comes_with_its_first_page_in_one_statement,
        plans::a_planned_answer_over_the_size_limit_is_refused,
        lossless::a_reform_under_a_neutral_heading_survives_revert,
        lossless::tricky_content_survives_export_and_import,
        lossless::revision_documents_equal_the_export_at_each_version,
        lossless::reverting_to_the_current_version_changes_nothing,
        lossless::an_identical_replace_is_a_no_op_with_the_same_ids,
        lossless::a_taken_derived_slug_gets_a_suffix,
        lossless::diff_lists_typed_changes,
        lossless::a_corrupt_snapshot_is_internal_and_restores_nothing,
        lossless::old_revisions_are_migrated_and_revertable,
        lossless::generated_articles_round_trip_through_the_database,
        mutations_sections::create_section_shifts_positions_and_derives_slugs,
        mutations_sections::section_errors_write_nothing,
        mutations_sections::update_section_changes_fields_and_noop_keeps_version,
        mutations_sections::move_and_delete_keep_positions_dense,
        mutations_topics::topic_crud_changes_no_article,
        mutations_topics::tagging_bumps_the_article_once,
        mutations_topics::deleting_a_topic_bumps_each_tagged_article,
        mutations_topics::topic_errors_write_nothing,
        subscriptions::an_event_arrives_after_a_committed_change,
        subscriptions::slug_filter_and_created_events,
        subscriptions::an_invalid_slug_is_bad_user_input,
        subscriptions::operations_that_fail_validation_get_an_error_message,
        subscriptions::queries_run_as_one_result,
        subscriptions::mutations_over_websocket_are_forbidden,
        subscriptions::no_connection_init_within_3s_closes_4408,
        subscriptions::a_duplicate_subscription_id_closes_4409,
        subscriptions::subscribe_before_the_ack_closes_4401,
        subscriptions::a_second_connection_init_closes_4429,
        subscriptions::invalid_messages_close_4400,
        subscriptions::a_socket_without_the_subprotocol_closes_4406,
        subscriptions::messages_are_bounded_at_64_kib,
        subscriptions::at_most_100_subscriptions_per_socket,
        subscriptions::ping_pong_and_complete,
        subscriptions::a_subscriber_that_falls_behind_is_told_and_completed,
        subscriptions::two_server_processes_share_events,
        subscriptions::sigterm_closes_sockets_with_1001_and_exits,
        subscriptions::the_listener_reconnects_after_its_connection_drops,
        subscriptions::own_events_arrive_directly_and_once,
        subscriptions::a_client_that_stops_answering_pings_is_dropped,
        subscriptions::a_close_frame_is_echoed,
        subscriptions::queries_over_websocket_get_what_http_gets,
        subscriptions::queries_over_websocket_have_a_time_budget,
        subscriptions::a_dry_run_over_websocket_answers_at_once,
        subscriptions::statements_per_event_do_not_grow_with_subscribers,
        subscriptions::sockets_over_the_cap_are_refused_with_503,
        subscriptions::a_slow_subscriber_does_not_hold_back_the_fast_ones,
        search::ranking_table_over_the_seed,
        search::snippets_escape_everything_but_marks,
        search::hostile_queries_never_fail_internally,
        search::paging_visits_every_hit_once,
        search::changes_are_searchable_at_once,
        search::mutations_are_searchable_when_they_return,
        search::migrate_down_and_up_rebuilds_the_index,
        limits::responses_over_the_size_limit_are_refused,
        limits::large_queries_queue_for_response_memory,
        operations::nul_characters_in_arguments_are_bad_user_input,
        operations::coercion_errors_are_bad_user_input,
        operations::passwords_in_the_database_url_are_redacted,
        operations::a_trickled_body_is_answered_408,
        operations::a_read_only_sqlite_database_refuses_mutations,
        operations::an_unwritable_sqlite_file_stops_start_up,
        operations::sigterm_refuses_new_connections_and_closes_the_pool,
        operations::processes_starting_together_migrate_once,
        metrics::metrics_list_every_series_and_grow_as_requests_run,
        metrics::metrics_can_have_a_listener_of_their_own,
        metrics::each_request_writes_one_access_line_without_colours,
        metrics::traces_are_exported_over_otlp,
        persisted::persisted_apq_miss_register_hit,
        persisted::persisted_apq_over_get,
        persisted::persisted_apq_bad_input,
        persisted::persisted_apq_eviction,
        persisted::persisted_shared_across_servers,
        persisted::persisted_trusted_documents,
        persisted::persisted_cli_add_list_remove,
        persisted::persisted_over_websocket,
    ]
}
