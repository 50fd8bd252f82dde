#!/usr/bin/env python3
"""Before/after benchmark of two builds of lookout, interleaved in one run.

A refactor claims "no regression beyond noise"; this measures it. Each round runs every
benchmark once per build, alternating which build goes first, so slow drifts of this noisy VM
fall on both sides. Reported per benchmark: median and range (min-max) over the rounds for each
build, and after/before of the medians.

  node scrape   end to end: CPU per /metrics scrape of the agent (node collectors as
                parity_test.py configures them), utime+stime from /proc over N scrapes
  node (micro)  node_collectors_bench BM_FullScrape (collect + render, this host)
  pod scrape    pod_collectors_bench BM_PodScrape (110 pods x 3 containers, generated tree)
  app parse     exposition_parser_bench BM_Parse100kSeries/0 (100k series, 11 MB)
  app scrape    both agents scrape one 100k-series target at once; median scrape duration from
                their debug logs
  SLO tick      slo_engine_bench BM_TickWithRead (10,000 groups x 8 windows)
  traces        trace_bench.run: spans per CPU-second on one core, flat out, OTLP/HTTP and
                OTLP/gRPC in, export over HTTP uncompressed to trace_load's sink

The load generator (trace_load) and the harness come from this tree for both builds: only the
agent and the in-process benchmarks differ.

usage: revisions_bench.py BEFORE_BUILD_DIR AFTER_BUILD_DIR TRACE_LOAD [--rounds 3]
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import app_scrape_bench  # noqa: E402
import scrape_bench  # noqa: E402
import trace_bench  # noqa: E402
from harness import Harness, free_port  # noqa: E402
from parity_test import start_matched_pair  # noqa: E402

MICRO = [
    # (row, google-benchmark binary, filter); cpu_time is converted to ms
    ("node scrape, in process (ms CPU)", "node_collectors_bench", "^BM_FullScrape$"),
    ("pod scrape, 110x3 (ms CPU)", "pod_collectors_bench", "^BM_PodScrape$"),
    ("app parse, 100k series (ms CPU)", "exposition_parser_bench", "^BM_Parse100kSeries/0$"),
    ("SLO tick with read (ms CPU)", "slo_engine_bench", "^BM_TickWithRead$"),
]


def micro(build, binary, flt):
    out = subprocess.run([os.path.join(build, "tests", "bench", binary),
                          f"--benchmark_filter={flt}", "--benchmark_format=json",
                          "--benchmark_min_time=1"],
                         check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    if not runs:
        raise SystemExit(f"{binary}: nothing matched {flt}")
    b = runs[0]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["cpu_time"] * scale


def node_scrape(build, scrapes):
    with Harness() as h:
        lk, port, _, _ = start_matched_pair(h, os.path.join(build, "lookout"))
        time.sleep(1)
        return scrape_bench.measure(lk.pid, port, scrapes, False)["cpu_ms"]


def traces(build, trace_load, protocol, seconds):
    r = trace_bench.run(os.path.join(build, "lookout"), trace_load, seconds, "none", 0, protocol)
    return r["spans_per_cpu_second"]


def app_scrape(builds, seconds, series):
    """Both builds scrape one target at once; returns {build: median scrape ms}."""
    app_scrape_bench.BODY = app_scrape_bench.make_body(series)
    with Harness() as h:
        tport = free_port()
        srv = ThreadingHTTPServer(("127.0.0.1", tport), app_scrape_bench.Target)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        cfg = h.path("app.yaml")
        with open(cfg, "w") as f:
            f.write("kubernetes: {mode: off}\notlp: {http: {enabled: false}, grpc: {enabled: false}}\n"
                    "apps:\n  scrape_interval: 5s\n  scrape_timeout: 5s\n"
                    f"  static_targets:\n  - {{url: \"http://127.0.0.1:{tport}/metrics\", job: bench}}\n")
        procs = {}
        for i, b in enumerate(builds):
            procs[b], _ = h.start_lookout(os.path.join(b, "lookout"),
                                          ["--config", cfg, "--log.level=debug"], name=f"app{i}")
            time.sleep(2.5)  # half an interval apart: their scrapes do not overlap
        time.sleep(seconds)
        out = {}
        for b, p in procs.items():
            d = [float(m) for m in re.findall(
                r"msg=scraped job=bench .*?duration_seconds=([0-9.]+)", h.log(p))]
            out[b] = 1000 * statistics.median(d[1:] or d) if d else float("nan")
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("trace_load")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scrapes", type=int, default=300)
    ap.add_argument("--trace-seconds", type=float, default=8)
    ap.add_argument("--app-seconds", type=int, default=40)
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    results = {}  # row -> side -> [values]

    def add(row, side, v):
        results.setdefault(row, {}).setdefault(side, []).append(v)
        print(f"  {row:<42} {side:<6} {v:,.3f}", flush=True)

    for rnd in range(a.rounds):
        order = ["before", "after"] if rnd % 2 == 0 else ["after", "before"]
        print(f"round {rnd + 1}/{a.rounds}, {order[0]} first", flush=True)
        for side in order:
            for row, binary, flt in MICRO:
                add(row, side, micro(builds[side], binary, flt))
            add("node scrape over HTTP (ms CPU)", side, node_scrape(builds[side], a.scrapes))
            for protocol in ("http", "grpc"):
                add(f"traces OTLP/{protocol.upper()} in (spans/CPU-s)", side,
                    traces(builds[side], a.trace_load, protocol, a.trace_seconds))
        both = app_scrape([builds[s] for s in order], a.app_seconds, 100_000)
        for side in order:
            add("app scrape, 100k series (ms, median)", side, both[builds[side]])

    print(f"\n{datetime.date.today()}, {a.rounds} rounds, {os.cpu_count()} CPUs; "
          f"before = {a.before}, after = {a.after}\n")
    print("| benchmark | before: median (range) | after: median (range) | after / before |")
    print("|---|---:|---:|---:|")
    for row, sides in results.items():
        def fmt(x):
            return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
        cells = []
        for side in ("before", "after"):
            v = sides[side]
            cells.append(f"{fmt(statistics.median(v))} ({fmt(min(v))}-{fmt(max(v))})")
        ratio = statistics.median(sides["after"]) / statistics.median(sides["before"])
        print(f"| {row} | {cells[0]} | {cells[1]} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
