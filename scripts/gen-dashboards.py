#!/usr/bin/env python3
"""Writes the Grafana dashboards (dashboards/*.json) and their ConfigMaps for the Grafana
sidecar (deploy/grafana-dashboards.yaml) from the panel lists below.

The dashboards are code so that every one has the same datasource variable, cluster/node
filters, stable uids and layout rules, and so that a query is changed in one place. The JSON
files are what users import; integration.dashboards fails when they (or the ConfigMaps) differ
from what this script writes, checks every expression with Prometheus's parser and runs it
against a real Prometheus that scraped the agent.
Usage: scripts/gen-dashboards.py [--check]   (--check: exit 1 if a committed file is stale)
"""
import json
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_VERSION = 42  # Grafana 12/13's classic dashboard model (@grafana/schema defaultDashboard)
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


# --- building blocks -------------------------------------------------------------------------
def target(expr, legend="", exemplar=False, instant=False):
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": not instant, "instant": instant}
    if exemplar:
        t["exemplar"] = True
    return t


def panel(kind, title, targets, unit="short", w=12, h=8, description="", options=None,
          custom=None, minmax=None, thresholds=None, links=None, mappings=None):
    targets = [t if isinstance(t, dict) else target(*t) for t in targets]
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    defaults = {"unit": unit}
    if custom is not None:
        defaults["custom"] = custom
    if minmax:
        defaults["min"], defaults["max"] = minmax
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [
            {"color": color, "value": value} for value, color in thresholds]}
    if links:
        defaults["links"] = links
    if mappings:
        defaults["mappings"] = mappings
    return {"type": kind, "title": title, "description": description, "datasource": DS,
            "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {}, "_size": (w, h)}


def timeseries(title, targets, unit="short", stack=False, **kw):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    options = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                          "calcs": ["mean", "max", "lastNotNull"]},
               "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel("timeseries", title, targets, unit, custom=custom, options=options, **kw)


def stat(title, targets, unit="short", w=4, h=4, **kw):
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "colorMode": "background", "graphMode": "area", "justifyMode": "auto",
               "textMode": "auto", "orientation": "auto", "wideLayout": True,
               "showPercentChange": False, "percentChangeColorMode": "standard"}
    return panel("stat", title, targets, unit, w=w, h=h, options=options, **kw)


def table(title, targets, unit="short", w=24, h=8, **kw):
    # One row per series: instant queries joined on their labels (Grafana's "merge").
    targets = [target(t[0], t[1] if len(t) > 1 else "", instant=True) for t in targets]
    p = panel("table", title, targets, unit, w=w, h=h,
              options={"showHeader": True, "cellHeight": "sm", "frameIndex": 0}, **kw)
    p["transformations"] = [{"id": "merge", "options": {}},
                            {"id": "organize", "options": {"excludeByName": {"Time": True}}}]
    return p


def state_timeline(title, targets, **kw):
    mappings = [{"type": "value", "options": {
        "0": {"text": "ok", "color": "green", "index": 0},
        "1": {"text": "firing", "color": "red", "index": 1}}}]
    options = {"showValue": "never", "mergeValues": True, "rowHeight": 0.9,
               "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True,
                          "calcs": []},
               "tooltip": {"mode": "single", "sort": "none"}}
    return panel("state-timeline", title, targets, "short", options=options,
                 mappings=mappings, **kw)


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def datasource_var():
    return {"type": "datasource", "name": "datasource", "label": "Data source",
            "query": "prometheus", "hide": 0, "refresh": 1, "regex": "",
            "options": [], "includeAll": False, "multi": False, "skipUrlSync": False}


def query_var(name, query, label=None, multi=True, include_all=True, hide=0):
    """A variable from Grafana's Prometheus label_values(selector, label) function."""
    v = {"type": "query", "name": name, "label": label or name, "datasource": DS,
         "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "regex": "", "sort": 1, "hide": hide,
         "multi": multi, "includeAll": include_all, "options": [], "skipUrlSync": False}
    if include_all:
        v["allValue"] = ".*"  # also matches series without the label (single-cluster setups)
        v["current"] = {"selected": True, "text": ["All"] if multi else "All",
                        "value": ["$__all"] if multi else "$__all"}
    return v


def custom_var(name, values, default, label=None):
    return {"type": "custom", "name": name, "label": label or name, "query": ",".join(values),
            "current": {"selected": True, "text": default, "value": default},
            "options": [{"selected": v == default, "text": v, "value": v} for v in values],
            "hide": 0, "multi": False, "includeAll": False, "skipUrlSync": False}


def textbox_var(name, default, label=None):
    return {"type": "textbox", "name": name, "label": label or name, "query": default,
            "current": {"selected": False, "text": default, "value": default},
            "options": [{"selected": True, "text": default, "value": default}], "hide": 0,
            "skipUrlSync": False}


CLUSTER = query_var("cluster", "label_values(lookout_build_info, cluster)", multi=False)


def node_var(metric="lookout_build_info"):
    return query_var("instance", f'label_values({metric}{{cluster=~"$cluster"}}, instance)',
                     label="node")


def layout(items):
    """Flows panels left to right in a 24-wide grid; a row starts a new line."""
    out, x, y, line_h, next_id = [], 0, 0, 0, 1
    for item in items:
        item = dict(item)
        item["id"] = next_id
        next_id += 1
        if item["type"] == "row":
            if x:
                y += line_h
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y, x, line_h = y + 1, 0, 0
            out.append(item)
            continue
        w, h = item.pop("_size")
        if x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        item["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        line_h = max(line_h, h)
        out.append(item)
    return out


def dashboard(uid, title, description, variables, items, tags=(), refresh="30s", time_from="now-6h"):
    return {
        "uid": uid, "title": title, "description": description,
        "tags": ["lookout"] + list(tags), "editable": True, "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION, "version": 1, "refresh": refresh, "timezone": "browser",
        "time": {"from": time_from, "to": "now"}, "timepicker": {}, "fiscalYearStartMonth": 0,
        "links": [{"title": "lookout dashboards", "type": "dashboards", "tags": ["lookout"],
                   "asDropdown": True, "icon": "external link", "includeVars": True,
                   "keepTime": True, "targetBlank": False, "tooltip": ""}],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [datasource_var()] + variables},
        "panels": layout(items),
    }


# --- Node overview ---------------------------------------------------------------------------
def node_overview():
    sel = 'cluster=~"$cluster", instance=~"$instance"'
    fs = f'{sel}, fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs"'
    cpus = f'count by (instance) (node_cpu_seconds_total{{{sel}, mode="idle"}})'
    return dashboard(
        "lookout-node", "lookout / Node overview",
        "Node metrics with node_exporter's names, as every lookout agent collects them.",
        [CLUSTER, node_var()],
        [row("Overview"),
         stat("CPU busy", [(f'1 - avg(rate(node_cpu_seconds_total{{{sel}, mode="idle"}}[{RATE}]))',)],
              "percentunit", minmax=(0, 1), thresholds=[(None, "green"), (0.8, "red")]),
         stat("Memory used", [(f'1 - sum(node_memory_MemAvailable_bytes{{{sel}}}) / sum(node_memory_MemTotal_bytes{{{sel}}})',)],
              "percentunit", minmax=(0, 1), thresholds=[(None, "green"), (0.85, "red")]),
         stat("Load (1m) per CPU", [(f'sum(node_load1{{{sel}}}) / sum({cpus})',)], "short",
              thresholds=[(None, "green"), (1, "orange")]),
         stat("Fullest filesystem", [(f'max(1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}})',)],
              "percentunit", minmax=(0, 1), thresholds=[(None, "green"), (0.85, "red")]),
         stat("Nodes", [(f'count(node_uname_info{{{sel}}})',)], "short"),
         stat("Uptime (youngest)", [(f'min(node_time_seconds{{{sel}}} - node_boot_time_seconds{{{sel}}})',)], "s"),
         row("CPU"),
         timeseries("CPU by mode (cores)", [(f'sum by (instance, mode) (rate(node_cpu_seconds_total{{{sel}, mode!="idle"}}[{RATE}]))', "{{instance}} {{mode}}")],
                    "short", stack=True),
         timeseries("CPU busy per node", [(f'1 - avg by (instance) (rate(node_cpu_seconds_total{{{sel}, mode="idle"}}[{RATE}]))', "{{instance}}")],
                    "percentunit", minmax=(0, 1)),
         timeseries("Load average per CPU", [
             (f'node_load1{{{sel}}} / on (instance) {cpus}', "{{instance}} 1m"),
             (f'node_load5{{{sel}}} / on (instance) {cpus}', "{{instance}} 5m"),
             (f'node_load15{{{sel}}} / on (instance) {cpus}', "{{instance}} 15m")]),
         timeseries("Pressure: time stalled", [
             (f'rate(node_pressure_cpu_waiting_seconds_total{{{sel}}}[{RATE}])', "{{instance}} cpu some"),
             (f'rate(node_pressure_memory_stalled_seconds_total{{{sel}}}[{RATE}])', "{{instance}} memory full"),
             (f'rate(node_pressure_io_stalled_seconds_total{{{sel}}}[{RATE}])', "{{instance}} io full")],
                    "percentunit", description="PSI: share of time tasks waited (some) or all stalled (full)."),
         row("Memory"),
         timeseries("Memory", [
             (f'node_memory_MemTotal_bytes{{{sel}}} - node_memory_MemAvailable_bytes{{{sel}}}', "{{instance}} used"),
             (f'node_memory_Cached_bytes{{{sel}}} + node_memory_Buffers_bytes{{{sel}}}', "{{instance}} cache+buffers"),
             (f'node_memory_MemTotal_bytes{{{sel}}}', "{{instance}} total")], "bytes"),
         timeseries("Memory used", [(f'1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}}', "{{instance}}")],
                    "percentunit", minmax=(0, 1)),
         row("Disks and filesystems"),
         timeseries("Filesystem used", [(f'1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}', "{{instance}} {{mountpoint}}")],
                    "percentunit", minmax=(0, 1)),
         timeseries("Filesystem free in 24 h (linear prediction over 6 h)", [
             (f'predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 24 * 3600)', "{{instance}} {{mountpoint}}")], "bytes",
                    description="Below zero: the NodeFilesystemFillingUp alert's condition."),
         timeseries("Disk throughput", [
             (f'rate(node_disk_read_bytes_total{{{sel}}}[{RATE}])', "{{instance}} {{device}} read"),
             (f'-rate(node_disk_written_bytes_total{{{sel}}}[{RATE}])', "{{instance}} {{device}} write")], "Bps"),
         timeseries("Disk busy", [(f'rate(node_disk_io_time_seconds_total{{{sel}}}[{RATE}])', "{{instance}} {{device}}")],
                    "percentunit"),
         row("Network"),
         timeseries("Network traffic", [
             (f'rate(node_network_receive_bytes_total{{{sel}, device!~"lo|veth.*|cali.*|flannel.*|cni.*"}}[{RATE}])', "{{instance}} {{device}} in"),
             (f'-rate(node_network_transmit_bytes_total{{{sel}, device!~"lo|veth.*|cali.*|flannel.*|cni.*"}}[{RATE}])', "{{instance}} {{device}} out")], "Bps"),
         timeseries("Network errors and drops", [
             (f'rate(node_network_receive_errs_total{{{sel}}}[{RATE}]) + rate(node_network_receive_drop_total{{{sel}}}[{RATE}])', "{{instance}} {{device}} in"),
             (f'rate(node_network_transmit_errs_total{{{sel}}}[{RATE}]) + rate(node_network_transmit_drop_total{{{sel}}}[{RATE}])', "{{instance}} {{device}} out")], "pps"),
         timeseries("TCP sockets", [
             (f'node_sockstat_TCP_inuse{{{sel}}}', "{{instance}} in use"),
             (f'node_sockstat_TCP_tw{{{sel}}}', "{{instance}} time-wait")]),
         timeseries("File descriptors", [(f'node_filefd_allocated{{{sel}}} / node_filefd_maximum{{{sel}}}', "{{instance}}")],
                    "percentunit"),
         ], tags=["node"])


# --- Pods & containers -----------------------------------------------------------------------
def pods():
    sel = 'cluster=~"$cluster", instance=~"$instance", namespace=~"$namespace", pod=~"$pod"'
    c = f'{sel}, container!=""'
    by = "namespace, pod"
    return dashboard(
        "lookout-pods", "lookout / Pods & containers",
        "Container metrics with cAdvisor's names (cgroup v1 and v2), labelled from the kubelet.",
        [CLUSTER, node_var("lookout_pod_info"),
         query_var("namespace", 'label_values(lookout_pod_info{cluster=~"$cluster", instance=~"$instance"}, namespace)'),
         query_var("pod", 'label_values(lookout_pod_info{cluster=~"$cluster", instance=~"$instance", namespace=~"$namespace"}, pod)')],
        [row("Overview"),
         stat("Pods", [(f'count(lookout_pod_info{{{sel}}})',)]),
         stat("Containers", [(f'count(container_memory_working_set_bytes{{{c}}})',)]),
         stat("CPU used (cores)", [(f'sum(rate(container_cpu_usage_seconds_total{{{c}}}[{RATE}]))',)], "short"),
         stat("Memory working set", [(f'sum(container_memory_working_set_bytes{{{c}}})',)], "bytes"),
         stat("OOM kills (1h)", [(f'sum(increase(container_oom_events_total{{{c}}}[1h]))',)], "short",
              thresholds=[(None, "green"), (1, "red")]),
         stat("Throttled containers", [(
             f'count(sum by ({by}, container) (increase(container_cpu_cfs_throttled_periods_total{{{c}}}[5m]))'
             f' / sum by ({by}, container) (increase(container_cpu_cfs_periods_total{{{c}}}[5m])) > 0.25) or vector(0)',)],
              "short", thresholds=[(None, "green"), (1, "orange")],
              description="Containers throttled in more than 25% of their CFS periods over 5 minutes."),
         row("CPU"),
         timeseries("CPU usage by pod (cores)", [(f'sum by ({by}) (rate(container_cpu_usage_seconds_total{{{c}}}[{RATE}]))', "{{namespace}}/{{pod}}")],
                    stack=True),
         timeseries("CPU usage against limit", [(
             f'sum by ({by}, container) (rate(container_cpu_usage_seconds_total{{{c}}}[{RATE}]))'
             f' / sum by ({by}, container) (container_spec_cpu_quota{{{c}}} / container_spec_cpu_period{{{c}}})',
             "{{namespace}}/{{pod}}/{{container}}")], "percentunit"),
         timeseries("CPU throttling (share of periods)", [(
             f'sum by ({by}, container) (increase(container_cpu_cfs_throttled_periods_total{{{c}}}[{RATE}]))'
             f' / sum by ({by}, container) (increase(container_cpu_cfs_periods_total{{{c}}}[{RATE}]))',
             "{{namespace}}/{{pod}}/{{container}}")], "percentunit", minmax=(0, 1)),
         timeseries("Throttled time", [(f'sum by ({by}, container) (rate(container_cpu_cfs_throttled_seconds_total{{{c}}}[{RATE}]))',
                                        "{{namespace}}/{{pod}}/{{container}}")], "s"),
         row("Memory"),
         timeseries("Memory working set by pod", [(f'sum by ({by}) (container_memory_working_set_bytes{{{c}}})', "{{namespace}}/{{pod}}")],
                    "bytes", stack=True),
         timeseries("Memory working set against limit", [(
             f'max by ({by}, container) (container_memory_working_set_bytes{{{c}}})'
             f' / max by ({by}, container) (container_spec_memory_limit_bytes{{{c}}} > 0)',
             "{{namespace}}/{{pod}}/{{container}}")], "percentunit", minmax=(0, 1),
                    thresholds=[(None, "green"), (0.9, "red")]),
         timeseries("Memory: RSS, cache, swap", [
             (f'sum by ({by}) (container_memory_rss{{{c}}})', "{{namespace}}/{{pod}} rss"),
             (f'sum by ({by}) (container_memory_cache{{{c}}})', "{{namespace}}/{{pod}} cache"),
             (f'sum by ({by}) (container_memory_swap{{{c}}})', "{{namespace}}/{{pod}} swap")], "bytes"),
         timeseries("OOM kills", [(f'sum by ({by}, container) (increase(container_oom_events_total{{{c}}}[{RATE}]))',
                                   "{{namespace}}/{{pod}}/{{container}}")]),
         row("I/O and processes"),
         timeseries("Filesystem I/O", [
             (f'sum by ({by}) (rate(container_fs_reads_bytes_total{{{c}}}[{RATE}]))', "{{namespace}}/{{pod}} read"),
             (f'-sum by ({by}) (rate(container_fs_writes_bytes_total{{{c}}}[{RATE}]))', "{{namespace}}/{{pod}} write")], "Bps"),
         timeseries("Threads", [(f'sum by ({by}) (container_threads{{{c}}})', "{{namespace}}/{{pod}}")]),
         table("Pods on the node(s)", [(f'lookout_pod_info{{{sel}}}',)]),
         ], tags=["kubernetes"])


# --- Application RED (span metrics) ----------------------------------------------------------
def red():
    sel = 'cluster=~"$cluster", service_name=~"$service", span_kind=~"$span_kind"'
    calls = f"traces_span_metrics_calls_total{{{sel}}}"
    errors = f'traces_span_metrics_calls_total{{{sel}, status_code="STATUS_CODE_ERROR"}}'
    buckets = f"traces_span_metrics_duration_milliseconds_bucket{{{sel}}}"
    jaeger = [{"title": "Traces in Jaeger", "targetBlank": True,
               "url": "${jaeger_url}/search?service=${__field.labels.service_name}"
                      "&operation=${__field.labels.span_name}&limit=20"}]
    return dashboard(
        "lookout-red", "lookout / Application RED",
        "Rate, errors and duration from the spans lookout forwards (OpenTelemetry spanmetrics "
        "connector names). Exemplars link to the trace in Jaeger (see dashboards/README.md).",
        [CLUSTER,
         query_var("service", 'label_values(traces_span_metrics_calls_total{cluster=~"$cluster"}, service_name)'),
         query_var("span_kind", 'label_values(traces_span_metrics_calls_total{cluster=~"$cluster"}, span_kind)',
                   label="span kind"),
         textbox_var("jaeger_url", "http://jaeger-query.observability.svc:16686", "Jaeger UI")],
        [row("Rate, errors, duration"),
         timeseries("Requests per second", [(f"sum by (service_name) (rate({calls}[{RATE}]))", "{{service_name}}")],
                    "reqps"),
         timeseries("Error ratio", [(f"sum by (service_name) (rate({errors}[{RATE}])) / sum by (service_name) (rate({calls}[{RATE}]))",
                                     "{{service_name}}")], "percentunit",
                    thresholds=[(None, "green"), (0.01, "red")],
                    description="Spans with status ERROR over all spans; the ServiceHighErrorRatio alert fires above 1% for 10 minutes."),
         timeseries("Duration p50 / p95 / p99 (exemplars: traces)", [
             target(f"histogram_quantile(0.50, sum by (service_name, le) (rate({buckets}[{RATE}])))", "{{service_name}} p50", exemplar=True),
             target(f"histogram_quantile(0.95, sum by (service_name, le) (rate({buckets}[{RATE}])))", "{{service_name}} p95", exemplar=True),
             target(f"histogram_quantile(0.99, sum by (service_name, le) (rate({buckets}[{RATE}])))", "{{service_name}} p99", exemplar=True)],
                    "ms", w=24, h=9),
         row("Operations"),
         table("Operations (last 5 minutes)", [
             (f"sum by (service_name, span_name) (rate({calls}[5m]))", "rate"),
             (f"sum by (service_name, span_name) (rate({errors}[5m])) / sum by (service_name, span_name) (rate({calls}[5m]))", "errors"),
             (f"histogram_quantile(0.95, sum by (service_name, span_name, le) (rate({buckets}[5m])))", "p95")],
               links=jaeger, h=10),
         timeseries("Requests per second by operation", [(f"sum by (service_name, span_name) (rate({calls}[{RATE}]))",
                                                         "{{service_name}} {{span_name}}")], "reqps"),
         timeseries("p95 by operation", [(f"histogram_quantile(0.95, sum by (service_name, span_name, le) (rate({buckets}[{RATE}])))",
                                          "{{service_name}} {{span_name}}")], "ms"),
         ], tags=["traces", "red"])


# --- SLOs & burn rates -----------------------------------------------------------------------
def slos():
    fleet = 'slo=~"$slo", service=~"$service"'
    node = f'cluster=~"$cluster", {fleet}'
    return dashboard(
        "lookout-slo", "lookout / SLOs & burn rates",
        "Fleet-wide SLOs from the rules `lookout slo rules` generates (sums over nodes before "
        "dividing), and each node's own engine.",
        [CLUSTER,
         query_var("slo", 'label_values(lookout_slo_info{cluster=~"$cluster"}, slo)', label="SLO"),
         query_var("service", 'label_values(lookout_slo_info{cluster=~"$cluster", slo=~"$slo"}, service)')],
        [row("Error budget"),
         stat("Error budget remaining (period, fleet)", [(f"min by (slo) (lookout:slo_error_budget_remaining{{{fleet}}})", "{{slo}}")],
              "percentunit", w=12, h=5, thresholds=[(None, "red"), (0, "orange"), (0.25, "green")],
              description="1 - burn rate over the SLO period, from the recorded rules (evaluated every 5 minutes)."),
         stat("Alerts firing", [
             (f'count by (severity) (ALERTS{{alertname="LookoutSLOErrorBudgetBurn", alertstate="firing", {fleet}}}) or on () vector(0)', "{{severity}}")],
              "short", w=12, h=5, thresholds=[(None, "green"), (1, "red")]),
         timeseries("Burn rate by window (fleet)", [(f"max by (slo, window) (lookout:slo_burn_rate{{{fleet}}})", "{{slo}} {{window}}")],
                    "x", w=24, h=9, thresholds=[(None, "green"), (1, "orange"), (14.4, "red")],
                    description="Burn 1 spends the budget exactly over the period; the page fires at 14.4 (1h and 5m) or 6 (6h and 30m)."),
         timeseries("Error ratio by window (fleet)", [(f"max by (slo, window) (lookout:slo_error_ratio{{{fleet}}})", "{{slo}} {{window}}")],
                    "percentunit"),
         timeseries("Events per window (fleet)", [
             (f"sum by (slo, window) (lookout:slo_events:increase{{{fleet}}})", "{{slo}} {{window}} all"),
             (f"sum by (slo, window) (lookout:slo_events:increase{{{fleet}}}) - sum by (slo, window) (lookout:slo_good_events:increase{{{fleet}}})",
              "{{slo}} {{window}} bad")]),
         row("Alert state"),
         state_timeline("Multi-window alert state (any node's engine)", [
             (f"max by (slo, severity) (lookout_slo_alert_firing{{{node}}})", "{{slo}} {{severity}}")], w=24, h=7),
         row("Per node (the agents' own engines)"),
         timeseries("Burn rate per node (5m)", [(f'lookout_slo_burn_rate{{{node}, window="5m"}}', "{{instance}} {{slo}}")], "x"),
         timeseries("Budget remaining per node", [(f"lookout_slo_error_budget_remaining_ratio{{{node}}}", "{{instance}} {{slo}}")],
                    "percentunit"),
         table("SLOs", [(f"max by (slo, service) (lookout_slo_objective_ratio{{{node}}})", "objective"),
                        (f"max by (slo, service) (lookout_slo_period_seconds{{{node}}})", "period")], h=6),
         ], tags=["slo"])


# --- Payments --------------------------------------------------------------------------------
def payments():
    sel = 'provider=~"$provider", method=~"$method"'
    node = f'cluster=~"$cluster", {sel}'
    span = 'cluster=~"$cluster", service_name=~"$service", span_kind="SPAN_KIND_SERVER"'
    rate = lambda what: f"sum by (provider, method) (rate(lookout_payment_{what}_total{{{node}}}[{RATE}]))"
    fleet_ratio = lambda what: (f'sum(lookout:payment_{what}:increase{{{sel}, window="$window"}})'
                                f' / sum(lookout:payment_attempts:increase{{{sel}, window="$window"}})')
    return dashboard(
        "lookout-payments", "lookout / Payments",
        "Payment success ratio per provider and method. Declines (the customer's bank said no) "
        "are counted apart from errors (our system failed).",
        [CLUSTER,
         query_var("provider", 'label_values(lookout_payment_attempts_total{cluster=~"$cluster"}, provider)'),
         query_var("method", 'label_values(lookout_payment_attempts_total{cluster=~"$cluster", provider=~"$provider"}, method)'),
         custom_var("window", ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"], "1h"),
         query_var("service", 'label_values(traces_span_metrics_calls_total{cluster=~"$cluster"}, service_name)',
                   label="service (latency)")],
        [row("Success"),
         stat("Success ratio ($window, fleet)", [(fleet_ratio("successes"),)],
              "percentunit", w=8, h=5, thresholds=[(None, "red"), (0.9, "orange"), (0.95, "green")],
              description="Successful over attempted payments of the selected providers and methods, summed before dividing."),
         stat("Decline ratio ($window, fleet)", [(fleet_ratio("declines"),)], "percentunit", w=8, h=5),
         stat("Error ratio ($window, fleet)", [(fleet_ratio("errors"),)],
              "percentunit", w=8, h=5, thresholds=[(None, "green"), (0.001, "orange"), (0.01, "red")]),
         timeseries("Success ratio by provider and method ($window)", [
             (f'lookout:payment_success_ratio{{{sel}, window="$window"}}', "{{provider}} {{method}}")],
                    "percentunit", w=24, h=9),
         row("Declines vs errors"),
         timeseries("Attempts per second", [(rate("attempts"), "{{provider}} {{method}}")], "reqps"),
         timeseries("Declines and errors per second", [
             (rate("declines"), "{{provider}} {{method}} declines"),
             (rate("errors"), "{{provider}} {{method}} errors")], "reqps"),
         timeseries("Decline ratio ($window)", [(f'lookout:payment_decline_ratio{{{sel}, window="$window"}}', "{{provider}} {{method}}")],
                    "percentunit"),
         timeseries("Error ratio ($window)", [(f'lookout:payment_error_ratio{{{sel}, window="$window"}}', "{{provider}} {{method}}")],
                    "percentunit"),
         row("Latency"),
         timeseries("Payment latency p50 / p95 / p99 (span metrics)", [
             target(f"histogram_quantile({q}, sum by (service_name, le) (rate(traces_span_metrics_duration_milliseconds_bucket{{{span}}}[{RATE}])))",
                    f"{{{{service_name}}}} p{int(q * 100)}", exemplar=True) for q in (0.5, 0.95, 0.99)],
                    "ms", w=24),
         ], tags=["payments", "slo"])


# --- Agent health ----------------------------------------------------------------------------
def agent():
    sel = 'cluster=~"$cluster", instance=~"$instance"'
    return dashboard(
        "lookout-agent", "lookout / Agent health",
        "The lookout agents themselves: collectors, scrapes, the span pipeline and its queue.",
        [CLUSTER, node_var()],
        [row("Agents"),
         stat("Agents up", [(f'sum(up{{job="lookout", {sel}}})',)], w=6),
         stat("Agents down", [(f'count(up{{job="lookout", {sel}}} == 0) or vector(0)',)], w=6,
              thresholds=[(None, "green"), (1, "red")]),
         stat("Failing collectors", [(f'count(lookout_collector_success{{{sel}}} == 0) or vector(0)',)], w=6,
              thresholds=[(None, "green"), (1, "orange")]),
         stat("Spans dropped (1h)", [(f'sum(increase(lookout_trace_spans_dropped_total{{{sel}}}[1h])) or vector(0)',)], w=6,
              thresholds=[(None, "green"), (1, "red")]),
         table("Versions", [(f'lookout_build_info{{{sel}}}',)], h=5),
         row("Collectors"),
         timeseries("Collector duration", [(f'max by (collector) (lookout_collector_duration_seconds{{{sel}}})', "{{collector}}")], "s"),
         state_timeline("Collector success", [(f'min by (collector) (lookout_collector_success{{{sel}}})', "{{collector}}")]),
         timeseries("Collector errors", [(f'sum by (collector, reason) (rate(lookout_collector_errors_total{{{sel}}}[{RATE}]))',
                                          "{{collector}} {{reason}}")]),
         timeseries("/metrics answers", [(f'sum by (format, encoding) (rate(lookout_metrics_scrapes_total{{{sel}}}[{RATE}]))',
                                          "{{format}} {{encoding}}")], "reqps"),
         row("Application scrapes"),
         timeseries("Targets up", [(f'sum by (job) (lookout_scrape_target_up{{{sel}}})', "{{job}}")]),
         timeseries("Scrape duration", [(f'max by (job, instance) (lookout_scrape_duration_seconds{{{sel}}})', "{{job}} {{instance}}")], "s"),
         timeseries("Samples per scrape", [(f'sum by (job) (lookout_scrape_samples{{{sel}}})', "{{job}}")]),
         timeseries("Scrape failures", [(f'sum by (job, reason) (rate(lookout_scrape_target_failures_total{{{sel}}}[{RATE}]))',
                                         "{{job}} {{reason}}")]),
         row("Spans"),
         timeseries("Span pipeline", [
             (f'sum(rate(lookout_trace_spans_received_total{{{sel}}}[{RATE}]))', "received"),
             (f'sum(rate(lookout_trace_spans_accepted_total{{{sel}}}[{RATE}]))', "accepted"),
             (f'sum(rate(lookout_trace_spans_exported_total{{{sel}}}[{RATE}]))', "exported")], "short"),
         timeseries("Spans refused and dropped", [
             (f'sum by (reason) (rate(lookout_trace_spans_refused_total{{{sel}}}[{RATE}]))', "refused {{reason}}"),
             (f'sum by (reason) (rate(lookout_trace_spans_dropped_total{{{sel}}}[{RATE}]))', "dropped {{reason}}")], "short",
                    description="Refused: the sender was told (429/503/400) and keeps the spans. Dropped: accepted, never delivered."),
         timeseries("Span queue fill", [(f'lookout_trace_queue_bytes{{{sel}}} / lookout_trace_queue_capacity_bytes{{{sel}}}',
                                         "{{instance}} {{queue}}")], "percentunit", minmax=(0, 1),
                    thresholds=[(None, "green"), (0.8, "red")]),
         timeseries("Export latency", [
             (f'histogram_quantile(0.5, sum by (le) (rate(lookout_trace_export_duration_seconds_bucket{{{sel}}}[{RATE}])))', "p50"),
             (f'histogram_quantile(0.99, sum by (le) (rate(lookout_trace_export_duration_seconds_bucket{{{sel}}}[{RATE}])))', "p99")], "s"),
         timeseries("Export attempts", [
             (f'sum by (result) (rate(lookout_trace_export_requests_total{{{sel}}}[{RATE}]))', "{{result}}"),
             (f'sum(rate(lookout_trace_export_retries_total{{{sel}}}[{RATE}]))', "retries")], "reqps"),
         timeseries("Span metrics series", [(f'lookout_span_metrics_series{{{sel}}}', "{{instance}}")]),
         row("SLO engine"),
         timeseries("SLO tick duration", [(f'max by (phase) (lookout_slo_tick_duration_seconds{{{sel}}})', "{{phase}}")], "s"),
         timeseries("SLO engine memory", [(f'lookout_slo_memory_bytes{{{sel}}}', "{{instance}}")], "bytes"),
         ], tags=["agent"])


DASHBOARDS = {"node-overview": node_overview, "pods": pods, "application-red": red,
              "slo": slos, "payments": payments, "agent-health": agent}


def render_dashboards():
    return {f"dashboards/{name}.json": json.dumps(build(), indent=2) + "\n"
            for name, build in DASHBOARDS.items()}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the dashboard JSON) as literal blocks, readable in a diff."""


_BlockDumper.add_representer(str, lambda dumper, s: dumper.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def render_configmaps(files):
    docs = []
    for path, text in files.items():
        name = os.path.basename(path)
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "lookout-dashboard-" + name[:-len(".json")],
                                  "namespace": "lookout",
                                  "labels": {"app.kubernetes.io/name": "lookout",
                                             "grafana_dashboard": "1"},
                                  "annotations": {"grafana_folder": "lookout"}},
                     "data": {name: text}})
    return ("# Generated by scripts/gen-dashboards.py from the dashboards/ it writes: do not edit.\n"
            "# Picked up by the Grafana sidecar (label grafana_dashboard=\"1\", folder annotation\n"
            "# grafana_folder), e.g. kube-prometheus-stack's.\n" +
            yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=False, width=1 << 20))


def render():
    files = render_dashboards()
    files["deploy/grafana-dashboards.yaml"] = render_configmaps(files)
    return files


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for rel, text in render().items():
        path = os.path.join(REPO, rel)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(rel)
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        print("stale (run scripts/gen-dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
