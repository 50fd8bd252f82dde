#!/usr/bin/env python3
"""Prometheus scrape_configs equivalent to the ServiceMonitors of deploy/kube-prometheus/, for
Prometheus servers without prometheus-operator:

    scripts/gen-scrape-configs.py > deploy/kube-prometheus/prometheus-scrape-configs.yaml

Each ServiceMonitor endpoint is translated as prometheus-operator translates it
(pkg/prometheus/promcfg.go, generateServiceMonitorConfig, role "endpoints"): the service label
selector and port become keep rules; node, pod, namespace, service and container target labels
come from the endpoints' discovery labels; job is the service name, or the jobLabel's value;
endpoint is the port name; the endpoint's relabelings come last, then metricRelabelings. The
operator's sharding rule (hashmod over shards) is left out: one Prometheus is one shard.

integration.kube_prometheus imports scrape_configs() to scrape lookout with exactly the labels
the shipped ServiceMonitors give (and kube-prometheus's own node-exporter ServiceMonitor for
the reference), and checks the file above is what this script writes.
"""
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(REPO, "deploy", "kube-prometheus")
RELABEL_KEYS = (("sourceLabels", "source_labels"), ("separator", "separator"),
                ("targetLabel", "target_label"), ("regex", "regex"), ("modulus", "modulus"),
                ("replacement", "replacement"), ("action", "action"))


def sanitize(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def relabel(rules):
    out = []
    for r in rules or []:
        c = {}
        for camel, snake in RELABEL_KEYS:
            if r.get(camel) not in (None, "", []):
                c[snake] = r[camel].lower() if camel == "action" else r[camel]
        out.append(c)
    return out


def scrape_configs(sm):
    """The scrape configs prometheus-operator generates for ServiceMonitor `sm` (a dict)."""
    meta, spec = sm["metadata"], sm["spec"]
    ns_sel = spec.get("namespaceSelector", {})
    namespaces = [] if ns_sel.get("any") else ns_sel.get("matchNames") or [meta["namespace"]]
    out = []
    for i, ep in enumerate(spec["endpoints"]):
        sd = {"role": "endpoints"}
        if namespaces:
            sd["namespaces"] = {"names": namespaces}
        cfg = {"job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/{i}",
               "honor_labels": bool(ep.get("honorLabels", False))}
        if "honorTimestamps" in ep:
            cfg["honor_timestamps"] = ep["honorTimestamps"]
        cfg["kubernetes_sd_configs"] = [sd]
        for camel, snake in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"),
                             ("path", "metrics_path"), ("scheme", "scheme"),
                             ("bearerTokenFile", "bearer_token_file")):
            if camel in ep:
                cfg[snake] = ep[camel]
        if "tlsConfig" in ep:
            tls = ep["tlsConfig"]
            cfg["tls_config"] = {"insecure_skip_verify": bool(tls.get("insecureSkipVerify"))}
        rc = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
        for k in sorted(spec["selector"].get("matchLabels", {})):
            rc.append({"action": "keep",
                       "source_labels": [f"__meta_kubernetes_service_label_{sanitize(k)}",
                                         f"__meta_kubernetes_service_labelpresent_{sanitize(k)}"],
                       "regex": f"({spec['selector']['matchLabels'][k]});true"})
        if spec["selector"].get("matchExpressions"):
            raise ValueError(f"{meta['name']}: matchExpressions are not translated here")
        if ep.get("port"):
            rc.append({"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                       "regex": ep["port"]})
        kind = ["__meta_kubernetes_endpoint_address_target_kind",
                "__meta_kubernetes_endpoint_address_target_name"]
        rc += [
            {"source_labels": kind, "separator": ";", "regex": "Node;(.*)", "replacement": "${1}",
             "target_label": "node"},
            {"source_labels": kind, "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}",
             "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        ]
        for label in spec.get("targetLabels", []):
            rc.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize(label)}"],
                       "target_label": sanitize(label), "regex": "(.+)", "replacement": "${1}"})
        for label in spec.get("podTargetLabels", []):
            rc.append({"source_labels": [f"__meta_kubernetes_pod_label_{sanitize(label)}"],
                       "target_label": sanitize(label), "regex": "(.+)", "replacement": "${1}"})
        rc.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job",
                   "replacement": "${1}"})
        if spec.get("jobLabel"):
            rc.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}"],
                       "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
        if ep.get("port"):
            rc.append({"target_label": "endpoint", "replacement": ep["port"]})
        rc += relabel(ep.get("relabelings"))
        cfg["relabel_configs"] = rc
        cfg["metric_relabel_configs"] = relabel(ep.get("metricRelabelings"))
        out.append(cfg)
    return out


def merge(base, patch):
    """A strategic merge patch on a custom resource: maps merge, lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base.get(k), v)
        return out
    return patch


def overlay_servicemonitors():
    """The ServiceMonitors `kubectl apply -k deploy/kube-prometheus` installs."""
    with open(os.path.join(OVERLAY, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    docs = []
    for rel in kust["resources"]:
        path = os.path.join(OVERLAY, rel)
        if os.path.isdir(path):
            with open(os.path.join(path, "kustomization.yaml")) as f:
                base = yaml.safe_load(f)
            for r in base["resources"]:
                with open(os.path.join(path, r)) as f:
                    docs += [d for d in yaml.safe_load_all(f) if d]
        else:
            with open(path) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    for p in kust.get("patches", []):
        with open(os.path.join(OVERLAY, p["path"])) as f:
            patch = yaml.safe_load(f)
        for i, d in enumerate(docs):
            if (d["kind"], d["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"]):
                docs[i] = merge(d, patch)
    return [d for d in docs if d["kind"] == "ServiceMonitor"]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def render():
    configs = []
    for sm in overlay_servicemonitors():
        configs += scrape_configs(sm)
    head = ("# Generated by scripts/gen-scrape-configs.py from deploy/kube-prometheus/: the\n"
            "# scrape_configs prometheus-operator generates for those ServiceMonitors, for a\n"
            "# Prometheus without the operator (paste under scrape_configs:). Do not edit.\n")
    return head + yaml.dump({"scrape_configs": configs}, Dumper=_NoAliases, sort_keys=False,
                            width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
