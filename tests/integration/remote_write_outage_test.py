"""Remote write through outages, against a real receiver (Prometheus 2.42 with
--web.enable-remote-write-receiver), with lookout's WAL on:

  1. the receiver is stopped for 30 s while lookout keeps collecting every second;
  2. in the middle of that outage lookout is killed with SIGKILL (requests in its WAL) and
     started again on the same WAL;
  3. the receiver comes back on the same port and storage.

Then the receiver must hold every sample: lookout_build_info (stamped with each collection's
time) with no gap longer than an interval except across the restart, and there no longer than
the downtime plus an interval; and the application's counter, which counts lookout's scrapes,
rising by exactly 1 from one stored sample to the next (every scrape arrived) except at most one
scrape lost to the SIGKILL (scraped after the last collection, never queued). Last, the
application stops: the stale marker lookout sends must end its series at the receiver within
seconds (without it the receiver would show the last value for 5 minutes).

Usage: remote_write_outage_test.py /path/to/lookout
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, fail, free_port, http_get, prom_query, wait_for, wait_http  # noqa: E402

INTERVAL = 1.0  # remote_write.interval
SCRAPE = 2.0    # the application's scrape interval: each scrape is collected at least once


class Ticker(BaseHTTPRequestHandler):
    """Counts its scrapes: app_scrapes_total is 1 at the first GET, 2 at the second..."""
    scrapes = 0
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def do_GET(self):
        with Ticker.lock:
            Ticker.scrapes += 1
            n = Ticker.scrapes
        body = f"# TYPE app_scrapes_total counter\napp_scrapes_total {n}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_receiver(h, port):
    cfg = h.path("receiver.yml")
    with open(cfg, "w") as f:
        f.write("global: {scrape_interval: 15s}\n")
    p = h.start(["/usr/bin/prometheus", f"--config.file={cfg}",
                 f"--storage.tsdb.path={h.path('receiver-tsdb')}",
                 f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
                "receiver")
    wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, proc=p)
    return p


def raw_samples(prom_port, selector, since, until):
    """Every stored sample of the one series `selector` names between `since` and `until`, as
    [(unix seconds, value)], through a range-vector selector."""
    window = int(until - since) + 1
    got = prom_query(prom_port, f"{selector}[{window}s]", time=until)
    if len(got) != 1:
        fail(f"{selector}: {len(got)} series in the receiver: {got}")
    return [(float(t), float(v)) for t, v in got[0]["values"]]


def gaps(samples):
    return [(b[0] - a[0], a[0], b[0]) for a, b in zip(samples, samples[1:])]


def metric(port, name, **labels):
    text = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.split()[-1])
    return None


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        app = ThreadingHTTPServer(("127.0.0.1", free_port()), Ticker)
        threading.Thread(target=app.serve_forever, daemon=True).start()
        recv_port = free_port()
        receiver = start_receiver(h, recv_port)
        cfg = h.path("lookout.yaml")
        config = {
            "kubernetes": {"mode": "off"},
            "apps": {"scrape_interval": f"{SCRAPE:g}s", "scrape_timeout": "1s",
                     "static_targets": [{"url": f"http://127.0.0.1:{app.server_port}/metrics",
                                         "job": "ticker"}]},
            "remote_write": {
                "interval": f"{INTERVAL:g}s",
                "wal": {"enabled": True, "directory": h.path("wal"), "fsync": "never"},
                "endpoints": [{"url": f"http://127.0.0.1:{recv_port}/api/v1/write",
                               "name": "receiver",
                               "queue_config": {"min_backoff": "100ms", "max_backoff": "1s"}}]},
        }
        with open(cfg, "w") as f:
            for k, v in config.items():
                f.write(f"{k}: {json.dumps(v)}\n")
        argv = ["--config", cfg]
        agent, lookout_port = h.start_lookout(lookout, argv)
        wait_for("the receiver to hold the application's counter", lambda: prom_query(
            recv_port, 'app_scrapes_total{job="ticker"}'), timeout=60)
        time.sleep(3)
        start = time.time() - 2

        # 1. The receiver goes away for 30 s (stopped cleanly: its own WAL keeps what it took).
        outage = time.time()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)
        time.sleep(15)
        pending = metric(lookout_port, "lookout_remote_write_samples_pending")
        wal = metric(lookout_port, "lookout_remote_write_queue_bytes")
        if not pending or not wal:
            fail(f"nothing queued during the outage: pending {pending}, queue bytes {wal}")
        print(f"outage: {pending:g} samples pending, {wal:g} bytes in the WAL after 15 s")

        # 2. SIGKILL with requests in the WAL; start again on it.
        killed = time.time()
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=30)
        agent, lookout_port = h.start_lookout(lookout, argv, name="lookout-restarted")
        downtime = time.time() - killed
        if "recovered_samples" not in h.log(agent):
            fail("the restarted agent logged no WAL recovery:\n" + h.log(agent)[-2000:])
        time.sleep(max(0.0, 30 - (time.time() - outage)))

        # 3. The receiver comes back on the same port and storage.
        receiver = start_receiver(h, recv_port)
        back = time.time()
        wait_for("the WAL to drain", lambda: metric(
            lookout_port, "lookout_remote_write_samples_pending") == 0, timeout=120)
        print(f"receiver back: the WAL drained in {time.time() - back:.1f} s")
        time.sleep(2 * SCRAPE)
        end = time.time() - SCRAPE

        own = raw_samples(recv_port, 'lookout_build_info{job!="ticker"}', start, end)
        bad = [g for g in gaps(own) if g[0] > INTERVAL * 1.6 and not (
            g[1] <= killed + 0.5 and g[2] >= killed and g[0] <= downtime + INTERVAL * 1.6)]
        if bad:
            fail(f"lookout_build_info has gaps (s, from, to): {bad}; SIGKILL at {killed:.1f}, "
                 f"down {downtime:.1f} s")
        restart_gap = max(g[0] for g in gaps(own))
        print(f"lookout_build_info: {len(own)} samples over {end - start:.0f} s (a 30 s receiver "
              f"outage); longest gap {restart_gap:.1f} s; down "
              f"{downtime:.1f} s after the SIGKILL")

        app_samples = raw_samples(recv_port, 'app_scrapes_total{job="ticker"}', start, end)
        steps = [b[1] - a[1] for a, b in zip(app_samples, app_samples[1:])]
        skipped = [(a, b) for a, b in zip(app_samples, app_samples[1:]) if b[1] - a[1] != 1]
        lost = sum(b[1] - a[1] - 1 for a, b in skipped)
        if any(s < 1 for s in steps) or lost > 1 or any(
                not (a[0] <= killed + 0.5 and b[0] >= killed) for a, b in skipped):
            fail(f"application scrapes missing from the receiver: {skipped}; SIGKILL at "
                 f"{killed:.1f}")
        print(f"app_scrapes_total: {len(app_samples)} scrapes stored in a row; {lost:g} lost, "
              "scraped between the last collection and the SIGKILL")

        # 4. The application goes away: its series leave /metrics, and the stale marker lookout
        # sends ends them at the receiver at once, not after Prometheus's 5 m lookback.
        app.shutdown()
        app.server_close()
        gone = time.time()
        wait_for("the receiver to end the application's series (a stale marker)", lambda: not
                 prom_query(recv_port, 'app_scrapes_total{job="ticker"}'), timeout=60)
        print(f"application stopped: its series ended at the receiver {time.time() - gone:.1f} s "
              "later (stale marker)")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
