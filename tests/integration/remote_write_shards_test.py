"""Remote write shards against a real receiver (Prometheus 2.42 with
--web.enable-remote-write-receiver) behind a slow link.

Two endpoints of one lookout push the same series to the same receiver, each through its own
proxy that holds every request DELAY seconds before passing it on (a far or busy receiver):
  - "sharded": queue_config.max_shards 16;
  - "single":  max_shards 1 (the control).
The load (SERIES application counters plus the node's and lookout's own series, every second,
MAX_PER_SEND per request) is several times what one request at a time can carry through that delay.

Then:
  1. the sharded endpoint's shard count rises above 1 by itself (Prometheus's formula) and its
     proxy sees requests in flight at once; its queue drains and stays short, while the
     control's keeps growing;
  2. the receiver refused nothing (no out-of-order sample: a later collection never overtakes
     an earlier one), and the sharded series hold every scrape in order: the application's
     counters count scrapes, so each stored sample is the previous one plus 1.

Usage: remote_write_shards_test.py /path/to/lookout
"""
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, fail, free_port, http_get, prom_query, wait_for  # noqa: E402
from remote_write_outage_test import metric, raw_samples, start_receiver  # noqa: E402

SERIES = 3000
MAX_PER_SEND = 250
DELAY = 0.3  # seconds each request is held
RUN = 60     # seconds of load before the checks
SCRAPE = 2   # the application's scrape interval: each scrape is collected at least once
INTERVAL = 1  # remote_write.interval, seconds
DRAIN = 40   # seconds over which the sharded endpoint's delivery rate is compared with the load


class App(BaseHTTPRequestHandler):
    """SERIES counters, all equal to the number of scrapes so far."""
    scrapes = 0
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def do_GET(self):
        with App.lock:
            App.scrapes += 1
            n = App.scrapes
        lines = ["# TYPE load_total counter"]
        lines += [f'load_total{{i="{i}"}} {n}' for i in range(SERIES)]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def slow_proxy(target):
    """A proxy to `target` that holds each request DELAY s; counts requests in flight."""
    class Proxy(BaseHTTPRequestHandler):
        in_flight = 0
        max_in_flight = 0
        requests = 0
        lock = threading.Lock()

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with Proxy.lock:
                Proxy.in_flight += 1
                Proxy.requests += 1
                Proxy.max_in_flight = max(Proxy.max_in_flight, Proxy.in_flight)
            try:
                time.sleep(DELAY)
                req = urllib.request.Request(target, data=body, method="POST", headers={
                    k: v for k, v in self.headers.items()
                    if k.lower() in ("content-type", "content-encoding",
                                     "x-prometheus-remote-write-version")})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, answer = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, answer = e.code, e.read()
                except OSError as e:  # the receiver stopping at the end of the test
                    status, answer = 503, str(e).encode()
            finally:
                with Proxy.lock:
                    Proxy.in_flight -= 1
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, Proxy


def receiver_refusals(port):
    """Remote-write requests the receiver answered with a 4xx, from its own /metrics."""
    text = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
    n = 0.0
    for line in text.splitlines():
        if line.startswith("prometheus_http_requests_total{") and \
                'handler="/api/v1/write"' in line and 'code="4' in line:
            n += float(line.split()[-1])
    return n


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        app = ThreadingHTTPServer(("127.0.0.1", free_port()), App)
        app.daemon_threads = True
        threading.Thread(target=app.serve_forever, daemon=True).start()
        recv_port = free_port()
        start_receiver(h, recv_port)
        write_url = f"http://127.0.0.1:{recv_port}/api/v1/write"
        proxies = {name: slow_proxy(write_url) for name in ("sharded", "single")}
        endpoints = []
        for name, max_shards in (("sharded", 16), ("single", 1)):
            endpoints.append({
                "url": f"http://127.0.0.1:{proxies[name][0].server_port}/api/v1/write",
                "name": name, "external_labels": {"endpoint": name},
                "queue_config": {"max_shards": max_shards, "max_samples_per_send": MAX_PER_SEND,
                                 "capacity": 1000000}})
        cfg = h.path("lookout.yaml")
        config = {
            "kubernetes": {"mode": "off"},
            "apps": {"scrape_interval": f"{SCRAPE}s", "scrape_timeout": "1s",
                     "static_targets": [{"url": f"http://127.0.0.1:{app.server_port}/metrics",
                                         "job": "load"}]},
            "remote_write": {"interval": f"{INTERVAL}s", "endpoints": endpoints},
        }
        with open(cfg, "w") as f:
            for k, v in config.items():
                f.write(f"{k}: {json.dumps(v)}\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])
        wait_for("the receiver to hold the application's counters", lambda: prom_query(
            recv_port, 'load_total{i="0",endpoint="sharded"}'), timeout=60)
        start = time.time()
        peak = 0.0
        # (seconds into the run, the sharded endpoint's delivered samples, its pending samples,
        # the control's delivered plus pending: all it was given)
        trace = []
        while time.time() - start < RUN:
            time.sleep(1)
            peak = max(peak, metric(port, "lookout_remote_write_shards", remote_name="sharded")
                       or 0)
            trace.append((time.time() - start,
                          metric(port, "lookout_remote_write_samples_total",
                                 remote_name="sharded") or 0,
                          metric(port, "lookout_remote_write_samples_pending",
                                 remote_name="sharded") or 0,
                          sum(metric(port, m, remote_name="single") or 0 for m in (
                              "lookout_remote_write_samples_total",
                              "lookout_remote_write_samples_pending"))))
        shards = metric(port, "lookout_remote_write_shards", remote_name="sharded")
        desired = metric(port, "lookout_remote_write_shards_desired", remote_name="sharded")
        sent = {n: metric(port, "lookout_remote_write_samples_total", remote_name=n)
                for n in proxies}
        pending = {n: metric(port, "lookout_remote_write_samples_pending", remote_name=n)
                   for n in proxies}
        failed = {n: metric(port, "lookout_remote_write_samples_failed_total", remote_name=n)
                  for n in proxies}
        # Samples a collection queues (the application's, the node's and lookout's own), from
        # what the control was given over the run.
        per_collection = ((trace[-1][3] - trace[0][3]) / (trace[-1][0] - trace[0][0]) *
                          INTERVAL)
        print(f"{per_collection:.0f} samples per collection; after {RUN} s: sharded endpoint "
              f"{shards:g} shards (peak {peak:g}, desired {desired:.2f}), "
              f"{proxies['sharded'][1].max_in_flight} requests in flight at most, "
              f"{sent['sharded']:g} sent, {pending['sharded']:g} pending; single endpoint "
              f"{sent['single']:g} sent, {pending['single']:g} pending")

        # 1. Shards follow the load; the control cannot keep up.
        if peak < 2 or proxies["sharded"][1].max_in_flight < 2:
            fail(f"the sharded endpoint never sent in parallel: peak {peak:g} shards, "
                 f"{proxies['sharded'][1].max_in_flight} in flight\n" + h.log(agent)[-3000:])
        if proxies["single"][1].max_in_flight != 1:
            fail(f"max_shards 1 sent {proxies['single'][1].max_in_flight} requests at once")
        # Keeping up: over the last DRAIN seconds the endpoint delivered at least 90% of what
        # came in (the control delivers about a quarter). The incoming rate is the control's:
        # both endpoints are given the same collections, and its queue frees at most 8 requests
        # at a time. Delivered samples count request by request, so that rate is smooth; the
        # sharded endpoint's pending count is not: a memory queue frees a batch (up to 8
        # requests per shard, about 2.7 collections here) only when all of it is done, so it
        # swings by that much within seconds and a single reading of it proves nothing. Its mean
        # over the last 20 s must stay under 10 collections: the batch in flight plus what
        # arrives while it is sent, a few collections when the count fits.
        t0, sent0, _, given0 = next(x for x in trace if x[0] >= RUN - DRAIN)
        t1, sent1, _, given1 = trace[-1]
        drained = (sent1 - sent0) / max(given1 - given0, 1)
        recent = [x[2] for x in trace if x[0] >= RUN - 20]
        mean_pending = sum(recent) / len(recent)
        print(f"sharded endpoint: delivered {drained:.1%} of the incoming rate over the last "
              f"{t1 - t0:.0f} s; {mean_pending:.0f} samples pending on average over the last "
              f"20 s ({mean_pending / per_collection:.1f} collections)")
        if drained < 0.9 or mean_pending > 10 * per_collection:
            fail(f"the sharded endpoint fell behind: it delivered {drained:.1%} of the incoming "
                 f"rate, {mean_pending:.0f} samples pending on average")
        if pending["single"] < 3 * mean_pending + 5 * per_collection:
            fail(f"the control kept up ({pending['single']:g} pending): the load does not need "
                 "shards, so this test proves nothing")
        if "remote write resharding" not in h.log(agent):
            fail("no resharding logged")

        # 2. Nothing refused, every scrape stored in order.
        if failed["sharded"] or failed["single"] or receiver_refusals(recv_port):
            fail(f"samples refused: lookout counted {failed}, the receiver answered "
                 f"{receiver_refusals(recv_port):g} writes with a 4xx")
        end = time.time() - 5
        for i in (0, SERIES // 2, SERIES - 1):
            got = raw_samples(recv_port, f'load_total{{i="{i}",endpoint="sharded"}}',
                              start, end)
            steps = [b[1] - a[1] for a, b in zip(got, got[1:])]
            if len(got) < RUN / SCRAPE / 2 or any(s != 1 for s in steps):
                fail(f'load_total{{i="{i}"}}: {len(got)} samples, steps {steps}')
        print(f"receiver: 0 writes refused; load_total holds every scrape in order "
              f"({len(got)} samples per series over {end - start:.0f} s)")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
