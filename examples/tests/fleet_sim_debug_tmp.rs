use codex_pooler_examples::fleet_sim::*;
#[test]
fn dbg() {
    let c = SimConfig::default();
    let w = Workload::generate(&c);
    println!(
        "demand {} avail {} weekly {}",
        w.demand_tokens / 1e6,
        w.available_capacity() / 1e6,
        w.weekly_capacity() / 1e6
    );
    for a in &w.accounts {
        println!(
            "{:?} cap {:.1} used {:.1} left_days {:.2}",
            a.plan,
            a.weekly_cap / 1e6,
            a.weekly_used / 1e6,
            (a.weekly_reset_ms - START_UNIX_SECS * 1000) as f64 / 86.4e6
        );
    }
    let f = run(&c, &w, &default_entry()).unwrap();
    let total: f64 = f.accounts.iter().map(|a| a.tokens).sum();
    println!("served {}", total / 1e6);
    for a in &f.accounts {
        println!("{:?} {:.1}", a.plan, a.tokens / 1e6);
    }
}
