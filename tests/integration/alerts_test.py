#!/usr/bin/env python3
"""alerts/: every rule file passes `promtool check rules`, every alert's `promtool test rules`
unit tests pass, the Alertmanager example passes `amtool check-config`, every alert carries
severity/summary/description/runbook_url with an anchor that exists in alerts/runbook.md, every
alert has a unit test, and alerts/slo.rules.yml is exactly what `lookout slo rules alerts/slos`
prints (the generated file cannot drift from the generator).
Usage: alerts_test.py /path/to/lookout
"""
import glob
import os
import re
import shutil
import subprocess
import sys

from harness import REPO, fail

ALERTS = os.path.join(REPO, "alerts")
RUNBOOK_PREFIX = "https://github.com/lookout/lookout/blob/main/alerts/runbook.md#"


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    return r.returncode, r.stdout + r.stderr


def main(lookout):
    import yaml  # python3-yaml (Debian)
    rule_files = sorted(glob.glob(os.path.join(ALERTS, "*.rules.yml")))
    if len(rule_files) < 5:
        fail(f"expected the rule files in alerts/, found {rule_files}")
    for f in rule_files:
        rc, out = run(["promtool", "check", "rules", f])
        if rc != 0:
            fail(f"promtool check rules {f}:\n{out}")
    rc, out = run(["promtool", "test", "rules"] + sorted(glob.glob(os.path.join(ALERTS, "tests", "*.test.yml"))),
                  cwd=os.path.join(ALERTS, "tests"))
    if rc != 0:
        fail(f"promtool test rules:\n{out}")
    amtool = shutil.which("amtool")
    if amtool is None:
        fail("amtool is needed (Debian package prometheus-alertmanager)")
    rc, out = run([amtool, "check-config", os.path.join(ALERTS, "alertmanager.example.yml")])
    if rc != 0:
        fail(f"amtool check-config:\n{out}")

    with open(os.path.join(ALERTS, "runbook.md")) as f:
        anchors = {re.sub(r"[^a-z0-9-]", "", h.strip().lower().replace(" ", "-"))
                   for h in re.findall(r"^## (.+)$", f.read(), re.M)}
    tested = set()
    for t in glob.glob(os.path.join(ALERTS, "tests", "*.test.yml")):
        with open(t) as f:
            for test in yaml.safe_load(f)["tests"]:
                for case in test.get("alert_rule_test", []):
                    if case.get("exp_alerts"):
                        tested.add(case["alertname"])
    alerts = 0
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                alerts += 1
                name = rule["alert"]
                labels, ann = rule.get("labels", {}), rule.get("annotations", {})
                if labels.get("severity") not in ("page", "ticket"):
                    fail(f"{name}: severity must be page or ticket, is {labels.get('severity')}")
                for key in ("summary", "description", "runbook_url"):
                    if not ann.get(key):
                        fail(f"{name}: no {key} annotation")
                url = ann["runbook_url"]
                if not url.startswith(RUNBOOK_PREFIX) or url[len(RUNBOOK_PREFIX):] not in anchors:
                    fail(f"{name}: runbook_url {url} has no section in alerts/runbook.md")
                if name not in tested:
                    fail(f"{name}: no promtool unit test expects it to fire")
    r = subprocess.run([lookout, "slo", "rules", os.path.join(ALERTS, "slos")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"lookout slo rules alerts/slos: {r.stderr}")
    out = r.stdout
    with open(os.path.join(ALERTS, "slo.rules.yml")) as f:
        if f.read() != out:
            fail("alerts/slo.rules.yml differs from `lookout slo rules alerts/slos`: regenerate it")
    print(f"alerts: {len(rule_files)} rule files, {alerts} alerts, all unit-tested; "
          "Alertmanager example valid; runbook complete; slo.rules.yml up to date")


if __name__ == "__main__":
    main(sys.argv[1])
