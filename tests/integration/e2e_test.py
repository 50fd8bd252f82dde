#!/usr/bin/env python3
"""End to end on loopback, every piece real: lookout (node metrics from this host, pod metrics
from a fixture cgroup tree labelled by a test kubelet, a python3-prometheus-client app with
payments and an API latency histogram, spans from the OpenTelemetry JS SDK forwarded to a
stand-in Jaeger, the SLO engine on alerts/slos), a real Prometheus scraping it and loading every
rule file of alerts/, and a real Alertmanager with alerts/alertmanager.example.yml's routing,
delivering to webhook receivers in this test.

  1. healthy traffic: no alert reaches Alertmanager;
  2. the backend rejects some spans (partial success), a sender sends invalid spans, the
     kubelet fails for a moment, and one scrape target has nothing listening: the
     LookoutSpansDropped ticket reaches the `tickets` receiver;
  3. incident: the checkout service fails half of its requests for a moment; the
     checkout-availability SLO burns fast: LookoutSLOErrorBudgetBurn{severity="page"} reaches
     the `pager` receiver with the SLO's labels, and its ticket twin is inhibited;
  4. recovery: healthy traffic dilutes the burst; the page resolves at the `pager` receiver;
  5. every query of every dashboard in dashboards/ (Grafana's variables expanded, as in
     integration.dashboards) returns data from this Prometheus, every metric name they use
     exists there, every variable's label_values() query finds values, and the latency panels'
     exemplars carry trace IDs (what Grafana links to Jaeger).

Test-time clocks only: Prometheus evaluates every rule group each second (the 5m interval of the
30-day groups is dropped) and Alertmanager groups for 1s instead of 10s-5m; the rule expressions,
labels, routes, matchers and inhibitions are the committed ones. Time is compressed by volume:
the windows of the SLO rules cover the whole test, so recovery is a burst of good requests.
Usage: e2e_test.py /path/to/lookout
"""
import glob
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request

import yaml

import dashboards as dash
from harness import (FIXTURES, REPO, Harness, fail, free_port, http_get, prom_query, sample_sum,
                     scrape, wait_for, wait_http)
from kubelet import TestKubelet
from otel_peers import NODE, PEERS, Jaeger, send
from protowire import field, kv

FX = os.path.join(FIXTURES, "pods", "v2_systemd_containerd")
SLO_LABELS = {"alertname": "LookoutSLOErrorBudgetBurn", "slo": "checkout-availability",
              "service": "checkout", "severity": "page", "team": "payments"}


class Webhooks:
    """Alertmanager's webhook receivers: records every notification by receiver (URL path)."""

    def __init__(self):
        self.got = []  # (time, receiver, payload)
        self.lock = threading.Lock()
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hooks.lock:
                    hooks.got.append((time.time(), self.path.strip("/"), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, receiver=None, status=None, **labels):
        """[(time, alert)] of notified alerts matching the receiver, status and labels."""
        with self.lock:
            got = list(self.got)
        return [(t, a) for t, r, p in got for a in p["alerts"]
                if (receiver is None or r == receiver) and (status is None or a["status"] == status)
                and all(a["labels"].get(k) == v for k, v in labels.items())]

    def wait(self, what, timeout, **match):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.alerts(**match)
            if found:
                return found
            time.sleep(0.2)
        with self.lock:
            seen = [(r, a["status"], a["labels"].get("alertname")) for _, r, p in self.got
                    for a in p["alerts"]]
        fail(f"Alertmanager never notified {what} within {timeout}s; notifications: {seen}")


def start_app(h):
    """The instrumented app: payments (no errors: a healthy system) and API request latency."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
    reg = CollectorRegistry()
    pay = {n: Counter(f"payment_{n}", f"Payments: {n}.", ["provider", "method"], registry=reg)
           for n in ("attempts", "success", "declines", "errors")}
    latency = Histogram("http_request_duration_seconds", "API request duration.", ["route"],
                        buckets=(0.05, 0.1, 0.3, 1), registry=reg)
    port = free_port()
    start_http_server(port, addr="127.0.0.1", registry=reg)
    stop = threading.Event()

    def traffic():
        tick = 0
        while not stop.is_set():
            tick += 1
            for provider, method, attempts, declined in (("stripe", "card", 5, tick % 4 == 0),
                                                         ("adyen", "wallet", 2, False)):
                pay["attempts"].labels(provider, method).inc(attempts)
                pay["success"].labels(provider, method).inc(attempts - declined)
                pay["declines"].labels(provider, method).inc(int(declined))
                pay["errors"].labels(provider, method).inc(0)
            for i in range(10):
                latency.labels("/api/items").observe(0.02 + 0.01 * (i % 5))
            stop.wait(0.1)

    threading.Thread(target=traffic, daemon=True).start()
    return port, stop


def invalid_spans(port):
    """An OTLP/HTTP request whose only span has a 5-byte trace ID: refused with partial_success."""
    span = field(1, b"short") + field(2, bytes(range(1, 9))) + field(5, b"GET /bad")
    scope = field(2, span)
    body = field(1, field(1, field(1, kv("service.name", "broken-sender"))) + field(2, scope))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/traces", data=body, method="POST",
                                 headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def rules_for_test(h):
    """alerts/*.rules.yml with each group's own `interval` dropped: the test's 1s clock."""
    paths = []
    for path in sorted(glob.glob(os.path.join(REPO, "alerts", "*.rules.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for g in doc["groups"]:
            g.pop("interval", None)
        out = h.path(os.path.basename(path))
        with open(out, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        paths.append(out)
    return paths


def alertmanager_config(h, hooks):
    """alerts/alertmanager.example.yml with local webhook URLs and second-scale grouping."""
    with open(os.path.join(REPO, "alerts", "alertmanager.example.yml")) as f:
        cfg = yaml.safe_load(f)
    routes = [cfg["route"]] + cfg["route"].get("routes", [])
    for r in routes:
        r["group_wait"], r["group_interval"] = "1s", "1s"
        r.setdefault("repeat_interval", "1h")
    for rcv in cfg["receivers"]:
        for w in rcv.get("webhook_configs", []):
            w["url"] = f"http://127.0.0.1:{hooks.port}/{rcv['name']}"
    path = h.path("alertmanager.yml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    return path


def start_alertmanager(h, config):
    port = free_port()
    p = h.start(["/usr/bin/prometheus-alertmanager", f"--config.file={config}",
                 f"--storage.path={h.path('am-data')}", f"--web.listen-address=127.0.0.1:{port}",
                 "--cluster.listen-address="], "alertmanager")
    wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, proc=p)
    return p, port


def am_alerts(port):
    _, _, body = http_get(f"http://127.0.0.1:{port}/api/v2/alerts")
    return json.loads(body)


def prom_range(port, expr, start, end, step=2):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    data = json.loads(http_get(f"http://127.0.0.1:{port}/api/v1/query_range?{params}")[2])
    if data.get("status") != "success":
        return None, data.get("error")
    return data["data"]["result"], None


def check_dashboards(prom, start):
    """Step 5: every dashboard query returns data; names and variables exist."""
    end = time.time()
    names = set(json.loads(http_get(f"http://127.0.0.1:{prom}/api/v1/label/__name__/values")[2])["data"])
    empty, errors, unknown, checked, exemplars = [], [], set(), 0, 0
    for file, d in dash.load():
        for p in dash.panels(d):
            for t in p.get("targets", []):
                expr = dash.expand(t["expr"], d)
                unknown |= {n for n in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr)
                            if n not in names}
                if t.get("instant"):
                    result = prom_query(prom, expr)
                    err = None
                else:
                    result, err = prom_range(prom, expr, start, end)
                checked += 1
                if t.get("exemplar") and not err:
                    # What Grafana asks for exemplars: each must carry a trace to link to.
                    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end})
                    ex = json.loads(http_get(
                        f"http://127.0.0.1:{prom}/api/v1/query_exemplars?{params}")[2])["data"]
                    ids = [e["labels"].get("trace_id", "") for s in ex for e in s["exemplars"]]
                    if not ids or not all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids):
                        empty.append(f"{file}: {p['title']} {t['refId']}: exemplars {ids[:3]}")
                    exemplars += len(ids)
                if err:
                    errors.append(f"{file}: {p['title']} {t['refId']}: {err}")
                elif not result:
                    empty.append(f"{file}: {p['title']} {t['refId']}: {expr}")
        for v in dash.variables(d).values():
            if v["type"] != "query":
                continue
            sel, label = dash.variable_query(v)
            sel = dash.expand(sel, d)
            params = urllib.parse.urlencode({"match[]": sel, "start": start, "end": end})
            series = json.loads(http_get(f"http://127.0.0.1:{prom}/api/v1/series?{params}")[2])["data"]
            if not any(s.get(label) for s in series):
                empty.append(f"{file}: variable {v['name']}: no {label} values in {sel}")
            checked += 1
    if errors or empty or unknown:
        fail("dashboards against the real Prometheus:\n  " +
             "\n  ".join(errors + [f"no data: {e}" for e in empty] +
                         [f"unknown metric: {n}" for n in sorted(unknown)]))
    return checked, exemplars


def main(lookout):
    if NODE is None or not os.path.isdir(os.path.join(PEERS, "node_modules", "@opentelemetry")):
        fail("node and tests/peers/node_modules are needed (scripts/install-deps.sh installs them)")
    with Harness() as h:
        hooks = Webhooks()
        _, am = start_alertmanager(h, alertmanager_config(h, hooks))
        jaeger = Jaeger(h)
        app_port, app_stop = start_app(h)
        token = h.path("token")
        with open(token, "w") as f:
            f.write("e2e-token\n")
        kubelet = TestKubelet(h.tmp.name, os.path.join(FX, "pods.json"), "e2e-token")
        cfg = h.path("lookout.yaml")
        with open(cfg, "w") as f:
            f.write(f"""{kubelet.agent_config(token, "node-a")}
pods: {{cgroupfs: {os.path.join(FX, "cgroup")}}}
apps:
  scrape_interval: 1s
  scrape_timeout: 1s
  pods: {{enabled: false}}
  static_targets:
    - {{url: "http://127.0.0.1:{app_port}/metrics", job: api}}
    - {{url: "http://127.0.0.1:{free_port()}/metrics", job: gone}}  # nothing listens: failures
slo:
  specs: {os.path.join(REPO, "alerts", "slos")}
  tick: 1s
traces:
  export: {{protocol: grpc, endpoint: "127.0.0.1:{jaeger.grpc}", batch_timeout: 100ms,
            initial_backoff: 200ms, max_backoff: 1s}}
""")
        agent, port = h.start_lookout(lookout, ["--config", cfg])
        rule_files = rules_for_test(h)
        _, prom = h.start_prometheus(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: {json.dumps(rule_files)}
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am}"]}}]}}]
scrape_configs:
  - job_name: lookout       # as the ServiceMonitor: job lookout, app series keep their labels
    honor_labels: true
    static_configs: [{{targets: ["127.0.0.1:{port}"], labels: {{cluster: e2e, node: node-a}}}}]
""", flags=["--enable-feature=exemplar-storage"])
        start = time.time()
        http_ep = f"http://127.0.0.1:{agent.otlp_http_port}"
        grpc_ep = f"http://127.0.0.1:{agent.otlp_grpc_port}"
        wait_for("the agent to label pods from the kubelet",
                   lambda: sample_sum(scrape(port), "lookout_pod_info"))

        # 1. Healthy: steady checkout traffic without errors; nothing may reach Alertmanager.
        send("http-proto", http_ep, "checkout", 300, 0, 12000)
        wait_for("Prometheus to record checkout's SLO windows", lambda: prom_query(
            prom, 'lookout:slo_events:increase{slo="checkout-availability", window="5m"} > 0'))
        wait_for("Prometheus to record the payment ratios", lambda: prom_query(
            prom, 'lookout:payment_success_ratio{window="1h"}'))
        time.sleep(5)  # a few more evaluations of every rule
        firing = prom_query(prom, 'ALERTS{alertstate="firing"}')
        if firing or am_alerts(am) or hooks.alerts():
            fail("alerts while healthy: Prometheus " +
                 str([a["metric"] for a in firing]) + f", Alertmanager {am_alerts(am)}")
        print(f"e2e: healthy for {time.time() - start:.0f}s, no alert fired")

        # 2. Spans the backend rejects (dropped) and spans the agent refuses (invalid IDs).
        jaeger.mode("partial")
        send("grpc", grpc_ep, "cart", 50, 0)
        wait_for("dropped spans", lambda: sample_sum(scrape(port), "lookout_trace_spans_dropped_total"))
        jaeger.mode("ok")
        # ... and a kubelet that answers 500 for a moment: pod_metadata's errors are counted.
        kubelet.mode = "status:500"
        wait_for("pod_metadata errors", lambda: sample_sum(
            scrape(port), "lookout_collector_errors_total", collector="pod_metadata"))
        kubelet.mode = "ok"
        if invalid_spans(agent.otlp_http_port) != 200:
            fail("a request with one invalid span was not answered 200 with partial_success")
        t, dropped = hooks.wait("LookoutSpansDropped to the tickets receiver", 60,
                                receiver="tickets", status="firing",
                                alertname="LookoutSpansDropped")[0]
        if dropped["labels"].get("reason") != "rejected_by_backend":
            fail(f"LookoutSpansDropped labels {dropped['labels']}")
        print("e2e: LookoutSpansDropped (ticket) reached the tickets receiver, "
              f"reason {dropped['labels']['reason']}")

        # 3. Incident: half of 40 checkout requests fail (a burn far above 14.4x against 99.9%).
        incident = time.time()
        send("http-proto", http_ep, "checkout", 40, 2)
        t_page, page = hooks.wait("the SLO page", 60, receiver="pager", status="firing",
                                  **SLO_LABELS)[0]
        print(f"e2e: LookoutSLOErrorBudgetBurn page reached the pager {t_page - incident:.1f}s "
              f"after the incident began: {page['annotations']['summary']}")
        if not page["annotations"].get("runbook_url", "").endswith("#lookoutsloerrorbudgetburn"):
            fail(f"the page has no runbook link: {page['annotations']}")
        twin = dict(SLO_LABELS, severity="ticket")

        def ticket_state():
            for a in am_alerts(am):
                if all(a["labels"].get(k) == v for k, v in twin.items()):
                    return a["status"]
            return None
        # Alertmanager marks an alert once its group has been through the pipeline: until then
        # the state is "unprocessed", so wait for the verdict.
        deadline, state = time.time() + 30, None
        while time.time() < deadline:
            state = ticket_state()
            if state and state["state"] != "unprocessed":
                break
            time.sleep(0.2)
        if not state or state["state"] != "suppressed" or not state["inhibitedBy"]:
            fail(f"the SLO ticket is not inhibited by its page: {state}")
        if hooks.alerts(receiver="tickets", alertname="LookoutSLOErrorBudgetBurn"):
            fail("the SLO ticket reached the tickets receiver while its page fired")
        print("e2e: its ticket twin is inhibited by the page (Alertmanager: suppressed)")

        # 4. Recovery: 25,000 good requests bring every window below its threshold.
        recovery = time.time()
        for _ in range(5):  # the SDK's exporter refuses too many batches in flight at once
            send("http-proto", http_ep, "checkout", 5000, 0, 2000)
        t_res, _ = hooks.wait("the page's resolution", 90, receiver="pager", status="resolved",
                              **SLO_LABELS)[0]
        print(f"e2e: the page resolved at the pager {t_res - recovery:.1f}s after recovery began")
        wait_for("no active SLO alert at Alertmanager", lambda: not any(
            a["labels"].get("alertname") == "LookoutSLOErrorBudgetBurn" and
            a["status"]["state"] == "active" for a in am_alerts(am)), timeout=60)
        app_stop.set()

        # 5. The dashboards against what Prometheus holds now.
        checked, exemplars = check_dashboards(prom, start)
        print(f"e2e: {checked} dashboard queries and variables return data from Prometheus "
              f"after {time.time() - start:.0f}s of scraping; {exemplars} exemplars with trace IDs "
              "behind the latency panels")
        kubelet.stop()


if __name__ == "__main__":
    main(sys.argv[1])
