//! [`Report`]: the figures of every strategy, rendered as a Markdown table.

use std::fmt::Write;

use super::SimConfig;
use super::metrics::Figures;
use super::workload::{SessionKind, Workload};

/// The outcome of a simulation: the configuration, the workload and one row per strategy.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was simulated.
    pub config: SimConfig,
    /// The workload every strategy faced.
    pub workload: Workload,
    /// One row per strategy, in the order they were run.
    pub rows: Vec<Figures>,
    /// The label of the default strategy's row.
    pub default_label: String,
}

impl Report {
    /// The row of the default strategy.
    pub fn default_row(&self) -> Option<&Figures> {
        self.rows.iter().find(|r| r.label == self.default_label)
    }

    /// One paragraph describing the configuration and the workload.
    pub fn summary(&self) -> String {
        let c = &self.config;
        let w = &self.workload;
        let plans: Vec<String> = w
            .plan_mix()
            .into_iter()
            .map(|(plan, n)| format!("{n} {}", plan.as_str()))
            .collect();
        let kinds: Vec<String> = SessionKind::ALL
            .iter()
            .zip(w.session_mix())
            .map(|(kind, n)| format!("{n} {}", kind.as_str()))
            .collect();
        let probe = if c.probe_minutes == 0 {
            "no usage probe".to_owned()
        } else {
            format!("usage probe every {} min", c.probe_minutes)
        };
        format!(
            "Seed {}: {} accounts ({}), {} sessions ({}), {} days, {} turns, {:.1} M tokens of \
             demand = {:.2}x the weekly-window capacity the pool has over the run; {}, {} attempts \
             per request.{}",
            c.seed,
            w.accounts.len(),
            plans.join(", "),
            w.sessions.len(),
            kinds.join(", "),
            w.days,
            w.turns.len(),
            w.demand_tokens / 1e6,
            c.load,
            probe,
            c.max_attempts,
            if c.websocket {
                " Sessions with a session id talk over a websocket."
            } else {
                ""
            },
        )
    }

    /// The results table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| strategy | turns served | client 429/503 | …while an account had quota \
             | switches: session id | switches: derived key | switches: stateless \
             | quota spent at first exhaustion | first exhaustion (day) | upstream 429s absorbed \
             | turns that waited (mean, max) | utilization min–max | utilization CV |\n",
        );
        out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for row in &self.rows {
            let label = if row.label == self.default_label {
                format!("**{}** (default)", row.label)
            } else {
                row.label.clone()
            };
            let (first, day) = match row.first_error {
                Some(e) => (
                    format!(
                        "{} ({} of weekly, {} expired)",
                        percent(e.quota_used),
                        percent(e.weekly_quota_used),
                        percent(e.expired)
                    ),
                    format!("{:.2}", e.day),
                ),
                None => ("no error".to_owned(), "–".to_owned()),
            };
            let (low, high) = row.utilization_range();
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} | {} | {} | {first} | {day} | {} | {} ({:.1} s, {:.0} s) | {:.0}–{:.0} % | {:.2} |",
                row.served,
                row.errors.total(),
                row.errors.with_quota,
                percent(row.switches(SessionKind::SessionId).share()),
                percent(row.switches(SessionKind::Derived).share()),
                percent(row.switches(SessionKind::Stateless).share()),
                row.retried_429,
                row.waits.turns,
                row.waits.mean_secs(),
                row.waits.max_ms as f64 / 1000.0,
                low * 100.0,
                high * 100.0,
                row.utilization_cv(),
            );
        }
        out
    }

    /// Client-visible errors by kind.
    pub fn errors_table(&self) -> String {
        let mut out = String::from(
            "| strategy | pooler 429 `usage_limit_reached` | pooler 503 \
             | upstream `usage_limit_reached` handed on | upstream code-less 429 handed on \
             | other | …while an account had quota | …and a free stream slot |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for row in &self.rows {
            let e = &row.errors;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.label,
                e.pool_exhausted,
                e.unavailable,
                e.upstream_limit,
                e.upstream_busy,
                e.other,
                e.with_quota,
                e.with_headroom
            );
        }
        out
    }

    /// Why threads with a key moved, per strategy (the planner's `pin_skipped` reason, a
    /// failover after an upstream 429, or no pin at all).
    pub fn moves_table(&self) -> String {
        let mut reasons: Vec<&'static str> = Vec::new();
        for row in &self.rows {
            for (r, _) in &row.moves {
                if !reasons.contains(r) {
                    reasons.push(r);
                }
            }
        }
        let mut out = format!("| strategy | {} |\n|---|", reasons.join(" | "));
        out.push_str(&"--:|".repeat(reasons.len()));
        out.push('\n');
        for row in &self.rows {
            let counts: Vec<String> = reasons
                .iter()
                .map(|r| {
                    let n = row
                        .moves
                        .iter()
                        .find(|(m, _)| m == r)
                        .map_or(0, |(_, n)| *n);
                    n.to_string()
                })
                .collect();
            let _ = writeln!(out, "| {} | {} |", row.label, counts.join(" | "));
        }
        out
    }

    /// Thread continuity per strategy: the share of a thread's turns served by another
    /// account than its previous turn (switches), and its complement, the share served by the
    /// account that served the previous turn (a proxy for prompt-cache hits), for threads with
    /// a client session id (over HTTP, or over a websocket with `--transport websocket`) and
    /// for threads without one over HTTP (the gateway derives one).
    pub fn continuity_table(&self) -> String {
        let with = if self.config.websocket {
            "websocket"
        } else {
            "HTTP"
        };
        let mut out = format!(
            "| strategy | {with}, session id: switches | cache-hit proxy \
             | HTTP, no session id: switches | cache-hit proxy |\n|---|--:|--:|--:|--:|\n",
        );
        for row in &self.rows {
            let with = row.switches(SessionKind::SessionId);
            let without = row.switches(SessionKind::Derived);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                row.label,
                percent(with.share()),
                percent(with.kept_share()),
                percent(without.share()),
                percent(without.kept_share()),
            );
        }
        out
    }

    /// Summary and tables, as printed by the `fleet_sim` example.
    pub fn markdown(&self) -> String {
        format!(
            "{}\n\n{}\nClient-visible errors by kind:\n\n{}\nWhy threads with a key moved:\n\n{}\nThread continuity:\n\n{}",
            self.summary(),
            self.table(),
            self.errors_table(),
            self.moves_table(),
            self.continuity_table()
        )
    }
}

fn percent(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}
