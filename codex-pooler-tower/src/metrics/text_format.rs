//! [`prometheus_text`]: a registry in the Prometheus text format (0.0.4), for scrapers and
//! tools that do not read OpenMetrics (`promtool check metrics`).
//!
//! `prometheus-client` writes OpenMetrics, where a counter family `x` has samples `x_total`.
//! In the older text format a family's samples carry its name, so the counter's `# HELP` and
//! `# TYPE` lines are renamed `x_total`; `# UNIT` and `# EOF` lines, which that format lacks,
//! are left out. Nothing else changes.

use prometheus_client::registry::Registry;

/// The content type of [`prometheus_text`]'s output.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of [`openmetrics_text`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `registry` in the OpenMetrics text format.
pub fn openmetrics_text(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

/// `registry` in the Prometheus text format 0.0.4.
pub fn prometheus_text(registry: &Registry) -> Result<String, std::fmt::Error> {
    Ok(to_prometheus_text(&openmetrics_text(registry)?))
}

/// OpenMetrics text as Prometheus text 0.0.4 (see the [module documentation](self)).
fn to_prometheus_text(openmetrics: &str) -> String {
    let lines: Vec<&str> = openmetrics.lines().collect();
    let counters: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in lines {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let name = rest.split(' ').next()?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total{}", &rest[name.len()..]))
        });
        match renamed {
            Some(renamed) => out.push_str(&renamed),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_by_their_samples_and_openmetrics_lines_go() {
        let openmetrics = "# HELP a_requests Requests.\n# TYPE a_requests counter\n\
                           a_requests_total{x=\"1\"} 2\n# HELP a_up Up.\n# TYPE a_up gauge\n\
                           # UNIT a_up seconds\na_up 1\n# EOF\n";
        assert_eq!(
            to_prometheus_text(openmetrics),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n\
             a_requests_total{x=\"1\"} 2\n# HELP a_up Up.\n# TYPE a_up gauge\na_up 1\n"
        );
    }
}
