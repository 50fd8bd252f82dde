#!/usr/bin/env python3
"""Drop-in for kube-prometheus: its own rules and dashboard queries, unmodified, answer from
lookout as they answer from node_exporter and cAdvisor.

Read from ../shared/peers/kube-prometheus/ (kube-prometheus's rendered manifests; skipped with
exit 77 when absent):
  - the rule groups about node_exporter and cAdvisor: node-exporter, node-exporter.rules,
    node-network, node.rules, kube-prometheus-node-recording.rules, the k8s.rules.container_*
    groups, k8s.rules.pod_owner, and the CPUThrottlingHigh alert;
  - the node, USE, k8s-resources and networking dashboards' queries and variable queries, with
    the variables expanded.
Two real Prometheus servers load those rules:
  - A scrapes lookout with exactly the labels deploy/kube-prometheus/'s ServiceMonitors give,
    translated as prometheus-operator translates them (scripts/gen-scrape-configs.py), the
    discovery labels of an agent pod on node-a standing in for Kubernetes discovery;
  - B, the reference, scrapes a real node_exporter 1.5 run with kube-prometheus's DaemonSet
    flags, labelled by kube-prometheus's own node-exporter ServiceMonitor, translated the same
    way.
Both run on the same fixture trees (tests/fixtures/node, the v2 systemd/containerd pods) and
scrape one stand-in kube-state-metrics, which serves kube_pod_info, kube_pod_owner and the other
families the joins need for the fixture pods, the two exporters' pods and a few pods of other
owner kinds on node-b. Transport (https, bearer tokens) is not translated: the peers here speak
plain HTTP; every label is. Scrapes and rule evaluations run every second.

What must hold:
  - every vector selector of those rules and dashboards that B answers and that selects
    node_exporter's data (node_* names, node recording rules, job="node-exporter"), A answers;
  - every selector of cAdvisor's data (container_* names, job="kubelet",
    metrics_path="/metrics/cadvisor") answers in A;
  - every recording rule of those groups produces series in A.
The counts are printed (README, "Drop into kube-prometheus").
Usage: kube_prometheus_test.py /path/to/lookout
"""
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

import yaml

from harness import FIXTURES, REPO, Harness, fail, free_port, prom_query, wait_for
from kubelet import TestKubelet

SKIP = 77
PEERS = os.path.join(os.path.dirname(REPO), "shared", "peers", "kube-prometheus")
PODS = os.path.join(FIXTURES, "pods", "v2_systemd_containerd")
NODE = os.path.join(FIXTURES, "node")
NODE_NAME = "node-a"
RULE_GROUPS = {"node-exporter", "node-exporter.rules", "node-network", "node.rules",
               "kube-prometheus-node-recording.rules", "k8s.rules.pod_owner"}
DASHBOARDS = re.compile(r"^(nodes|node-rsrc-use|node-cluster-rsrc-use|cluster-total|"
                        r"namespace-by-pod|namespace-by-workload|pod-total|workload-total|"
                        r"k8s-resources-(?!windows).*)\.json$")
# Dashboard variables, each set to a value the fixture cluster has.
VARIABLES = {"cluster": "", "instance": NODE_NAME, "node": NODE_NAME, "namespace": "payments",
             "pod": "payments-api-7d9f8b6c5-x2k4p", "workload": "payments-api",
             "type": "deployment", "__rate_interval": "1m", "__interval": "30s",
             "interval": "5m", "resolution": "30s"}
# Pods of other owner kinds elsewhere in the cluster, so each k8s.rules.pod_owner rule has input:
# (namespace, name, owner kind, owner name, owner's owner kind, owner's owner name).
OTHER_PODS = [
    ("data", "postgres-0", "StatefulSet", "postgres", None, None),
    ("kube-system", "etcd-node-b", "Node", "node-b", None, None),
    ("default", "debug-shell", "", "", None, None),
    ("batch", "nightly-28871520-x1", "Job", "nightly-28871520", "CronJob", "nightly"),
    ("web", "frontend-6c8f9-abcde", "ReplicaSet", "frontend-6c8f9", "Rollout", "frontend"),
    ("web", "legacy-5d4c3-fghij", "ReplicaSet", "legacy-5d4c3", "", ""),
]


def load_peer(name):
    with open(os.path.join(PEERS, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def load_script(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name.replace("-", "_")[:-3],
                                                  os.path.join(REPO, "scripts", name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rule_groups():
    groups = []
    for f in ("nodeExporter-prometheusRule.yaml", "kubernetesControlPlane-prometheusRule.yaml",
              "kubePrometheus-prometheusRule.yaml"):
        for g in load_peer(f)[0]["spec"]["groups"]:
            if g["name"] in RULE_GROUPS or g["name"].startswith("k8s.rules.container_"):
                groups.append(g)
            elif g["name"] == "kubernetes-resources":
                groups.append(dict(g, rules=[r for r in g["rules"]
                                             if r.get("alert") == "CPUThrottlingHigh"]))
    return groups


def expand(expr):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in VARIABLES:
            fail(f"dashboard variable ${name} has no test value: {expr}")
        return VARIABLES[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sub, expr)


def dashboard_queries():
    """{dashboard file: [expanded query, ...]} (panel targets and variable queries)."""
    out = {}
    for cm in load_peer("grafana-dashboardDefinitions.yaml")[0]["items"]:
        for name, body in cm["data"].items():
            if not DASHBOARDS.match(name):
                continue
            exprs = []

            def walk(o):
                if isinstance(o, dict):
                    for k, v in o.items():
                        if k == "expr" and isinstance(v, str):
                            exprs.append(v)
                        elif k == "query" and isinstance(v, str) and "label_values(" in v:
                            exprs.append(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v))
                        else:
                            walk(v)
                elif isinstance(o, list):
                    for x in o:
                        walk(x)
            walk(json.loads(body))
            out[name] = [expand(e) for e in exprs]
    return out


def selectors(exprs):
    """The vector selectors of each expression, by Prometheus's own grammar (lezer-promql)."""
    r = subprocess.run(["node", os.path.join(REPO, "tests", "peers", "promql_selectors.mjs")],
                       input=json.dumps(exprs), capture_output=True, text=True,
                       cwd=os.path.join(REPO, "tests", "peers"))
    if r.returncode != 0:
        fail(f"promql_selectors.mjs: {r.stderr}")
    out = []
    for expr, res in zip(exprs, json.loads(r.stdout)):
        if "error" in res:
            fail(f"kube-prometheus expression does not parse: {res['error']}: {expr}")
        out += res["selectors"]
    return out


def classify(selector):
    name = re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*", selector)
    name = name.group(0) if name else ""
    if (name.startswith("container_") or ":container_" in name
            or 'metrics_path="/metrics/cadvisor"' in selector):
        return "cadvisor"
    if (name.startswith(("node_", "instance:node_", "instance_device:node_", "node:",
                         ":node_", "cluster:node_")) or 'job="node-exporter"' in selector):
        return "node"
    return "other"


# --- the stand-in kube-state-metrics ------------------------------------------------------------

def ksm_body(pods):
    """kube-state-metrics' text exposition of the families the rules and dashboards join with,
    for `pods` (PodList items), as kube-state-metrics 2 names and labels them."""
    lines = []

    def add(name, labels, value=1):
        lines.append(name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "} " +
                     repr(float(value)))

    namespaces, replicasets, jobs, nodes = set(), {}, {}, set()
    for p in pods:
        m, spec, st = p["metadata"], p["spec"], p.get("status", {})
        ns, name, uid, node = m["namespace"], m["name"], m["uid"], spec.get("nodeName", "")
        namespaces.add(ns)
        nodes.add(node)
        owners = m.get("ownerReferences") or [{}]
        o = owners[0]
        add("kube_pod_info", {"namespace": ns, "pod": name, "uid": uid,
                              "host_ip": st.get("hostIP", ""), "pod_ip": st.get("podIP", ""),
                              "node": node, "created_by_kind": o.get("kind", ""),
                              "created_by_name": o.get("name", ""), "priority_class": "",
                              "host_network": str(bool(spec.get("hostNetwork"))).lower()})
        add("kube_pod_owner", {"namespace": ns, "pod": name, "uid": uid,
                               "owner_kind": o.get("kind", ""), "owner_name": o.get("name", ""),
                               "owner_is_controller": str(bool(o.get("controller"))).lower()
                               if o else ""})
        phase = st.get("phase", "Unknown")
        for ph in ("Pending", "Succeeded", "Failed", "Unknown", "Running"):
            add("kube_pod_status_phase", {"namespace": ns, "pod": name, "uid": uid, "phase": ph},
                1 if ph == phase else 0)
        for c in spec.get("containers", []):
            for kind in ("requests", "limits"):
                for resource, q in c.get("resources", {}).get(kind, {}).items():
                    value = float(q[:-1]) / 1000 if q.endswith("m") else float(q)
                    add(f"kube_pod_container_resource_{kind}",
                        {"namespace": ns, "pod": name, "uid": uid, "container": c["name"],
                         "node": node, "resource": resource,
                         "unit": "core" if resource == "cpu" else "byte"}, value)
        parent = p.get("_owner_owner")
        if o.get("kind") == "ReplicaSet":
            kind, owner = parent or ("Deployment", o["name"].rsplit("-", 1)[0])
            replicasets[(ns, o["name"])] = (kind, owner)
        if o.get("kind") == "Job":
            jobs[(ns, o["name"])] = parent or ("", "")
    for (ns, rs), (kind, owner) in sorted(replicasets.items()):
        add("kube_replicaset_owner", {"namespace": ns, "replicaset": rs, "owner_kind": kind,
                                      "owner_name": owner, "owner_is_controller": "true"})
    for (ns, job), (kind, owner) in sorted(jobs.items()):
        add("kube_job_owner", {"namespace": ns, "job_name": job, "owner_kind": kind,
                               "owner_name": owner,
                               "owner_is_controller": "true" if kind else ""})
    for ns in sorted(namespaces):
        add("kube_namespace_status_phase", {"namespace": ns, "phase": "Active"})
    for node in sorted(n for n in nodes if n):
        add("kube_node_info", {"node": node, "kernel_version": "6.1.0", "os_image": "Debian 12",
                               "container_runtime_version": "containerd://1.7.24",
                               "kubelet_version": "v1.31.4", "internal_ip": "10.0.0.11"})
    return "\n".join(lines) + "\n"


def cluster_pods(extra):
    """The fixture node's pods, the exporters' pods (`extra`) and OTHER_PODS."""
    with open(os.path.join(PODS, "pods.json")) as f:
        pods = json.load(f)["items"]
    for ns, name, container in extra:
        pods.append({"metadata": {"namespace": ns, "name": name, "uid": f"uid-{name}",
                                  "ownerReferences": [{"kind": "DaemonSet", "controller": True,
                                                       "name": name.rsplit("-", 1)[0]}]},
                     "spec": {"nodeName": NODE_NAME, "hostNetwork": True,
                              "containers": [{"name": container}]},
                     "status": {"phase": "Running", "hostIP": "10.0.0.11", "podIP": "10.0.0.11"}})
    for ns, name, kind, owner, parent_kind, parent in OTHER_PODS:
        p = {"metadata": {"namespace": ns, "name": name, "uid": f"uid-{name}",
                          "ownerReferences": [{"kind": kind, "name": owner,
                                               "controller": True}] if kind else []},
             "spec": {"nodeName": "node-b", "containers": [{"name": "main", "resources": {
                 "requests": {"cpu": "100m", "memory": "67108864"},
                 "limits": {"cpu": "1", "memory": "134217728"}}}]},
             "status": {"phase": "Running", "hostIP": "10.0.0.12", "podIP": "10.244.2.9"}}
        if parent_kind is not None:
            p["_owner_owner"] = (parent_kind, parent)
        pods.append(p)
    return pods


def serve(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- scrape configs, as prometheus-operator writes them ------------------------------------------

def discovered(target, service, port_name, pod, container):
    """One static target carrying the labels Kubernetes endpoints discovery gives a Pod behind
    `service` (a Service manifest, or a {namespace, name, labels} stand-in)."""
    meta = service["metadata"]
    labels = {"__meta_kubernetes_namespace": meta["namespace"],
              "__meta_kubernetes_service_name": meta["name"],
              "__meta_kubernetes_endpoint_port_name": port_name,
              "__meta_kubernetes_endpoint_address_target_kind": "Pod",
              "__meta_kubernetes_endpoint_address_target_name": pod,
              "__meta_kubernetes_pod_name": pod,
              "__meta_kubernetes_pod_node_name": NODE_NAME,
              "__meta_kubernetes_pod_container_name": container}
    for k, v in meta.get("labels", {}).items():
        key = re.sub(r"[^a-zA-Z0-9_]", "_", k)
        labels[f"__meta_kubernetes_service_label_{key}"] = v
        labels[f"__meta_kubernetes_service_labelpresent_{key}"] = "true"
    return {"targets": [target], "labels": labels}


def scrape_configs(gen, servicemonitor, endpoint_index, static):
    sc = gen.scrape_configs(servicemonitor)[endpoint_index]
    sc.pop("kubernetes_sd_configs")
    for transport in ("scheme", "tls_config", "bearer_token_file"):
        sc.pop(transport, None)
    sc["static_configs"] = [static]
    sc["scrape_interval"] = sc["scrape_timeout"] = "1s"
    return sc


def prometheus_yaml(scrape, rules_file):
    return yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                           "rule_files": [rules_file], "scrape_configs": scrape})


# --- the test ----------------------------------------------------------------------------------

def main(lookout):
    if not os.path.isdir(PEERS):
        print(f"SKIP: {PEERS} is absent (kube-prometheus's rendered manifests, test data from "
              "peers); the kube-prometheus drop-in is not checked")
        sys.exit(SKIP)
    gen = load_script("gen-scrape-configs.py")
    groups = rule_groups()
    rules = [r for g in groups for r in g["rules"]]
    records = [r for r in rules if "record" in r]
    queries = dashboard_queries()
    all_exprs = [r["expr"] for r in rules] + [q for qs in queries.values() for q in qs]
    sels = sorted(set(selectors(all_exprs)))
    by_class = {c: [s for s in sels if classify(s) == c] for c in ("node", "cadvisor", "other")}

    with Harness() as h:
        rules_file = h.path("kube-prometheus-rules.yml")
        with open(rules_file, "w") as f:
            yaml.safe_dump({"groups": groups}, f)
        token = h.path("token")
        with open(token, "w") as f:
            f.write("kp-token\n")
        kubelet = TestKubelet(h.tmp.name, os.path.join(PODS, "pods.json"), "kp-token")
        try:
            run(h, lookout, gen, kubelet, token, rules_file, by_class, records, queries)
        finally:
            kubelet.stop()


def run(h, lookout, gen, kubelet, token, rules_file, by_class, records, queries):
    # lookout as deploy/ configures it, on the fixture trees.
    with open(os.path.join(REPO, "deploy", "lookout.yaml")) as f:
        config = yaml.safe_load(f)
    config["kubernetes"].update({"node_name": NODE_NAME, "kubelet_url": kubelet.url,
                                 "token_file": token, "ca_file": kubelet.ca_file,
                                 "refresh_interval": "1s"})
    config.setdefault("pods", {})["cgroupfs"] = os.path.join(PODS, "cgroup")
    cfg = h.path("lookout.yaml")
    with open(cfg, "w") as f:
        yaml.safe_dump(config, f)
    _, port = h.start_lookout(lookout, ["--config", cfg, f"--path.procfs={NODE}/proc",
                                        f"--path.sysfs={NODE}/sys", f"--path.rootfs={NODE}/root"])

    # node_exporter with kube-prometheus's DaemonSet flags, its paths on the same trees.
    ne_ds = load_peer("nodeExporter-daemonset.yaml")[0]
    ne_container = next(c for c in ne_ds["spec"]["template"]["spec"]["containers"]
                        if c["name"] == "node-exporter")
    paths = {"--path.sysfs": f"{NODE}/sys", "--path.rootfs": f"{NODE}/root",
             "--path.procfs": f"{NODE}/proc", "--path.udev.data": f"{NODE}/root/run/udev/data"}
    ne_port = free_port()
    argv = ["/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}"]
    for a in ne_container["args"]:
        flag = a.split("=", 1)[0]
        if flag == "--web.listen-address":
            continue
        argv.append(f"{flag}={paths[flag]}" if flag in paths else a)
    ne = h.start(argv, "node_exporter")
    wait_for("node_exporter", lambda: ne.poll() is None and port_open(ne_port), timeout=20)
    if ne.poll() is not None:
        fail(f"node_exporter with kube-prometheus's flags exited: {h.log(ne)}")

    # The pods of the two exporters, as their DaemonSets name them on node-a.
    lookout_pod, ne_pod = f"lookout-{NODE_NAME}", f"node-exporter-{NODE_NAME}"
    with open(os.path.join(REPO, "deploy", "service.yaml")) as f:
        lookout_svc = yaml.safe_load(f)
    with open(os.path.join(REPO, "deploy", "daemonset.yaml")) as f:
        lookout_container = yaml.safe_load(f)["spec"]["template"]["spec"]["containers"][0]["name"]
    ne_svc = load_peer("nodeExporter-service.yaml")[0]
    ne_port_name = ne_svc["spec"]["ports"][0]["name"]
    ne_port_container = next(c["name"] for c in ne_ds["spec"]["template"]["spec"]["containers"]
                             if any(p.get("name") == ne_port_name for p in c.get("ports", [])))
    ksm_sm = load_peer("kubeStateMetrics-serviceMonitor.yaml")[0]
    ksm_svc = {"metadata": {"namespace": ksm_sm["metadata"]["namespace"],
                            "name": "kube-state-metrics",
                            "labels": ksm_sm["spec"]["selector"]["matchLabels"]}}
    pods = cluster_pods([(lookout_svc["metadata"]["namespace"], lookout_pod, lookout_container),
                         (ne_svc["metadata"]["namespace"], ne_pod, ne_port_container)])
    ksm = serve(ksm_body(pods))
    ksm_target = discovered(f"127.0.0.1:{ksm.server_address[1]}", ksm_svc,
                            ksm_sm["spec"]["endpoints"][0]["port"], "kube-state-metrics-0",
                            "kube-rbac-proxy-main")
    ksm_job = scrape_configs(gen, ksm_sm, 0, ksm_target)
    try:
        # A: lookout, through the ServiceMonitors `kubectl apply -k deploy/kube-prometheus` installs.
        lookout_target = discovered(f"127.0.0.1:{port}", lookout_svc,
                                    lookout_svc["spec"]["ports"][0]["name"], lookout_pod,
                                    lookout_container)
        a_jobs = [ksm_job]
        for sm in gen.overlay_servicemonitors():
            for i in range(len(sm["spec"]["endpoints"])):
                a_jobs.append(scrape_configs(gen, sm, i, lookout_target))
        # B: node_exporter, through kube-prometheus's own node-exporter ServiceMonitor.
        ne_target = discovered(f"127.0.0.1:{ne_port}", ne_svc, ne_port_name, ne_pod,
                               ne_port_container)
        ne_sm = load_peer("nodeExporter-serviceMonitor.yaml")[0]
        b_jobs = [ksm_job, scrape_configs(gen, ne_sm, 0, ne_target)]
        _, pa = h.start_prometheus(prometheus_yaml(a_jobs, rules_file), "prometheus-lookout")
        _, pb = h.start_prometheus(prometheus_yaml(b_jobs, rules_file), "prometheus-reference")
        check(pa, pb, by_class, records, queries)
    finally:
        ksm.shutdown()


def port_open(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def answered(port, selector):
    return bool(prom_query(port, selector))


def check(pa, pb, by_class, records, queries):
    for port, jobs in ((pa, {"lookout", "node-exporter", "kubelet", "kube-state-metrics"}),
                       (pb, {"node-exporter", "kube-state-metrics"})):
        wait_for(f"every target up on :{port}",
                 lambda: {r["metric"]["job"] for r in prom_query(port, "up == 1")} >= jobs,
                 timeout=30)
    # Rules reading rates need two samples and some read other records: poll until every
    # recording rule answers in A (or give up and report what does not).
    deadline = time.time() + 40
    missing = records
    while time.time() < deadline:
        missing = [r for r in records if not answered(pa, r["expr"])]
        if not missing:
            break
        time.sleep(2)
    ref_records = sum(answered(pb, r["expr"]) for r in records)

    node_ref = [s for s in by_class["node"] if answered(pb, s)]
    node_missing = [s for s in node_ref if not answered(pa, s)]
    cadvisor_missing = [s for s in by_class["cadvisor"] if not answered(pa, s)]
    other_answered = sum(answered(pa, s) for s in by_class["other"])
    print(f"recording rules: {len(records) - len(missing)} of {len(records)} produce series from "
          f"lookout ({ref_records} from node_exporter, which has no container metrics)")
    print(f"node_exporter selectors: lookout answers {len(node_ref) - len(node_missing)} of the "
          f"{len(node_ref)} that node_exporter answers ({len(by_class['node'])} in all; the "
          f"others need collectors node_exporter leaves off or files the fixture host lacks)")
    unanswered = sorted({re.match(r"[^{]*", s).group(0) for s in by_class["node"]
                         if s not in node_ref})
    print(f"  node_exporter answers none of: {', '.join(unanswered)}")
    print(f"cAdvisor selectors: lookout answers {len(by_class['cadvisor']) - len(cadvisor_missing)} "
          f"of {len(by_class['cadvisor'])}")
    print(f"other selectors (kube-state-metrics, the stand-in): {other_answered} of "
          f"{len(by_class['other'])} answer")
    print(f"dashboards: {', '.join(sorted(queries))}")
    problems = []
    if missing:
        problems.append("recording rules without series: " +
                        "; ".join(f"{r['record']} = {' '.join(r['expr'].split())[:160]}"
                                  for r in missing))
    if node_missing:
        problems.append("node_exporter selectors lookout does not answer: " + "; ".join(node_missing))
    if cadvisor_missing:
        problems.append("cAdvisor selectors lookout does not answer: " + "; ".join(cadvisor_missing))
    if problems:
        fail("\n".join(problems))


if __name__ == "__main__":
    main(sys.argv[1])
