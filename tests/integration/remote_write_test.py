"""Remote write against a real receiver: lookout scrapes an application and pushes what its
/metrics serves to a Prometheus 2.42 started with --web.enable-remote-write-receiver (and
exemplar storage). The receiver must hold the application's series with the values lookout
serves, the endpoint's external_labels added, the series write_relabel_configs drops absent,
and the application's exemplar. A second endpoint answering 400 gets its batches dropped and
counted, never retried forever; endpoints answering 200 with a 2 MiB body or a body cut short
deliver (the status decides), without retries.

Usage: remote_write_test.py /path/to/lookout
"""
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Harness, fail, free_port, http_get, parse_text, prom_query,  # noqa: E402
                     serve_body, wait_for)

BODY = """# TYPE app_requests counter
app_requests_total{code="200",route="/pay"} 1027 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1 1700000000.5
app_requests_total{code="500",route="/pay"} 3
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{route="/pay",le="0.1"} 3
app_latency_seconds_bucket{route="/pay",le="+Inf"} 9
app_latency_seconds_sum{route="/pay"} 2.5
app_latency_seconds_count{route="/pay"} 9
# TYPE app_inflight gauge
app_inflight 4
# EOF
"""


class Refuser(BaseHTTPRequestHandler):
    requests = 0

    def log_message(self, *a):
        pass

    def do_POST(self):
        Refuser.requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"out of order sample"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class OddSuccess(BaseHTTPRequestHandler):
    """Answers 200 with a 2 MiB body (path /big) or with a body cut short (/cut): the status
    decides, as in Prometheus, so both deliver."""
    requests = {"/big": 0, "/cut": 0}

    def log_message(self, *a):
        pass

    def do_POST(self):
        OddSuccess.requests[self.path] += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"x" * (2 << 20) if self.path == "/big" else b"accepted"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if self.path == "/big" else 1000))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def serve(handler):
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        app, app_port = serve_body(BODY, "application/openmetrics-text; version=1.0.0")
        refuser, refuser_port = serve(Refuser)
        odd, odd_port = serve(OddSuccess)
        prom, prom_port = h.start_prometheus(
            "global: {scrape_interval: 15s}\n",
            flags=["--web.enable-remote-write-receiver", "--enable-feature=exemplar-storage"])

        cfg = h.path("lookout.yaml")
        config = {
            "apps": {"scrape_interval": "1s", "scrape_timeout": "1s", "static_targets": [
                {"url": f"http://127.0.0.1:{app_port}/metrics", "job": "app"}]},
            "remote_write": {"interval": "2s", "endpoints": [
                {"url": f"http://127.0.0.1:{prom_port}/api/v1/write", "name": "prom",
                 "external_labels": {"cluster": "it"}, "send_exemplars": True,
                 "write_relabel_configs": [
                     {"source_labels": ["__name__"], "regex": "node_cpu_.*", "action": "drop"}]},
                {"url": f"http://127.0.0.1:{refuser_port}/write", "name": "refuser",
                 "queue_config": {"max_samples_per_send": 100000}},
                {"url": f"http://127.0.0.1:{odd_port}/big", "name": "big",
                 "queue_config": {"max_samples_per_send": 100000}},
                {"url": f"http://127.0.0.1:{odd_port}/cut", "name": "cut",
                 "queue_config": {"max_samples_per_send": 100000}},
            ]},
        }
        with open(cfg, "w") as f:
            f.write("kubernetes: {mode: off}\n")
            for k, v in config.items():
                f.write(f"{k}: {json.dumps(v)}\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])

        wait_for("the receiver to hold the application's series", lambda: len(prom_query(
            prom_port, 'app_requests_total{cluster="it"}')) == 2, timeout=60)
        time.sleep(3)  # a couple more pushes

        served, _ = parse_text(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())
        app_series = {k: v for k, v in served.items()
                      if k[0].startswith("app_") and dict(k[1]).get("job") == "app"}
        if len(app_series) != 7:
            fail(f"lookout serves {len(app_series)} app series: {app_series}")
        bad = []
        for (name, labels), value in sorted(app_series.items()):
            sel = ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + ',cluster="it"'
            got = prom_query(prom_port, f"{name}{{{sel}}}")
            if len(got) != 1 or float(got[0]["value"][1]) != value:
                bad.append(f"{name}{{{sel}}}: served {value}, receiver has {got}")
        if bad:
            fail("the receiver differs from /metrics:\n  " + "\n  ".join(bad))
        print(f"receiver: {len(app_series)} application series equal to /metrics, with cluster=it")

        # Series lookout serves of its own reach the receiver too; the dropped ones do not.
        if not prom_query(prom_port, 'lookout_build_info{cluster="it"}'):
            fail("lookout_build_info did not reach the receiver")
        if not prom_query(prom_port, 'node_load1{cluster="it"}'):
            fail("node_load1 did not reach the receiver")
        # The target labels a scrape would add: job, and instance = the node (here the host).
        host = socket.gethostname()
        if not prom_query(prom_port, f'node_load1{{job="lookout",instance="{host}"}}'):
            fail(f"node_load1 lacks job=lookout / instance={host}: "
                 f"{prom_query(prom_port, 'node_load1')}")
        if prom_query(prom_port, 'app_inflight{job="lookout"}'):
            fail("an application series lost its own job to remote_write.job")
        if prom_query(prom_port, 'count({__name__=~"node_cpu_.*"})'):
            fail("write_relabel_configs did not drop node_cpu_*")
        print("receiver: lookout_build_info and node_load1 arrived; node_cpu_* dropped by "
              "write_relabel_configs")

        ex = json.loads(http_get(
            f"http://127.0.0.1:{prom_port}/api/v1/query_exemplars?query=app_requests_total"
            f"&start=1600000000&end={time.time() + 60}")[2])
        trace_ids = {e["labels"].get("trace_id") for s in ex["data"] for e in s["exemplars"]}
        if "4bf92f3577b34da6a3ce929d0e0e4736" not in trace_ids:
            fail(f"the exemplar did not arrive: {ex}")
        print("receiver: the application's exemplar arrived (send_exemplars)")

        text = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
        dropped = [l for l in text.splitlines() if l.startswith(
            "lookout_remote_write_samples_dropped_total{") and 'remote_name="refuser"' in l
            and 'reason="http_400"' in l]
        sent = [l for l in text.splitlines() if l.startswith(
            "lookout_remote_write_samples_total{") and 'remote_name="prom"' in l]
        if not dropped or float(dropped[0].split()[-1]) <= 0:
            fail(f"400s not counted as dropped: {dropped}")
        pushes = Refuser.requests
        time.sleep(3)
        # One request per 2 s collection (each fits one batch), not a retry loop.
        if Refuser.requests - pushes > 3:
            fail(f"the refused endpoint got {Refuser.requests - pushes} requests in 3 s")
        if not sent or float(sent[0].split()[-1]) <= 0:
            fail(f"nothing counted as sent: {sent}")
        print(f"refusing endpoint: {dropped[0]}; {Refuser.requests - pushes} requests in 3 s")

        # A 200 with a 2 MiB body, or with a body cut short, delivers: not retried, not dropped.
        for name in ("big", "cut"):
            def value(family):
                for l in text.splitlines():
                    if l.startswith(family + "{") and f'remote_name="{name}"' in l:
                        return float(l.split()[-1])
                return None
            sent_odd, retried = (value("lookout_remote_write_samples_total"),
                                 value("lookout_remote_write_samples_retried_total"))
            requests = OddSuccess.requests["/" + name]
            if not sent_odd or retried != 0 or requests > Refuser.requests + 2:
                fail(f"a 200 with an odd body ({name}): sent {sent_odd}, retried {retried}, "
                     f"{requests} requests")
            print(f"200 with a {'2 MiB' if name == 'big' else 'cut-short'} body: {sent_odd:g} "
                  f"samples counted sent, none retried, {requests} requests")
        odd.shutdown()
        app.shutdown()
        refuser.shutdown()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
