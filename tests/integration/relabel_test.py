"""metric_relabel_configs against Prometheus's own: a real Prometheus 2.42 and lookout scrape the
same application with the same rules, and every rule set must leave the same series with the
same values in both (Prometheus's read through its query API, lookout's from its /metrics).

Every action is covered (replace, keep, drop, keepequal, dropequal, hashmod, labelmap,
labeldrop, labelkeep, lowercase, uppercase), with $n / ${n} / named-group templates, a renamed
__name__, bucket and quantile lines relabeled one by one, and target labels the rules read and
change. Config errors are refused at start-up with file:line:column.

Usage: relabel_test.py /path/to/lookout
"""
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Harness, fail, http_get, parse_text, prom_query, serve_body,  # noqa: E402
                     wait_for)

BODY = """# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/api/v1/items",code="200"} 1027
http_requests_total{method="GET",route="/api/v2/items",code="500"} 3
http_requests_total{method="post",route="/api/v1/Äpfel",code="201"} 12
http_requests_total{method="PUT",route="/healthz",code="200",instance="app-7"} 5
# TYPE verbs gauge
verbs{method="GET",verb="GET"} 1
verbs{method="GET",verb="POST"} 2
verbs{method="DELETE"} 3
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/api/v1/items",le="0.1"} 3
latency_seconds_bucket{route="/api/v1/items",le="0.5"} 7
latency_seconds_bucket{route="/api/v1/items",le="+Inf"} 9
latency_seconds_sum{route="/api/v1/items"} 2.5
latency_seconds_count{route="/api/v1/items"} 9
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.01
rpc_seconds{quantile="0.99"} 0.2
rpc_seconds_sum 3.5
rpc_seconds_count 40
# TYPE go_goroutines gauge
go_goroutines 17
process_open_fds 9
"""

# Each rule set is one Prometheus scrape job and one lookout static target; `ruleset` tells
# them apart, so no rule may drop it.
RULESETS = {
    "none": [],
    "drop": [
        {"source_labels": ["__name__"], "regex": "go_.*|process_.*", "action": "drop"},
        {"source_labels": ["quantile"], "regex": "0.5", "action": "drop"},
        {"source_labels": ["le"], "regex": "0\\.1", "action": "drop"},
    ],
    "keep": [
        {"source_labels": ["__name__", "code"], "separator": "@",
         "regex": "http_requests_total@(2|5)0.|latency_seconds_.*@", "action": "Keep"},
    ],
    "replace": [
        {"source_labels": ["route"], "regex": "/api/(?P<ver>v[0-9]+)/(.*)",
         "target_label": "api_${ver}", "replacement": "${2}_$1"},
        {"source_labels": ["__name__"], "regex": "(.*)_seconds(.*)", "target_label": "__name__",
         "replacement": "${1}_s${2}"},
        {"source_labels": ["code"], "target_label": "$1", "replacement": "x"},
        {"source_labels": ["method"], "regex": "(G)(ET)", "target_label": "m", "replacement": "$2x$$1"},
        {"source_labels": ["nothing"], "target_label": "route", "replacement": ""},
        {"target_label": "static", "replacement": "yes"},
    ],
    "equal": [
        {"source_labels": ["method"], "target_label": "verb", "action": "dropequal"},
        {"source_labels": ["__name__"], "regex": "verbs", "action": "keep"},
    ],
    "keepequal": [
        {"source_labels": ["method"], "target_label": "verb", "action": "keepequal"},
    ],
    "hashmod": [
        {"source_labels": ["route", "method"], "modulus": 7, "target_label": "shard",
         "action": "hashmod"},
        {"source_labels": ["shard"], "regex": "[0-3]", "action": "keep"},
    ],
    "labelmap": [
        {"regex": "(rou|meth)(.*)", "replacement": "k_${1}x$2", "action": "labelmap"},
    ],
    # Without le, a histogram's bucket lines are one series: the first stays in both. (Not
    # quantile: the summary's lines would become an untyped family named rpc_seconds, and
    # lookout's /metrics keeps one type per name across targets, the summary of the other
    # rule sets. The unit tests cover it: exposition_relabel_test.cc.)
    "labeldrop": [
        {"regex": "code|le", "action": "labeldrop"},
    ],
    "labelkeep": [
        {"regex": "__name__|ruleset|instance|job|code|quantile", "action": "labelkeep"},
    ],
    "case": [
        {"source_labels": ["method"], "target_label": "method_lc", "action": "lowercase"},
        {"source_labels": ["route"], "target_label": "route_uc", "action": "uppercase"},
    ],
    "targets": [
        # The app's own `instance` became exported_instance; the rules see both.
        {"source_labels": ["exported_instance", "instance"], "separator": "|",
         "regex": "(.+)\\|(.*)", "target_label": "both", "replacement": "$1 on $2"},
        {"source_labels": ["job"], "regex": "rel-(.*)", "target_label": "job",
         "replacement": "renamed-$1"},
    ],
    # A rule that leaves a name that is not valid: Prometheus fails the whole scrape ("invalid
    # metric name or label names"), and so does lookout.
    "invalid": [
        {"source_labels": ["__name__"], "regex": "go_goroutines", "target_label": "__name__",
         "replacement": "go-goroutines"},
    ],
}
FAILING = {"invalid"}  # rule sets whose scrapes fail in both

# Prometheus's own series per target (not the app's).
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added"}


def key(name, labels):
    return (name, frozenset(labels.items()))


def prometheus_series(prom, ruleset):
    out = {}
    for r in prom_query(prom, f'{{ruleset="{ruleset}"}}'):
        m = dict(r["metric"])
        name = m.pop("__name__")
        if name in SYNTHETIC:
            continue
        out[key(name, m)] = float(r["value"][1])
    return out


def lookout_series(port, ruleset):
    samples, _ = parse_text(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())
    out = {}
    for (name, labels), v in samples.items():
        d = dict(labels)
        if d.get("ruleset") == ruleset:
            out[key(name, d)] = v
    return out


def show(series):
    return "\n".join(f"    {n}{{{','.join(f'{k}={v!r}' for k, v in sorted(l))}}} {v}"
                     for (n, l), v in sorted(series.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))))


def same(a, b):
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def config_errors(h, lookout):
    """Bad rules are refused at start-up with file:line:column and Prometheus's reason."""
    cases = {
        "bad regex": ("- {source_labels: [a], regex: '(unclosed', target_label: b}\n",
                      ":4:7: ", "error parsing regexp"),
        "unknown action": ("- {source_labels: [a], action: rename}\n", ":4:36: ",
                           "expected a relabel action"),
        "no target_label": ("- {source_labels: [a], action: lowercase}\n", ":4:7: ",
                            "requires 'target_label' value"),
        "hashmod without modulus": ("- {source_labels: [a], action: hashmod, target_label: s}\n",
                                    ":4:7: ", "requires non-zero modulus"),
    }
    for what, (rules, where, why) in cases.items():
        cfg = h.path("bad.yaml")
        with open(cfg, "w") as f:
            f.write("apps:\n  pods:\n    metric_relabel_configs:\n    " + rules)
        r = subprocess.run([lookout, "--config", cfg, "--config.check"], capture_output=True,
                           text=True, timeout=30)
        msg = r.stderr + r.stdout
        if r.returncode == 0 or where not in msg or why not in msg:
            fail(f"{what}: lookout said (exit {r.returncode}):\n{msg}")
        print(f"config error refused: {what}: {msg.strip().splitlines()[-1]}")


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        config_errors(h, lookout)
        server, app_port = serve_body(BODY)
        target = f"127.0.0.1:{app_port}"

        jobs = []
        for name, rules in RULESETS.items():
            jobs.append({"job_name": f"rel-{name}", "scrape_interval": "1s", "scrape_timeout": "1s",
                         "static_configs": [{"targets": [target], "labels": {"ruleset": name}}],
                         "metric_relabel_configs": rules})
        prom, prom_port = h.start_prometheus(json.dumps({"scrape_configs": jobs}))

        cfg = h.path("lookout.yaml")
        targets = [{"url": f"http://{target}/metrics", "job": f"rel-{name}", "interval": "1s",
                    "timeout": "1s", "labels": {"ruleset": name},
                    "metric_relabel_configs": rules} for name, rules in RULESETS.items()]
        with open(cfg, "w") as f:
            f.write("kubernetes: {mode: off}\n")
            f.write("apps: " + json.dumps({"scrape_interval": "1s", "scrape_timeout": "1s",
                                           "static_targets": targets}) + "\n")
        agent, port = h.start_lookout(lookout, ["--config", cfg])

        wait_for("Prometheus to scrape every rule set", lambda: len(prom_query(
            prom_port, 'up{ruleset!=""} == 1')) == len(RULESETS) - len(FAILING), timeout=60)
        wait_for("lookout to scrape every rule set", lambda: http_get(
            f"http://127.0.0.1:{port}/metrics")[2].decode().count(
                "lookout_scrape_target_up{") >= len(RULESETS), timeout=60)
        time.sleep(2)  # one more scrape each, so both hold a whole one

        bad = []
        for name in RULESETS:
            want = prometheus_series(prom_port, name)
            got = lookout_series(port, name)
            if name in FAILING:
                up = prom_query(prom_port, f'up{{ruleset="{name}"}}')
                text = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
                down = f'lookout_scrape_target_up{{job="rel-{name}",' in text and any(
                    l.startswith(f'lookout_scrape_target_up{{job="rel-{name}",') and
                    l.endswith(" 0") for l in text.splitlines())
                if want or got or not up or up[0]["value"][1] != "0" or not down:
                    bad.append(f"{name}: the scrape should fail in both: Prometheus up={up}, "
                               f"{len(want)} series; lookout down={down}, {len(got)} series")
                else:
                    print(f"rule set {name:10} scrape failed in both (up 0, no series)")
            elif not want:
                bad.append(f"{name}: Prometheus has no series (the test's rules are wrong)")
            elif not same(want, got):
                bad.append(f"{name}:\n  Prometheus:\n{show(want)}\n  lookout:\n{show(got)}")
            else:
                print(f"rule set {name:10} {len(want):3} series, equal to Prometheus's")
        if bad:
            fail("relabeling differs from Prometheus 2.42's:\n" + "\n".join(bad) + "\n" +
                 h.log(agent)[-2000:])
        server.shutdown()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
