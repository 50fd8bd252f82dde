"""OTLP metrics end to end: the OpenTelemetry JS SDK pushes metrics to lookout over OTLP/HTTP
JSON, OTLP/HTTP protobuf and OTLP/gRPC, with cumulative and delta temporality; lookout's
/metrics must show the Prometheus-named series with exactly the values the app recorded (delta
accumulated). Then the receiver's answers to bad requests (415, 400, 413, gzip bomb, partial
success for exponential histograms, 404, 405) and series expiry.

Usage: otlp_metrics_test.py /path/to/lookout
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, Harness, fail, http_get, promtool_findings  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

APP = os.path.join(REPO, "tests", "peers", "otel_metrics_app.js")
COMBOS = [(p, t) for p in ("http-json", "http-proto", "grpc") for t in ("cumulative", "delta")]


def samples(port):
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    text = body.decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, text


def find(all_samples, name, **labels):
    hits = [v for (n, ls), v in all_samples.items()
            if n == name and all((k, v2) in ls for k, v2 in labels.items())]
    return hits[0] if len(hits) == 1 else (None if not hits else hits)


def post(port, path, body, content_type, encoding=None):
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def gauge_request(name, value, service="probe"):
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "gauge": {"dataPoints": [
            {"asDouble": value}]}}]}]}]}).encode()


def main(lookout):
    node = shutil.which("node")
    if node is None:
        fail("node is needed (scripts/install-deps.sh installs it)")
    with Harness() as h:
        cfg = h.path("lookout.yaml")
        with open(cfg, "w") as f:
            f.write("kubernetes: {mode: off}\notlp:\n  max_request_bytes: 65536\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])
        http_port, grpc_port = agent.otlp_http_port, agent.otlp_grpc_port

        for proto, temporality in COMBOS:
            endpoint = (f"http://127.0.0.1:{grpc_port}" if proto == "grpc"
                        else f"http://127.0.0.1:{http_port}")
            r = subprocess.run([node, APP, proto, temporality, endpoint, f"{proto}-{temporality}"],
                               capture_output=True, timeout=120)
            if r.returncode != 0 or b"exported" not in r.stdout:
                fail(f"otel app {proto}/{temporality} failed: {r.stdout!r} {r.stderr!r}")

        got, text = samples(port)
        for proto, temporality in COMBOS:
            job = f"shop/{proto}-{temporality}"
            want = {
                ("shop_orders_total", (("method", "card"),)): 7,
                ("shop_orders_total", (("method", "wallet"),)): 1,
                ("shop_queue_depth", ()): 3,
                ("shop_temperature_celsius", (("room", "a"),)): 21.5,
                ("shop_latency_milliseconds_bucket", (("le", "10"), ("route", "/pay"))): 1,
                ("shop_latency_milliseconds_bucket", (("le", "100"), ("route", "/pay"))): 3,
                ("shop_latency_milliseconds_bucket", (("le", "+Inf"), ("route", "/pay"))): 4,
                ("shop_latency_milliseconds_count", (("route", "/pay"),)): 4,
                ("shop_latency_milliseconds_sum", (("route", "/pay"),)): 575,
            }
            for (name, labels), value in want.items():
                v = find(got, name, job=job, instance="i-1", otel_scope_name="lookout-it",
                         **dict(labels))
                if v != value:
                    fail(f"{job}: {name}{dict(labels)} = {v}, want {value}")
            info = find(got, "target_info", job=job, instance="i-1",
                        deployment_environment="test", telemetry_sdk_language="nodejs")
            if info != 1:
                fail(f"{job}: target_info missing: {info}")
        print(f"OpenTelemetry SDK: {len(COMBOS)} protocol/temporality combinations, every value "
              "equal")

        # Lints about the app's own naming (a gauge without description, milliseconds) are the
        # app's choice, faithfully translated; anything else (parse errors, duplicates) fails.
        findings = [l for l in promtool_findings(text)
                    if not l.startswith(("target_info", "shop_"))]
        if findings:
            fail("promtool check metrics:\n" + "\n".join(findings[:20]))

        # Bad requests: clear answers, nothing else disturbed.
        base = "/v1/metrics"
        checks = [
            ("wrong content type", post(http_port, base, b"x", "text/plain"), 415),
            ("garbage protobuf", post(http_port, base, b"\xff\xff\xff\xff", "application/x-protobuf"), 400),
            ("truncated json", post(http_port, base, b'{"resourceMetrics":[', "application/json"), 400),
            ("bad hex id", post(http_port, base, json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "sum": {"isMonotonic": True, "aggregationTemporality": 2, "dataPoints": [{"asInt": "1", "exemplars": [{"traceId": "zz"}]}]}}]}]}]}).encode(), "application/json"), 400),
            ("over the size limit", post(http_port, base, b" " * 70000, "application/json"), 413),
            ("gzip bomb", post(http_port, base, gzip.compress(b" " * (8 << 20)), "application/json", "gzip"), 413),
            ("corrupt gzip", post(http_port, base, b"\x1f\x8b\x08\x00garbage", "application/json", "gzip"), 400),
            ("unknown path", post(http_port, "/v1/logs", b"{}", "application/json"), 404),
        ]
        for what, (status, ctype, body), want in checks:
            if status != want:
                fail(f"{what}: status {status}, want {want}: {body[:200]!r}")
        status, ctype, body = post(http_port, base, b"{}", "application/json")
        if status != 200 or not ctype.startswith("application/json"):
            fail(f"empty request: {status} {ctype}")
        expo = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "expo", "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [
                {"count": "1", "scale": 2, "positive": {"offset": 0, "bucketCounts": ["1"]}}]}},
            {"name": "ok.gauge", "gauge": {"dataPoints": [{"asDouble": 1}]}}]}]}]}).encode()
        status, ctype, body = post(http_port, base, expo, "application/json")
        partial = json.loads(body).get("partialSuccess", {})
        if status != 200 or str(partial.get("rejectedDataPoints")) != "1" or \
                "exponential" not in partial.get("errorMessage", ""):
            fail(f"exponential histogram: want 200 with partial_success, got {status} {body!r}")
        got, _ = samples(port)
        if find(got, "ok_gauge") != 1 or find(got, "lookout_otlp_metric_points_total",
                                              result="rejected", reason="exponential_histogram") != 1:
            fail("partial success: the good gauge must be kept and the refusal counted")
        print("bad requests: 415, 400 (protobuf, JSON, hex id, gzip), 413 (size, gzip bomb), 404, "
              "partial_success for exponential histograms")

    # Expiry: a series not pushed for series_ttl disappears.
    with Harness() as h:
        cfg = h.path("lookout.yaml")
        with open(cfg, "w") as f:
            f.write("kubernetes: {mode: off}\notlp:\n  metrics: {series_ttl: 2s}\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])
        status, _, _ = post(agent.otlp_http_port, "/v1/metrics", gauge_request("short.lived", 5),
                            "application/json")
        got, _ = samples(port)
        if status != 200 or find(got, "short_lived") != 5:
            fail("expiry setup: series not there")
        deadline = time.time() + 20
        while find(samples(port)[0], "short_lived") is not None:
            if time.time() > deadline:
                fail("series did not expire after series_ttl")
            time.sleep(0.5)
        got, _ = samples(port)
        if find(got, "lookout_otlp_metric_series_expired_total") < 1:
            fail("expiry not counted")
        print("expiry: series gone after series_ttl, counted")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
