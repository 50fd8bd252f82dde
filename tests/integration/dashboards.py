"""Reading dashboards/*.json as Grafana would: the panels' queries, the variables, and the
expansion of Grafana's variables into plain PromQL. Shared by integration.dashboards (static
checks) and integration.e2e (the queries against a real Prometheus)."""
import glob
import json
import os
import re

from harness import REPO

DASHBOARDS = os.path.join(REPO, "dashboards")
# Grafana's own variables: what they expand to for a dashboard over a few minutes of 1s scrapes
# ($__rate_interval = max($__interval + scrape interval, 4 x scrape interval)).
GLOBALS = {"__rate_interval": "10s", "__interval": "2s", "__range": "5m"}
VAR_REF = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
LABEL_VALUES = re.compile(r"^label_values\((?:(.*),\s*)?(\w+)\)$", re.S)


def load():
    """[(file name, dashboard dict)] in name order."""
    out = []
    for path in sorted(glob.glob(os.path.join(DASHBOARDS, "*.json"))):
        with open(path) as f:
            out.append((os.path.basename(path), json.load(f)))
    return out


def panels(dashboard):
    """Every panel, rows' nested panels included (rows themselves are not returned)."""
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            yield from p.get("panels", [])
        else:
            yield p


def queries(dashboard):
    """[(panel title, refId, expr)] of every Prometheus target."""
    return [(p.get("title", ""), t.get("refId"), t["expr"])
            for p in panels(dashboard) for t in p.get("targets", []) if "expr" in t]


def variables(dashboard):
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def variable_query(var):
    """(selector or None, label) of a label_values() query variable."""
    q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    m = LABEL_VALUES.match(q.strip())
    if not m:
        raise ValueError(f"variable {var['name']}: not a label_values() query: {q}")
    return m.group(1), m.group(2)


def references(text):
    return {a or b for a, b in VAR_REF.findall(text)}


def default_value(var):
    """What a variable expands to with the dashboard's defaults: `.*` for All."""
    if var["type"] == "datasource":
        return "prometheus"
    if var.get("includeAll") and var.get("current", {}).get("value") in ("$__all", ["$__all"]):
        return var.get("allValue", ".*")
    cur = var.get("current", {}).get("value")
    if isinstance(cur, list):
        cur = cur[0] if cur else ""
    return cur if cur is not None else var.get("query", "")


def expand(text, dashboard, overrides=None):
    """Expands Grafana's variables as the dashboard's defaults set them (or `overrides`)."""
    values = {name: default_value(v) for name, v in variables(dashboard).items()}
    values.update(GLOBALS)
    values.update(overrides or {})

    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(name)
        return values[name]
    # Longest names first is implicit: \w+ is greedy, so $__rate_interval never matches $__range.
    return VAR_REF.sub(sub, text)
