#!/usr/bin/env python3
"""dashboards/: the files are what scripts/gen-dashboards.py writes (and so are their
ConfigMaps in deploy/); each dashboard has a stable unique uid, the datasource as a variable on
every panel and query, ids and grid positions that make sense, and only variables it defines;
the JSON type-checks against Grafana's own schema (@grafana/schema: the dashboard model and the
options of each panel plugin, with TypeScript's excess-property checks, so a misspelt field
fails); every PromQL expression and variable selector, with Grafana's variables expanded,
passes Prometheus's own parser (promtool). integration.e2e runs the same queries against a real
Prometheus that scraped the agent. Each checker is first shown a broken copy it must refuse.
The provisioning example links exemplars (trace_id) to a Jaeger data source it defines.
Usage: dashboards_test.py /path/to/lookout
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

import yaml

import dashboards as dash
from harness import REPO, fail

PEERS = os.path.join(REPO, "tests", "peers")
PLUGINS = {  # panel type -> (@grafana/schema panelcfg module, has a FieldConfig type)
    "timeseries": ("timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen", True),
    "stat": ("stat/panelcfg/x/StatPanelCfg_types.gen", False),
    "table": ("table/panelcfg/x/TablePanelCfg_types.gen", True),
    "state-timeline": ("statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen", True),
}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__all"}


def structure(name, d):
    """Problems a reader would hit that no schema states."""
    errors = []
    uid = d.get("uid", "")
    if not (uid.startswith("lookout-") and len(uid) <= 40):
        errors.append(f"uid {uid!r}: want lookout-*, at most 40 characters")
    if d.get("schemaVersion") != 42:
        errors.append(f"schemaVersion {d.get('schemaVersion')}, want 42 (Grafana 12/13)")
    vars_ = dash.variables(d)
    if vars_.get("datasource", {}).get("type") != "datasource":
        errors.append("no datasource variable")
    ds = {"type": "prometheus", "uid": "${datasource}"}
    ids, cells = set(), set()
    for p in d["panels"]:
        if p["id"] in ids:
            errors.append(f"panel id {p['id']} twice")
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] < 0 or g["x"] + g["w"] > 24:
            errors.append(f"{p.get('title')}: outside the 24-column grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    errors.append(f"{p.get('title')}: overlaps another panel at {x},{y}")
                    break
                cells.add((x, y))
    for p in dash.panels(d):
        if p.get("datasource") != ds:
            errors.append(f"{p.get('title')}: datasource {p.get('datasource')}, want the variable")
        for t in p.get("targets", []):
            if t.get("datasource") != ds:
                errors.append(f"{p.get('title')} {t.get('refId')}: datasource is not the variable")
    used = set()
    for p in dash.panels(d):
        used |= dash.references(p.get("title", ""))
        for t in p.get("targets", []):
            used |= dash.references(t["expr"]) | dash.references(t.get("legendFormat", ""))
    for v in vars_.values():
        if v["type"] == "query":
            sel, _ = dash.variable_query(v)
            used |= dash.references(sel or "")
    for ref in sorted(used - set(vars_) - GRAFANA_BUILTINS):
        errors.append(f"${ref} is used but not defined")
    return [f"{name}: {e}" for e in errors]


def typescript_check(dashboards, workdir):
    """Type-checks every dashboard against @grafana/schema's Dashboard and each panel's options
    and custom field config against its plugin's types. TypeScript enums are nominal, so the
    schema's types are first mapped to their literal values (what JSON holds)."""
    lines = [
        "import type { Dashboard as GrafanaDashboard } from '@grafana/schema';",
        "type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T"
        " : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;",
        "type Dashboard = Json<GrafanaDashboard>;"]
    for kind, (module, has_field_config) in PLUGINS.items():
        alias = "".join(w.capitalize() for w in kind.split("-"))
        imports = f"Options as {alias}OptionsSchema"
        if has_field_config:
            imports += f", FieldConfig as {alias}FieldConfigSchema"
        lines.append(f"import type {{ {imports} }} from '@grafana/schema/dist/esm/raw/composable/{module}';")
        lines.append(f"type {alias}Options = Json<{alias}OptionsSchema>;")
        if has_field_config:
            lines.append(f"type {alias}FieldConfig = Json<{alias}FieldConfigSchema>;")
    for i, (name, d) in enumerate(dashboards):
        lines.append(f"// {name}\nexport const d{i}: Dashboard = {json.dumps(d)};")
        for p in dash.panels(d):
            if p["type"] not in PLUGINS:
                lines.append(f"// unknown panel type {p['type']!r} in {name}\nconst x: number = 'x';")
                continue
            alias = "".join(w.capitalize() for w in p["type"].split("-"))
            lines.append(f"export const d{i}p{p['id']}o: {alias}Options = {json.dumps(p.get('options', {}))};")
            custom = p.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is not None:
                lines.append(f"export const d{i}p{p['id']}c: {alias}FieldConfig = {json.dumps(custom)};")
    with open(os.path.join(workdir, "dashboards.ts"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(workdir, "tsconfig.json"), "w") as f:
        json.dump({"compilerOptions": {"strict": True, "noEmit": True, "module": "nodenext",
                                       "moduleResolution": "nodenext", "target": "es2022",
                                       "skipLibCheck": True},
                   "files": ["dashboards.ts"]}, f)
    link = os.path.join(workdir, "node_modules")
    if not os.path.exists(link):
        os.symlink(os.path.join(PEERS, "node_modules"), link)
    r = subprocess.run([os.path.join(PEERS, "node_modules", ".bin", "tsc"), "-p", workdir],
                       capture_output=True, text=True)
    return [l for l in (r.stdout + r.stderr).splitlines() if l.strip()] if r.returncode else []


def promtool_parse(exprs, workdir):
    """Runs `promtool check rules` on one recording rule per expression: Prometheus's parser."""
    rules = {"groups": [{"name": "dashboard-queries", "rules": [
        {"record": f"dashboard_query:{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = os.path.join(workdir, "queries.rules.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f, width=1 << 20)
    r = subprocess.run(["promtool", "check", "rules", "--lint=none", path],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def provisioning():
    """The provisioning example: a file provider, and exemplar links to a data source it has."""
    base = os.path.join(dash.DASHBOARDS, "provisioning")
    with open(os.path.join(base, "dashboards.yaml")) as f:
        providers = yaml.safe_load(f)["providers"]
    if not any(p.get("type") == "file" and p.get("options", {}).get("path") for p in providers):
        fail("dashboards/provisioning/dashboards.yaml has no file provider with a path")
    with open(os.path.join(base, "datasources.yaml")) as f:
        sources = yaml.safe_load(f)["datasources"]
    uids = {s["uid"]: s["type"] for s in sources}
    prom = [s for s in sources if s["type"] == "prometheus"]
    links = [d for s in prom for d in s.get("jsonData", {}).get("exemplarTraceIdDestinations", [])]
    if not links or any(uids.get(d.get("datasourceUid")) != "jaeger" or d.get("name") != "trace_id"
                        for d in links):
        fail(f"datasources.yaml: exemplars must link trace_id to the Jaeger data source: {links}")


def main():
    gen = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen-dashboards.py"),
                          "--check"], capture_output=True, text=True)
    if gen.returncode != 0:
        fail(f"dashboards/ or deploy/grafana-dashboards.yaml is stale: {gen.stderr.strip()}")
    dashboards = dash.load()
    titles = {"lookout-node", "lookout-pods", "lookout-red", "lookout-slo", "lookout-payments",
              "lookout-agent"}
    uids = [d["uid"] for _, d in dashboards]
    if sorted(uids) != sorted(titles):
        fail(f"dashboard uids {uids}, want {sorted(titles)} (stable: links and bookmarks use them)")

    errors = []
    for name, d in dashboards:
        errors += structure(name, d)
    name, first = dashboards[0]
    broken = copy.deepcopy(first)
    broken["panels"][1]["targets"][0]["expr"] += ' + on () vector($undefined_var)'
    broken["panels"][2]["datasource"] = {"type": "prometheus", "uid": "prom-prod"}
    if len(structure(name, broken)) < 2:
        fail("the structure check accepted an undefined variable and a fixed datasource")
    if errors:
        fail("dashboard structure:\n  " + "\n  ".join(errors))

    with tempfile.TemporaryDirectory(prefix="lookout-dash-") as tmp:
        broken = copy.deepcopy(first)
        p = next(dash.panels(broken))
        p["gridpos"] = p.pop("gridPos")  # a misspelt field
        bad = typescript_check([(name, broken)], tmp)
        if not any("gridpos" in line for line in bad):
            fail("the Grafana schema check accepted a misspelt panel field:\n" + "\n".join(bad[:5]))
        broken = copy.deepcopy(first)
        next(p for p in dash.panels(broken) if p["type"] == "timeseries")["options"]["legend"]["displayMode"] = "tabel"
        if not typescript_check([(name, broken)], tmp):
            fail("the Grafana schema check accepted an unknown legend display mode")
        errors = typescript_check(dashboards, tmp)
        if errors:
            fail("dashboards do not match Grafana's schema (@grafana/schema):\n  " +
                 "\n  ".join(errors[:40]))

        exprs, where = [], []
        for name, d in dashboards:
            for title, ref, expr in dash.queries(d):
                exprs.append(dash.expand(expr, d))
                where.append(f"{name}: {title} {ref}")
            for v in dash.variables(d).values():
                if v["type"] == "query":
                    sel, label = dash.variable_query(v)
                    exprs.append(dash.expand(sel or f'{{{label}!=""}}', d))
                    where.append(f"{name}: variable {v['name']}")
        rc, out = promtool_parse(["sum(rate(x[5m])"], tmp)
        if rc == 0:
            fail("promtool accepted an unbalanced parenthesis: the parse check proves nothing")
        rc, out = promtool_parse(exprs, tmp)
        if rc != 0:
            for i, w in enumerate(where):
                if f"dashboard_query:{i}\"" in out or f"dashboard_query:{i}:" in out:
                    out += f"\n  (dashboard_query:{i} is {w})"
            fail(f"promtool refused dashboard expressions:\n{out}")
    provisioning()
    panels = sum(1 for _, d in dashboards for _ in dash.panels(d))
    print(f"dashboards: {len(dashboards)} dashboards, {panels} panels, {len(exprs)} expressions and "
          "selectors parsed by promtool; Grafana schema (@grafana/schema) type-checks; "
          "generated files and ConfigMaps up to date")


if __name__ == "__main__":
    main()
