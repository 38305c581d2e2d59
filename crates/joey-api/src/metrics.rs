//! `GET /metrics`: Prometheus text exposition of the process's counters (no secrets, no ids).

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

/// The inference log store's counters and the deployments' states.
#[utoipa::path(get, path = "/metrics", tag = "misc", responses((status = 200, description = "Prometheus text exposition (version 0.0.4): joey_log_rows_appended_total, joey_log_rows_flushed_total, joey_log_rows_dropped_total, joey_log_bytes_on_disk, joey_deployments{state}", content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let logs = s.logs.stats();
    let (starting, running, failed) = s.deployments.health_counts();
    let mut out = String::with_capacity(1024);
    metric(&mut out, "joey_log_rows_appended_total", "counter", "Inference log records accepted by the log store.", logs.appended_rows);
    metric(&mut out, "joey_log_rows_flushed_total", "counter", "Inference log records written and flushed to disk.", logs.flushed_rows);
    metric(&mut out, "joey_log_rows_dropped_total", "counter", "Inference log records shed (queue full, disk budget reached, or write error).", logs.dropped_rows);
    metric(&mut out, "joey_log_bytes_on_disk", "gauge", "Size of the log store on disk (segments and indexes).", logs.bytes_on_disk);
    let _ = writeln!(out, "# HELP joey_deployments Deployments served by this process, by state.\n# TYPE joey_deployments gauge");
    for (state, n) in [("starting", starting), ("running", running), ("error", failed)] {
        let _ = writeln!(out, "joey_deployments{{state=\"{state}\"}} {n}");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
