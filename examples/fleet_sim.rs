//! The fleet simulator: every routing strategy against the same simulated pool and workload.
//!
//! Run with
//! `cargo run --release -p codex-pooler-examples --example fleet_sim -- --seed 42`
//! and it prints a Markdown table (see `docs/routing.md` for what the columns mean).
//!
//! Flags (defaults in brackets): `--seed` [42], `--accounts` [12], `--sessions` [1500],
//! `--days` [7], `--turns` (mean turns per session) [40], `--load` (demand over the weekly
//! capacity the pool has over the run) [1.0], `--session-id-share` [0.6], `--stateless-share` [0.1], `--burst-share`
//! [0.25], `--probe-minutes` (0: no usage probe) [5], `--attempts` [3], `--busy-wait-secs` (how
//! long a request waits for a busy account) [60], `--pin-wait-secs` (how long a soft-pinned
//! thread waits for its own busy account) [45], `--transport` (`websocket`: sessions with a
//! session id hold one upstream socket) [http], `--only <label>` (run one row; repeatable).

use std::error::Error;
use std::str::FromStr;
use std::time::Duration;

use codex_pooler_examples::fleet_sim::{SimConfig, entries, simulate};

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut config = SimConfig::default();
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{}", usage());
            return Ok(());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        match flag.as_str() {
            "--seed" => config.seed = parse(&flag, &value)?,
            "--accounts" => config.accounts = parse(&flag, &value)?,
            "--sessions" => config.sessions = parse(&flag, &value)?,
            "--days" => config.days = parse(&flag, &value)?,
            "--turns" => config.mean_turns = parse(&flag, &value)?,
            "--load" => config.load = parse(&flag, &value)?,
            "--session-id-share" => config.session_id_share = parse(&flag, &value)?,
            "--stateless-share" => config.stateless_share = parse(&flag, &value)?,
            "--burst-share" => config.burst_share = parse(&flag, &value)?,
            "--probe-minutes" => config.probe_minutes = parse(&flag, &value)?,
            "--attempts" => config.max_attempts = parse(&flag, &value)?,
            "--busy-wait-secs" => {
                config.dispatch.busy_wait = Duration::from_secs(parse(&flag, &value)?);
            }
            "--pin-wait-secs" => {
                config.dispatch.pin_wait = Duration::from_secs(parse(&flag, &value)?);
            }
            "--transport" => {
                config.websocket = match value.as_str() {
                    "http" => false,
                    "websocket" => true,
                    _ => return Err(format!("--transport: http or websocket\n{}", usage()).into()),
                };
            }
            "--only" => only.push(value),
            _ => return Err(format!("unknown flag {flag}\n{}", usage()).into()),
        }
    }
    let rows: Vec<_> = entries()
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.label))
        .collect();
    if rows.is_empty() {
        return Err(format!("--only matched no strategy\n{}", usage()).into());
    }
    let report = simulate(&config, &rows)?;
    println!("{}", report.markdown());
    Ok(())
}

fn parse<T: FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: cannot read {value:?}"))
}

fn usage() -> String {
    let labels: Vec<String> = entries().into_iter().map(|e| e.label).collect();
    format!(
        "usage: fleet_sim [--seed N] [--accounts N] [--sessions N] [--days N] [--turns N] \
         [--load X] [--session-id-share X] [--stateless-share X] [--burst-share X] \
         [--probe-minutes N] [--attempts N] [--busy-wait-secs N] [--pin-wait-secs N] \
         [--transport http|websocket] [--only LABEL]...\nlabels: {}",
        labels.join(", ")
    )
}
