#!/usr/bin/env python3
"""Scrape benchmark: lookout vs prometheus-node-exporter, same host, same collectors and filters,
measured in the same run.

For each exporter: warm up, then N sequential scrapes over one keep-alive connection (as
Prometheus scrapes). Reports CPU time per scrape (utime+stime of the exporter process from
/proc/<pid>/stat, all threads), scrape latency p50/p99 seen by the client, RSS after the N
scrapes, and bytes per scrape; then the ratios node_exporter / lookout.

usage: scrape_bench.py LOOKOUT_BINARY [--scrapes N] [--gzip] [--markdown]
"""
import argparse
import gzip as gz
import http.client
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Harness  # noqa: E402
from parity_test import start_matched_pair  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(pid, port, n, use_gzip):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Encoding": "gzip"} if use_gzip else {}

    def scrape():
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
        return body

    for _ in range(50):
        scrape()
    lat, size = [], 0
    cpu0 = cpu_seconds(pid)
    for _ in range(n):
        t = time.perf_counter()
        body = scrape()
        lat.append(time.perf_counter() - t)
        size += len(body)
    cpu = cpu_seconds(pid) - cpu0
    last = gz.decompress(body) if use_gzip else body
    lat.sort()
    return {
        "cpu_ms": 1000 * cpu / n,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
        "rss_mib": rss_bytes(pid) / 2**20,
        "bytes": size / n,
        "series": sum(1 for l in last.splitlines() if l and not l.startswith(b"#")),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("--scrapes", type=int, default=1000)
    ap.add_argument("--gzip", action="store_true")
    args = ap.parse_args()
    with Harness() as h:
        lk, lk_port, ne, ne_port = start_matched_pair(h, args.lookout)
        time.sleep(1)
        rss_idle = {"lookout": rss_bytes(lk.pid) / 2**20, "node_exporter": rss_bytes(ne.pid) / 2**20}
        ours = measure(lk.pid, lk_port, args.scrapes, args.gzip)
        theirs = measure(ne.pid, ne_port, args.scrapes, args.gzip)

    enc = "gzip" if args.gzip else "identity"
    print(f"\n{args.scrapes} scrapes each, {os.cpu_count()} CPUs, encoding {enc}, "
          f"{ours['series']} / {theirs['series']} series (lookout / node_exporter)\n")
    print("| metric | lookout | node_exporter 1.5 | node_exporter / lookout |")
    print("|---|---:|---:|---:|")
    rows = [("CPU per scrape (ms)", "cpu_ms", "{:.3f}"), ("latency p50 (ms)", "p50_ms", "{:.3f}"),
            ("latency p99 (ms)", "p99_ms", "{:.3f}"),
            (f"RSS after {args.scrapes} scrapes (MiB)", "rss_mib", "{:.1f}"),
            ("bytes per scrape", "bytes", "{:.0f}")]
    for label, key, fmt in rows:
        ratio = theirs[key] / ours[key] if ours[key] else float("inf")
        print(f"| {label} | {fmt.format(ours[key])} | {fmt.format(theirs[key])} | {ratio:.1f}x |")
    print(f"| RSS idle before scrapes (MiB) | {rss_idle['lookout']:.1f} | "
          f"{rss_idle['node_exporter']:.1f} | {rss_idle['node_exporter'] / rss_idle['lookout']:.1f}x |")
    cpu_ratio = theirs["cpu_ms"] / ours["cpu_ms"] if ours["cpu_ms"] else float("inf")
    rss_ratio = theirs["rss_mib"] / ours["rss_mib"]
    print(f"\ntargets: CPU ratio >= 20 ({'met' if cpu_ratio >= 20 else 'NOT met'}: {cpu_ratio:.1f}), "
          f"RSS ratio >= 3 ({'met' if rss_ratio >= 3 else 'NOT met'}: {rss_ratio:.1f})")


if __name__ == "__main__":
    main()
