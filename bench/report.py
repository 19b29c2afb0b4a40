#!/usr/bin/env python3
"""Turns bench/run.sh results (TSV) into the Markdown report: figures, ratios, target check."""

import sys

TARGETS = ("direct", "nginx", "gateway")
MODES = ("sse", "json", "chat-sse", "chat-json")


def load(path):
    rows = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rec = dict(zip(header, line.rstrip("\n").split("\t")))
            rows[(rec["mode"], int(rec["conns"]), rec["target"])] = rec
    return rows


def fnum(rec, key):
    return float(rec[key])


def main():
    rows = load(sys.argv[1])
    conns = sorted({c for (_, c, _) in rows})
    lo, hi = conns[0], conns[-1]

    print("| mode | conns | target | req/s | p50 ms | p99 ms | req/s ÷ direct | p50 ÷ direct "
          "| p99 ÷ direct | proxy CPU µs/req | errors | other CPU % |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in MODES:
        for c in conns:
            # The chat modes have no direct cell: they compare with the Codex stream.
            d = rows.get((mode, c, "direct")) or rows.get(("sse", c, "direct"))
            for t in TARGETS:
                r = rows.get((mode, c, t))
                if r is None:
                    continue
                rps, p50, p99 = fnum(r, "rps"), fnum(r, "p50_us"), fnum(r, "p99_us")
                ratio = lambda k, v: f"{v / fnum(d, k):.2f}" if d and fnum(d, k) > 0 else "-"
                cpu = r.get("proxy_cpu_us_per_req", "")
                cpu = "-" if t == "direct" or cpu in ("", "-") else f"{float(cpu):.1f}"
                errs = int(r["errors"]) + int(r["non2xx"])
                other = r.get("other_cpu_pct", "-")
                print(f"| {mode} | {c} | {t} | {rps:,.0f} | {p50 / 1000:.3f} | {p99 / 1000:.3f} "
                      f"| {ratio('rps', rps)} | {ratio('p50_us', p50)} | {ratio('p99_us', p99)} "
                      f"| {cpu} | {errs} | {other} |")

    noisy = [k for k, r in rows.items() if float(r.get("other_cpu_pct", 0) or 0) > 10]
    if noisy:
        print()
        print(f"**Warning:** {len(noisy)} cell(s) ran while more than 10% of the machine's CPU "
              "went to other processes (column 'other CPU %'); their figures are not reliable.")

    print()
    print(f"Standing target: gateway throughput ≥ 0.90 × nginx (at {hi} connections); gateway "
          f"added p50 latency ≤ 1.10 × nginx's added p50 (at {lo} connection).")
    print()
    print("| mode | gateway ÷ nginx req/s | ≥ 0.90? | nginx added p50 µs | gateway added p50 µs "
          "| gateway ÷ nginx added | ≤ 1.10? |")
    print("|---|---:|---|---:|---:|---:|---|")
    for mode in MODES:
        try:
            g, n = rows[(mode, hi, "gateway")], rows[(mode, hi, "nginx")]
            tput = fnum(g, "rps") / fnum(n, "rps")
            d1, n1, g1 = (rows[(mode, lo, t)] for t in TARGETS)
        except KeyError:
            continue
        n_add = fnum(n1, "p50_us") - fnum(d1, "p50_us")
        g_add = fnum(g1, "p50_us") - fnum(d1, "p50_us")
        add_ratio = g_add / n_add if n_add > 0 else float("inf")
        print(f"| {mode} | {tput:.2f} | {'yes' if tput >= 0.9 else 'NO'} | {n_add:.0f} "
              f"| {g_add:.0f} | {add_ratio:.2f} | {'yes' if add_ratio <= 1.1 else 'NO'} |")


if __name__ == "__main__":
    main()
