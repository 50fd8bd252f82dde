#!/usr/bin/env python3
"""Application scrape benchmark: one target exposing 100,000 series, scraped by lookout and by a
real Prometheus server side by side in the same run, on the same interval.

Reports each one's scrape duration for that target (lookout's from its debug log, Prometheus's
own scrape_duration_seconds) and lookout's memory per series: RSS of an agent scraping the
target minus RSS of an identical agent without it, divided by the series count.

Usage: app_scrape_bench.py /path/to/lookout [--series N] [--seconds S]
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

BODY = b""


def make_body(n):
    """The same body exposition_parser_bench.cc parses: one counter family, 4 labels."""
    lines = [b"# HELP app_requests_total Requests handled.", b"# TYPE app_requests_total counter"]
    methods = (b"GET", b"POST", b"PUT")
    for i in range(n):
        lines.append(b'app_requests_total{method="%s",route="/api/v1/items/%d",code="%s",'
                     b'shard="%d"} %d' % (methods[i % 3], i % 500,
                                          b"500" if i % 10 == 0 else b"200", i, i * 7))
    return b"\n".join(lines) + b"\n"


class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    global BODY
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("--series", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=90)
    args = ap.parse_args()
    BODY = make_body(args.series)
    interval = 5
    with Harness() as h:
        tport = free_port()
        srv = ThreadingHTTPServer(("127.0.0.1", tport), Target)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{tport}/metrics"

        def agent_config(name, with_target):
            path = h.path(name + ".yaml")
            with open(path, "w") as f:
                f.write("kubernetes: {mode: off}\notlp: {http: {enabled: false}, "
                        "grpc: {enabled: false}}\napps:\n"
                        f"  scrape_interval: {interval}s\n  scrape_timeout: {interval}s\n")
                if with_target:
                    f.write(f"  static_targets:\n  - {{url: \"{url}\", job: bench}}\n")
            return path

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
        start = time.time()
        time.sleep(args.seconds)
        lk_rss, idle_rss, prom_rss = rss_mib(lk.pid), rss_mib(idle.pid), rss_mib(prom.pid)

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
    if not durations or not prom_durations:
        print(f"no data: lookout {len(durations)} scrapes, prometheus {len(prom_durations)}")
        sys.exit(1)
    # The first scrape of each warms caches and grows buffers; both drop it.
    d = statistics.median(durations[1:] or durations)
    p = statistics.median(prom_durations[1:] or prom_durations)
    per_series = (lk_rss - idle_rss) * 2**20 / args.series
    print(f"target: {args.series} series, {len(BODY) / 1e6:.1f} MB text, scraped every {interval}s "
          f"for {args.seconds}s; lookout {len(durations)} scrapes ({samples[-1]} samples, "
          f"{exposed_n} re-exposed), Prometheus {len(prom_durations)} scrapes "
          f"({prom_samples} samples)\n")
    print("| metric | lookout | Prometheus 2.42 | Prometheus / lookout |")
    print("|---|---:|---:|---:|")
    print(f"| scrape duration, median (ms) | {d * 1000:.1f} | {p * 1000:.1f} | {p / d:.2f}x |")
    print(f"| scrape duration, max (ms) | {max(durations[1:] or durations) * 1000:.1f} | "
          f"{max(prom_durations[1:] or prom_durations) * 1000:.1f} | |")
    print(f"| RSS (MiB) | {lk_rss:.1f} (idle agent: {idle_rss:.1f}) | {prom_rss:.1f} | |")
    print(f"| memory per series (bytes) | {per_series:.0f} | | |")
    ok = d <= p / 2
    print(f"\ntarget (lookout at most half of Prometheus's scrape time): "
          f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
