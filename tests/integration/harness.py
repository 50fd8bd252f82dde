"""Process harness for integration tests: free ports, start real processes, always clean up.

Every process started through Harness is killed (SIGTERM, then SIGKILL) when the `with` block
ends, even when an assertion fails, so no test leaves a server running.
"""
import mmap
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures")


# promtool's linter findings on node_exporter's own names, kept on purpose (dashboards query
# them) and found in node_exporter's own output too (exposition_test.py checks that): camelCase
# in node_memory_* / node_netstat_* names, and the unit "bits" of node_entropy_*_bits.
NODE_EXPORTER_LINTS = (
    re.compile(r"^node_\S+ metric names should be written in 'snake_case' not 'camelCase'$"),
    re.compile(r'^node_entropy_(available|pool_size)_bits use base unit "bytes" instead of "bits"$'),
)


def promtool_findings(body):
    """`promtool check metrics` on a text exposition: every line it prints except the
    node_exporter-name lints above (a parse error, a duplicate or any other lint stays)."""
    if isinstance(body, str):
        body = body.encode()
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    lines = (r.stdout + r.stderr).decode().splitlines()
    return [l for l in lines if l.strip() and not any(p.match(l) for p in NODE_EXPORTER_LINTS)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def wait_http(url, timeout=30, proc=None):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            status, _, _ = http_get(url, timeout=2)
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


class Harness:
    def __init__(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory(prefix="lookout-it-")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.tmp.cleanup()
        return False

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def start(self, argv, name):
        log = open(self.path(name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        p.log_path = log.name
        self.procs.append(p)
        return p

    def log(self, proc):
        with open(proc.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def start_lookout(self, lookout, extra=(), name="lookout"):
        """Starts lookout on free loopback ports: /metrics (returned) and the OTLP receivers
        (p.otlp_http_port, p.otlp_grpc_port), unless `extra` sets them itself."""
        port = free_port()
        argv = [lookout, f"--web.listen-address=127.0.0.1:{port}"]
        otlp = {}
        for kind in ("http", "grpc"):
            flag = f"--otlp.{kind}.listen-address"
            if not any(a.startswith(flag) for a in extra):
                otlp[kind] = free_port()
                argv.append(f"{flag}=127.0.0.1:{otlp[kind]}")
        p = self.start(argv + list(extra), name)
        p.otlp_http_port, p.otlp_grpc_port = otlp.get("http"), otlp.get("grpc")
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=p)
        return p, port

    def start_prometheus(self, config, name="prometheus", flags=()):
        """Starts a real Prometheus with `config` (prometheus.yml text) and extra `flags` on a
        free loopback port; returns (process, port) once it is ready."""
        port = free_port()
        cfg = self.path(name + ".yml")
        with open(cfg, "w") as f:
            f.write(config)
        p = self.start(["/usr/bin/prometheus", f"--config.file={cfg}",
                        f"--storage.tsdb.path={self.path(name + '-tsdb')}",
                        f"--web.listen-address=127.0.0.1:{port}"] + list(flags), name)
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, proc=p)
        return p, port

    def start_prometheus_scraping(self, port, job="lookout", interval="1s"):
        """A real Prometheus scraping 127.0.0.1:`port` as `job` every `interval` (the timeout
        too); returns (process, port) once the target is up, failing the test after 60 s."""
        p, prom = self.start_prometheus(f"""global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ["127.0.0.1:{port}"]
""")
        deadline = time.time() + 60
        up = []
        while time.time() < deadline:
            up = prom_query(prom, f'up{{job="{job}"}}')
            if up and up[0]["value"][1] == "1":
                return p, prom
            time.sleep(0.5)
        targets = http_get(f"http://127.0.0.1:{prom}/api/v1/targets")[2].decode()
        fail(f"target never up: {up}\n{targets}\n{self.log(p)[-3000:]}")

    def start_node_exporter(self, collectors, flags=(), name="node_exporter"):
        exe = "/usr/bin/prometheus-node-exporter"
        port = free_port()
        argv = [exe, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults"]
        argv += [f"--collector.{c}" for c in collectors] + list(flags)
        p = self.start(argv, name)
        wait_http(f"http://127.0.0.1:{port}/metrics", proc=p)
        return p, port


def prom_query(port, expr, time=None, timeout=10):
    """A PromQL instant query against Prometheus on `port` (at `time`, unix seconds, if given);
    returns the result vector. A failed query fails the test; `timeout` is the client's, in s."""
    import json
    import urllib.parse
    params = {"query": expr}
    if time is not None:
        params["time"] = time
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(params)
    data = json.loads(http_get(url, timeout=timeout)[2])
    if data.get("status") != "success":
        fail(f"query {expr}: {data}")
    return data["data"]["result"]


def parse_text(body):
    """Parses Prometheus text format into {(name, frozenset(labels)): value} with the
    python3-prometheus-client parser (an independent implementation)."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    types = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
            types[s.name] = fam.type
    return out, types


def wait_for(what, fn, timeout=30):
    """Polls fn() until it returns something true (returned); fails the test after timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    fail(f"timed out waiting for {what}: {last}")


def scrape(port):
    """lookout's /metrics on `port`, parsed: {(name, frozenset(labels)): value}."""
    return parse_text(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())[0]


def sample_sum(samples, name, **labels):
    """Sum of the series of `name` (in parse_text's result) whose labels include `labels`;
    None when there is none."""
    total = None
    for (n, ls), v in samples.items():
        d = dict(ls)
        if n == name and all(d.get(k) == want for k, want in labels.items()):
            total = (total or 0) + v
    return total


def sanitized(pid):
    """ASan builds keep freed memory in quarantine and shadow it: their RSS says nothing about
    the release build's, so the RSS bounds are checked on release builds only. GCC links the
    sanitizer runtimes as shared libraries; clang links them into the binary."""
    with open(f"/proc/{pid}/maps") as f:
        if any("libasan" in line or "libtsan" in line for line in f):
            return True
    with open(f"/proc/{pid}/exe", "rb") as exe, \
            mmap.mmap(exe.fileno(), 0, access=mmap.ACCESS_READ) as image:
        return image.find(b"__asan_init") >= 0 or image.find(b"__tsan_init") >= 0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def serve_body(body, content_type="text/plain; version=0.0.4"):
    """An application on a free loopback port answering every GET with `body` (str);
    returns (server, port). server.shutdown() stops it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    data = body.encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port
