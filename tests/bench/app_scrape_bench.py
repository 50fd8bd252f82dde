#!/usr/bin/env python3
"""Application scrape benchmark: one target exposing 100,000 series, scraped by lookout and by a
real Prometheus server side by side in the same run, on the same interval.

Reports each one's scrape duration for that target (lookout's from its debug log, Prometheus's
own scrape_duration_seconds) and lookout's memory for it: RSS of an agent scraping the target
minus RSS of an identical agent without it, against Prometheus's RSS for the same target (issue
18's target: at most a quarter). The peak (VmHWM) is reported too: lookout's /metrics is fetched
every --serve-every seconds meanwhile (gzip, OpenMetrics, as a Prometheus scraping the agent
asks), so app scrapes land while /metrics is being served.

--body counters: one counter family, 4 labels (what exposition_parser_bench.cc parses).
--body mixed: counters, gauges and histograms (8 buckets), 4 labels; --series counts every
  sample line, as Prometheus counts series.
Each client (by User-Agent) gets the next of three bodies whose values differ, as an
application's do.
--churn: the three bodies also differ in one series (a label value of the last series), so no
  scrape has the last one's series: lookout reads each body through the last one's shape up to
  its end, then parses it whole (its worst case).

Usage: app_scrape_bench.py /path/to/lookout [--series N] [--seconds S] [--body counters|mixed]
       [--serve-every S]
"""
import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Harness, free_port, http_get, wait_http  # noqa: E402

BODIES = []
REQUESTS = {}  # per client (User-Agent): each gets the bodies in turn, whatever the other asks
REQUESTS_LOCK = threading.Lock()


def make_mixed_body(n, v=0, churn=False):
    """Counters (40% of the lines), gauges (20%) and histograms (40%: 8 buckets, sum and count
    per series), 4 labels each; values shifted by v; with churn, the last histogram's shard
    label depends on v."""
    out = []
    counters, gauges = n * 2 // 5, n // 5
    histograms = (n - counters - gauges) // 10
    methods = (b"GET", b"POST", b"PUT")

    def labels(i, last=False):
        return (b'method="%s",route="/api/v1/items/%d",code="%s",shard="%d"'
                % (methods[i % 3], i % 500, b"500" if i % 10 == 0 else b"200",
                   -1 - v if churn and last else i))
    out += [b"# HELP app_requests_total Requests handled.", b"# TYPE app_requests_total counter"]
    out += [b"app_requests_total{%s} %d" % (labels(i), i * 7 + v) for i in range(counters)]
    out += [b"# HELP app_inflight Requests in flight.", b"# TYPE app_inflight gauge"]
    out += [b"app_inflight{%s} %d.5" % (labels(i), i % 17 + v) for i in range(gauges)]
    out += [b"# HELP app_latency_seconds Latency.", b"# TYPE app_latency_seconds histogram"]
    bounds = (b"0.005", b"0.01", b"0.05", b"0.1", b"0.5", b"1", b"5", b"+Inf")
    for i in range(histograms):
        lab = labels(i, i == histograms - 1)
        for k, le in enumerate(bounds):
            out.append(b'app_latency_seconds_bucket{%s,le="%s"} %d' % (lab, le, i + k * 3 + v))
        out.append(b"app_latency_seconds_sum{%s} %d.25" % (lab, i + v))
        out.append(b"app_latency_seconds_count{%s} %d" % (lab, i + 21 + v))
    return b"\n".join(out) + b"\n"


def make_body(n, v=0, churn=False):
    """The same body exposition_parser_bench.cc parses (v = 0): one counter family, 4 labels;
    values shifted by v; with churn, the last series' shard label depends on v."""
    lines = [b"# HELP app_requests_total Requests handled.", b"# TYPE app_requests_total counter"]
    methods = (b"GET", b"POST", b"PUT")
    for i in range(n):
        lines.append(b'app_requests_total{method="%s",route="/api/v1/items/%d",code="%s",'
                     b'shard="%d"} %d' % (methods[i % 3], i % 500,
                                          b"500" if i % 10 == 0 else b"200",
                                          -1 - v if churn and i == n - 1 else i, i * 7 + v))
    return b"\n".join(lines) + b"\n"


class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        client = self.headers.get("User-Agent", "")
        with REQUESTS_LOCK:
            n = REQUESTS.get(client, 0)
            REQUESTS[client] = n + 1
        body = BODIES[n % len(BODIES)]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def lookout_config(h, name, interval, target_url=None, job="app", extra=""):
    """A lookout config file in the harness's directory: no Kubernetes, no OTLP, apps scraped
    every `interval` s (`target_url` as `job`, if given), then `extra` YAML; returns its path."""
    path = h.path(name + ".yaml")
    with open(path, "w") as f:
        f.write("kubernetes: {mode: off}\notlp: {http: {enabled: false}, "
                "grpc: {enabled: false}}\napps:\n"
                f"  scrape_interval: {interval}s\n  scrape_timeout: {interval}s\n")
        if target_url:
            f.write(f"  static_targets:\n  - {{url: \"{target_url}\", job: {job}}}\n")
        f.write(extra)
    return path


def status_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mib(pid):
    return status_mib(pid, "VmRSS")


def peak_mib(pid):
    return status_mib(pid, "VmHWM")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=90)
    ap.add_argument("--body", choices=("counters", "mixed"), default="counters")
    ap.add_argument("--serve-every", type=float, default=1.0,
                    help="fetch lookout's /metrics this often (0: never)")
    ap.add_argument("--churn", action="store_true",
                    help="every body has a series the one before did not")
    args = ap.parse_args()
    make = make_body if args.body == "counters" else make_mixed_body
    BODIES.extend(make(args.series, v, args.churn) for v in range(3))
    interval = 5
    with Harness() as h:
        tport = free_port()
        srv = ThreadingHTTPServer(("127.0.0.1", tport), Target)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{tport}/metrics"

        def agent_config(name, with_target):
            return lookout_config(h, name, interval, url if with_target else None, "bench")

        lk, lk_port = h.start_lookout(args.lookout, ["--config", agent_config("with", True),
                                                      "--log.level=debug"], name="lookout")
        idle, idle_port = h.start_lookout(args.lookout, ["--config", agent_config("idle", False)],
                                          name="lookout-idle")
        prom_port = free_port()
        pcfg = h.path("prometheus.yml")
        with open(pcfg, "w") as f:
            f.write(f"global: {{scrape_interval: {interval}s, scrape_timeout: {interval}s}}\n"
                    f"scrape_configs:\n- job_name: bench\n  static_configs:\n"
                    f"  - targets: ['127.0.0.1:{tport}']\n")
        prom = h.start(["prometheus", f"--config.file={pcfg}",
                        f"--storage.tsdb.path={h.path('tsdb')}",
                        f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus")
        wait_http(f"http://127.0.0.1:{prom_port}/-/ready", timeout=60, proc=prom)
        stop = threading.Event()
        served = []

        def serve():
            # As a Prometheus scraping the agent asks: OpenMetrics, gzip.
            hdrs = {"Accept": "application/openmetrics-text;version=1.0.0",
                    "Accept-Encoding": "gzip"}
            while not stop.wait(args.serve_every):
                try:
                    served.append(len(http_get(f"http://127.0.0.1:{lk_port}/metrics", hdrs,
                                               timeout=30)[2]))
                except OSError:
                    served.append(-1)
        if args.serve_every > 0:
            threading.Thread(target=serve, daemon=True).start()
        time.sleep(args.seconds)
        stop.set()
        lk_rss, idle_rss, prom_rss = rss_mib(lk.pid), rss_mib(idle.pid), rss_mib(prom.pid)
        lk_peak, idle_peak = peak_mib(lk.pid), peak_mib(idle.pid)

        durations = [float(m) for m in re.findall(r'msg=scraped job=bench .*?duration_seconds=([0-9.]+)',
                                                  h.log(lk))]
        samples = re.findall(r'msg=scraped job=bench .*?samples=([0-9]+)', h.log(lk))
        q = urllib.parse.quote(f'scrape_duration_seconds{{job="bench"}}[{args.seconds + 30}s]')
        _, _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}")
        res = json.loads(body)["data"]["result"]
        prom_durations = [float(v) for _, v in res[0]["values"]] if res else []
        q = urllib.parse.quote('scrape_samples_scraped{job="bench"}')
        _, _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}")
        res = json.loads(body)["data"]["result"]
        prom_samples = res[0]["value"][1] if res else "?"
        # The agent's /metrics re-exposes the series: check they are all there once.
        _, _, exposed = http_get(f"http://127.0.0.1:{lk_port}/metrics")
        exposed_n = exposed.count(b'\napp_requests_total{')
        m = re.search(rb'\nlookout_scrape_shape_reused_total\{[^}]*job="bench"[^}]*\} ([0-9.e+]+)',
                      exposed)
        reused = int(float(m.group(1))) if m else 0
    if not durations or not prom_durations:
        print(f"no data: lookout {len(durations)} scrapes, prometheus {len(prom_durations)}")
        sys.exit(1)
    # The first scrape of each warms caches and grows buffers; both drop it.
    d = statistics.median(durations[1:] or durations)
    p = statistics.median(prom_durations[1:] or prom_durations)
    per_series = (lk_rss - idle_rss) * 2**20 / args.series
    peak_per_series = (lk_peak - idle_peak) * 2**20 / args.series
    print(f"target: {args.series} series ({args.body}{', churn' if args.churn else ''}), "
          f"{len(BODIES[0]) / 1e6:.1f} MB text, scraped "
          f"every {interval}s for {args.seconds}s; lookout {len(durations)} scrapes, {reused} "
          f"of them read through the last body's shape "
          f"({samples[-1]} samples, {exposed_n} counter series re-exposed), Prometheus "
          f"{len(prom_durations)} scrapes ({prom_samples} samples); lookout's /metrics served "
          f"{len([n for n in served if n > 0])} times ({served.count(-1)} failed)\n")
    print("| metric | lookout | Prometheus 2.42 | Prometheus / lookout |")
    print("|---|---:|---:|---:|")
    print(f"| scrape duration, median (ms) | {d * 1000:.1f} | {p * 1000:.1f} | {p / d:.2f}x |")
    print(f"| scrape duration, max (ms) | {max(durations[1:] or durations) * 1000:.1f} | "
          f"{max(prom_durations[1:] or prom_durations) * 1000:.1f} | |")
    print(f"| RSS (MiB) | {lk_rss:.1f} (idle agent: {idle_rss:.1f}) | {prom_rss:.1f} | |")
    print(f"| RSS for the target (MiB) | {lk_rss - idle_rss:.1f} | {prom_rss:.1f} | "
          f"{prom_rss / max(lk_rss - idle_rss, 0.1):.2f}x |")
    print(f"| peak RSS, VmHWM (MiB) | {lk_peak:.1f} (idle agent: {idle_peak:.1f}) | | |")
    print(f"| memory per series (bytes) | {per_series:.0f} (peak {peak_per_series:.0f}) | | |")
    print(f"\ntargets (issue 18): scrape time at most 1/3 of Prometheus's: "
          f"{'met' if d * 3 <= p else 'NOT met'}; memory for the target at most 1/4 of "
          f"Prometheus's RSS: {'met' if (lk_rss - idle_rss) * 4 <= prom_rss else 'NOT met'}")


if __name__ == "__main__":
    main()
