"""The trace tests' peers from tests/peers: the stand-in Jaeger (fake_jaeger.js, a real
@grpc/grpc-js server and an HTTP server with their own protobuf reader) and the OpenTelemetry JS
SDK app that sends spans. Shared by integration.traces and integration.e2e."""
import json
import os
import shutil
import subprocess
import time
import urllib.request

from harness import REPO, fail, free_port, http_get, wait_http

PEERS = os.path.join(REPO, "tests", "peers")
NODE = shutil.which("node")


class Jaeger:
    def __init__(self, h):
        self.grpc, self.http, self.control = free_port(), free_port(), free_port()
        self.proc = h.start([NODE, os.path.join(PEERS, "fake_jaeger.js"), str(self.grpc),
                             str(self.http), str(self.control)], "fake_jaeger")
        wait_http(f"http://127.0.0.1:{self.control}/spans?summary=1", proc=self.proc)

    def mode(self, m, ms=0):
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}/mode?m={m}&ms={ms}",
                                     method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def spans(self, summary=False):
        _, _, body = http_get(f"http://127.0.0.1:{self.control}/spans" +
                              ("?summary=1" if summary else ""), timeout=30)
        return json.loads(body)

    def wait_unique(self, n, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.spans(summary=True)
            if s["unique"] >= n:
                return s
            time.sleep(0.3)
        return self.spans(summary=True)


def send(protocol, endpoint, service, count, errors_every=0, spread_ms=0):
    r = subprocess.run([NODE, os.path.join(PEERS, "otel_trace_app.js"), protocol, endpoint, service,
                        str(count), str(errors_every), str(spread_ms)],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        fail(f"otel_trace_app {protocol} failed: {r.stderr[-2000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out["failed"]:
        fail(f"{service}: the SDK saw {out['failed']} spans fail to export to lookout")
    return out
