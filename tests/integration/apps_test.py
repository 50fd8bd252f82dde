"""Application metrics end to end: lookout scrapes real instrumented apps (prom-client on Node.js
and python3-prometheus-client) and re-exposes their series with target labels; every value
equals what the app itself serves. Faulty targets (down, slow, huge, garbage, redirect loop,
HTTP 500) get up 0 with the right reason while the rest is unaffected; a target that goes away
takes its series with it.

Usage: apps_test.py /path/to/lookout
"""
import math
import os
import shutil
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, Harness, fail, free_port, http_get, promtool_findings, wait_http  # noqa: E402

from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families as om_families  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_families  # noqa: E402

PEERS = os.path.join(REPO, "tests", "peers")
OM = "application/openmetrics-text; version=1.0.0"
TARGET_LABELS = {"job", "instance"}


class Faulty(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(5)
            body = b"late 1\n"
        elif self.path == "/huge":
            body = b"".join(b"big{i=\"%d\"} 1\n" % i for i in range(20000))
        elif self.path == "/garbage":
            # Not "\x00...": Prometheus's text lexer takes a NUL at a line start for the end of
            # the input (an empty, successful scrape), and lookout now does the same.
            body = b"{{{ not metrics }}}\x00\xff\n"
        elif self.path == "/500":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        else:
            body = b"# HELP fine A healthy target.\n# TYPE fine gauge\nfine 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


def series(families, job=None, prefix=""):
    """{(name, labels minus job/instance): value} for samples whose name starts with prefix."""
    out = {}
    for fam in families:
        for s in fam.samples:
            if not s.name.startswith(prefix):
                continue
            if job is not None and s.labels.get("job") != job:
                continue
            labels = frozenset((k, v) for k, v in s.labels.items() if k not in TARGET_LABELS)
            out[(s.name, labels)] = s.value
    return out


def same(a, b):
    if a.keys() != b.keys():
        return False
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def diff(a, b):
    lines = [f"  only in app: {k}" for k in sorted(a.keys() - b.keys(), key=str)[:10]]
    lines += [f"  only in lookout: {k}" for k in sorted(b.keys() - a.keys(), key=str)[:10]]
    lines += [f"  {k}: app {a[k]} lookout {b[k]}" for k in a.keys() & b.keys()
              if not ((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k])][:10]
    return "\n".join(lines)


def scrape(port, accept=None):
    headers = {"Accept": accept} if accept else {}
    _, h, body = http_get(f"http://127.0.0.1:{port}/metrics", headers)
    return h.get("Content-Type", ""), body.decode()


def up_and_reasons(text):
    up, reasons = {}, {}
    for fam in text_families(text):
        for s in fam.samples:
            if s.name == "lookout_scrape_target_up":
                up[s.labels["job"]] = s.value
            elif s.name == "lookout_scrape_target_failures_total":
                reasons.setdefault(s.labels["job"], set()).add(s.labels["reason"])
    return up, reasons


def main(lookout):
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(PEERS, "node_modules", "prom-client")):
        fail("node and tests/peers/node_modules are needed (scripts/install-deps.sh installs them)")
    with Harness() as h:
        js_port, py_port, faulty_port = free_port(), free_port(), free_port()
        js = h.start([node, os.path.join(PEERS, "prom_client_app.js"), str(js_port)], "prom_client")
        py = h.start([sys.executable, os.path.join(PEERS, "python_client_app.py"), str(py_port)],
                     "python_client")
        wait_http(f"http://127.0.0.1:{js_port}/metrics", proc=js)
        wait_http(f"http://127.0.0.1:{py_port}/metrics", proc=py)
        faulty = ThreadingHTTPServer(("127.0.0.1", faulty_port), Faulty)
        faulty.daemon_threads = True
        threading.Thread(target=faulty.serve_forever, daemon=True).start()
        down_port = free_port()

        f = f"http://127.0.0.1:{faulty_port}"
        targets = {
            "node-app": f"http://127.0.0.1:{js_port}/metrics",
            "python-app": f"http://127.0.0.1:{py_port}/metrics",
            "fine": f"{f}/fine",
            "slow": f"{f}/slow",
            "huge": f"{f}/huge",
            "garbage": f"{f}/garbage",
            "http500": f"{f}/500",
            "redirect": f"http://127.0.0.1:{js_port}/redirect-loop",
            "down": f"http://127.0.0.1:{down_port}/metrics",
        }
        cfg = h.path("lookout.yaml")
        with open(cfg, "w") as out:
            out.write("kubernetes: {mode: off}\n"
                      "apps:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
                      "  max_concurrent_scrapes: 3\n  limits: {max_body_bytes: 65536}\n"
                      "  static_targets:\n")
            for job, url in targets.items():
                timeout = "1s" if job == "slow" else "2s"
                out.write(f"  - {{url: \"{url}\", job: {job}, timeout: {timeout}}}\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])

        # Wait until every target has been scraped at least once.
        deadline = time.time() + 60
        while True:
            _, text = scrape(port)
            up, reasons = up_and_reasons(text)
            settled = all(up.get(j) == 1 for j in ("node-app", "python-app", "fine")) and all(
                reasons.get(j) for j in targets if j not in ("node-app", "python-app", "fine"))
            if settled:
                break
            if time.time() > deadline:
                fail(f"targets did not settle: up={up} reasons={reasons}\n{h.log(agent)[-3000:]}")
            time.sleep(0.5)

        expected = {"slow": "timeout", "huge": "too_large", "garbage": "parse",
                    "http500": "http_500", "redirect": "redirect", "down": "connect"}
        for job, reason in expected.items():
            if up.get(job) != 0 or reason not in reasons.get(job, set()):
                fail(f"{job}: expected up 0 with reason {reason}, got up={up.get(job)} "
                     f"reasons={reasons.get(job)}")
        print(f"faults: {expected} all reported, good targets up")

        # prom-client (text format): the app's own series equal lookout's re-exposed ones.
        _, app_text = scrape(js_port)
        _, agent_text = scrape(port)
        want = series(text_families(app_text), prefix="shop_")
        got = series(text_families(agent_text), job="node-app", prefix="shop_")
        if len(want) < 20 or not same(want, got):
            fail(f"prom-client series differ ({len(want)} vs {len(got)}):\n{diff(want, got)}")
        print(f"prom-client: {len(want)} series equal")
        for fam in text_families(agent_text):
            for s in fam.samples:
                if s.labels.get("job") == "node-app" and s.name.startswith("shop_"):
                    if s.labels.get("instance") != f"127.0.0.1:{js_port}":
                        fail(f"instance label missing on {s}")

        # python client (OpenMetrics, negotiated by lookout): compare OpenMetrics to OpenMetrics,
        # which also runs lookout's whole OpenMetrics output through the python OM parser.
        ct, app_om = scrape(py_port, OM)
        if not ct.startswith("application/openmetrics-text"):
            fail(f"python app did not serve OpenMetrics: {ct}")
        ct, agent_om = scrape(port, OM)
        want = series(om_families(app_om), prefix="worker_")
        got = series(om_families(agent_om), job="python-app", prefix="worker_")
        if len(want) < 15 or not same(want, got):
            fail(f"python client series differ ({len(want)} vs {len(got)}):\n{diff(want, got)}")
        print(f"python-prometheus-client: {len(want)} series equal (OpenMetrics)")

        # promtool accepts the re-exposed output.
        # node_exporter's names keep its lints on purpose; any other finding (a parse error, a
        # duplicate, a lint on a re-exposed family) fails.
        errors = promtool_findings(agent_text)
        if errors:
            fail("promtool check metrics:\n" + "\n".join(errors[:20]))

        # The python app goes away: its series vanish, up goes 0, others stay.
        py.terminate()
        py.wait()
        deadline = time.time() + 30
        while True:
            _, text = scrape(port)
            up, reasons = up_and_reasons(text)
            gone = not any(k[0].startswith("worker_")
                           for k in series(text_families(text), job="python-app"))
            if up.get("python-app") == 0 and gone and up.get("node-app") == 1:
                break
            if time.time() > deadline:
                fail(f"python-app series did not vanish: up={up}")
            time.sleep(0.5)
        print("vanished target: series gone, up 0, other targets unaffected")
        faulty.shutdown()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
