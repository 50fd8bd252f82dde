#!/usr/bin/env python3
"""deploy/: every manifest is checked against the Kubernetes API's schemas, so a typo fails:

  - core kinds: strictly, field by field, against the Kubernetes Python client's models
    (python3-kubernetes, generated from the API's OpenAPI spec): an unknown field, a wrong type
    or a missing required field is an error;
  - prometheus-operator kinds (ServiceMonitor, PrometheusRule): against the CRDs' OpenAPI
    schemas compiled by @kubernetes-models/prometheus-operator (types, enums, required fields);
  - the dashboard ConfigMaps (Grafana sidecar label) hold exactly dashboards/*.json;
  - the PrometheusRule is exactly what scripts/gen-prometheusrule.py makes of alerts/, and each
    of its groups passes `promtool check rules`;
  - the kustomization lists files that exist, the agent config passes `lookout --config.check`;
  - the DaemonSet has what the design asks (tolerations, host mounts read-only, downward API,
    probes, resources, non-root, read-only root, no capabilities, RuntimeDefault seccomp);
  - deploy/autoscaling/ (opt-in examples, not in the kustomization): the HPA strictly against the
    client's autoscaling/v2beta2 models (autoscaling/v2 is v2beta2 promoted unchanged; Debian's
    python3-kubernetes has no v2 models) and against kubernetes-models' autoscaling/v2 schema;
    the KEDA ScaledObject against @kubernetes-models/keda's CRD schema and the Prometheus
    trigger's documented metadata keys; the adapter rules' fields, and every query they and the
    ScaledObject hold load in `promtool check rules` and read alerts/autoscaling.rules.yml's
    series.
The validator is proven on a broken copy first: a misspelt field must be rejected.
Usage: deploy_test.py /path/to/lookout
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

from harness import REPO, fail

DEPLOY = os.path.join(REPO, "deploy")
PEERS = os.path.join(REPO, "tests", "peers")
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def model_class(api_version, kind):
    import kubernetes.client as k
    group_version = api_version.split("/")
    version = group_version[-1]
    if api_version == "autoscaling/v2" and not hasattr(k, "V2" + kind):
        version = "v2beta2"  # the same schema, promoted to v2 in Kubernetes 1.23
    name = version[0].upper() + version[1:] + kind
    return getattr(k, name, None), name


def strict(value, type_name, path, errors):
    """Walks `value` against the client model type `type_name`, collecting problems."""
    import kubernetes.client as k
    if type_name == "object":  # IntOrString, Quantity, free-form: anything goes
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for i, v in enumerate(value):
            strict(v, type_name[5:-1], f"{path}[{i}]", errors)
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, v in value.items():
            strict(v, inner, f"{path}.{key}", errors)
        return
    if type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name]) and not (
            type_name != "bool" and isinstance(value, bool))
        if not ok:
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    if type_name == "datetime":
        return
    cls = getattr(k, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a {type_name} mapping")
        return
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, v in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: unknown field (a {type_name} has: "
                          f"{', '.join(sorted(by_json))})")
            continue
        strict(v, cls.openapi_types[by_json[key]], f"{path}.{key}", errors)


def validate_core(doc):
    cls, name = model_class(doc["apiVersion"], doc["kind"])
    where = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
    if cls is None:
        return [f"{where}: no Kubernetes model {name}"]
    errors = []
    strict(doc, name, where, errors)
    if not errors:
        # The models' constructors check required fields and enums.
        import kubernetes.client as k
        try:
            k.ApiClient()._ApiClient__deserialize(doc, name)
        except (ValueError, TypeError) as e:
            errors.append(f"{where}: {e}")
    return errors


def validate_crds(docs):
    r = subprocess.run(["node", os.path.join(PEERS, "validate_crds.mjs")], input=json.dumps(docs),
                       capture_output=True, text=True, cwd=PEERS)
    return [l for l in (r.stdout + r.stderr).splitlines() if l.strip()] if r.returncode else []


def check_daemonset(ds):
    spec = ds["spec"]["template"]["spec"]
    c = spec["containers"][0]
    want = []
    if not any(t.get("operator") == "Exists" and "key" not in t for t in spec.get("tolerations", [])):
        want.append("a toleration for every taint (control-plane nodes included)")
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    for p in ("/host/proc", "/host/sys", "/host/sys/fs/cgroup"):
        if not mounts.get(p, {}).get("readOnly"):
            want.append(f"{p} mounted read-only")
    env = {e["name"]: e for e in c.get("env", [])}
    if env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "spec.nodeName":
        want.append("NODE_NAME from spec.nodeName")
    if env.get("HOST_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "status.hostIP":
        want.append("HOST_IP from status.hostIP")
    ports = {p["containerPort"]: p for p in c.get("ports", [])}
    for p in (9464, 4317, 4318):
        if ports.get(p, {}).get("hostPort") != p and not spec.get("hostNetwork"):
            want.append(f"port {p} on the node")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        want.append("liveness probe on /healthz")
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        want.append("readiness probe on /readyz")
    res = c.get("resources", {})
    if not res.get("requests") or not res.get("limits", {}).get("memory"):
        want.append("resource requests and a memory limit")
    sc, psc = c.get("securityContext", {}), spec.get("securityContext", {})
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        want.append("runAsNonRoot")
    if not sc.get("readOnlyRootFilesystem"):
        want.append("readOnlyRootFilesystem")
    if sc.get("allowPrivilegeEscalation") is not False:
        want.append("allowPrivilegeEscalation: false")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        want.append("all capabilities dropped")
    if (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        want.append("RuntimeDefault seccomp")
    # The state hostPath: writable by the agent, prepared by an init container that holds only
    # CAP_CHOWN, and where lookout.yaml keeps the SLO state.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    state = [m for m in c.get("volumeMounts", []) if "hostPath" in volumes.get(m["name"], {})
             and not m.get("readOnly")]
    with open(os.path.join(DEPLOY, "lookout.yaml")) as f:
        slo_dir = (yaml.safe_load(f).get("slo", {}).get("state", {}) or {}).get("directory", "")
    if len(state) != 1 or not slo_dir.startswith(state[0]["mountPath"] + "/"):
        want.append("one writable hostPath holding lookout.yaml's slo.state.directory")
    else:
        inits = [i for i in spec.get("initContainers", [])
                 if any(m["mountPath"] == state[0]["mountPath"] for m in i.get("volumeMounts", []))]
        isc = inits[0].get("securityContext", {}) if inits else {}
        if (not inits or inits[0]["image"] != c["image"]
                or inits[0].get("args", [])[:2] != ["state-dir", state[0]["mountPath"]]
                or isc.get("capabilities") != {"drop": ["ALL"], "add": ["CHOWN"]}
                or not isc.get("readOnlyRootFilesystem")
                or isc.get("allowPrivilegeEscalation") is not False):
            want.append("an init container (the agent's image, `state-dir` on the state "
                        "hostPath) with only CAP_CHOWN, a read-only root and no escalation")
    return want


def containerfile_runtime():
    """USER, EXPOSE and ENTRYPOINT of the Containerfile's last stage."""
    with open(os.path.join(REPO, "Containerfile")) as f:
        lines = f.read().replace("\\\n", " ").splitlines()
    stage = []
    for line in lines:
        if line.startswith("FROM "):
            stage = []
        stage.append(line)
    out = {"expose": set()}
    for line in stage:
        word, _, rest = line.partition(" ")
        if word == "USER":
            out["user"] = rest.strip()
        elif word == "EXPOSE":
            out["expose"] |= {int(p.split("/")[0]) for p in rest.split()}
        elif word == "ENTRYPOINT":
            out["entrypoint"] = json.loads(rest)
    return out


def check_image(ds, kust):
    """The DaemonSet runs what the Containerfile builds: image name, user, ports, entrypoint."""
    want = []
    spec = ds["spec"]["template"]["spec"]
    c = spec["containers"][0]
    image = containerfile_runtime()
    uid, _, gid = image.get("user", "").partition(":")
    psc = spec.get("securityContext", {})
    if str(psc.get("runAsUser")) != uid or str(psc.get("runAsGroup")) != gid:
        want.append(f"runAsUser/runAsGroup {psc.get('runAsUser')}/{psc.get('runAsGroup')} equal "
                    f"to the image's USER {image.get('user')}")
    ports = {p["containerPort"] for p in c.get("ports", [])}
    if ports != image["expose"]:
        want.append(f"container ports {sorted(ports)} equal to the image's EXPOSE "
                    f"{sorted(image['expose'])}")
    if "command" in c or image.get("entrypoint") != ["/usr/bin/lookout"]:
        want.append("the image's ENTRYPOINT /usr/bin/lookout, with only args in the DaemonSet")
    images = {i["name"]: i for i in kust.get("images", [])}
    name = c["image"].split(":")[0]
    if name != "lookout" or set(images) != {"lookout"}:
        want.append(f"image 'lookout' (scripts/build-image.sh's name), set in one place by the "
                    f"kustomization's images: (DaemonSet has {c['image']!r}, images: "
                    f"{sorted(images)})")
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        version = re.search(r"project\(lookout VERSION ([0-9.]+)", f.read()).group(1)
    if images.get("lookout", {}).get("newTag") != version:
        want.append(f"the kustomization's image tag {images.get('lookout', {}).get('newTag')!r} "
                    f"equal to the version {version} the image is built as")
    return want


def load_kustomization(directory):
    """(kustomization, the documents of its file resources); a listed path that does not exist
    fails the test (directories, i.e. bases, are not read here)."""
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    docs = []
    for rel in kust["resources"]:
        path = os.path.join(directory, rel)
        if not os.path.exists(path):
            fail(f"{os.path.relpath(directory, REPO)}/kustomization.yaml lists {rel}, which "
                 "does not exist")
        if os.path.isfile(path):
            with open(path) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return kust, docs


def main(lookout):
    kust, docs = load_kustomization(DEPLOY)
    for gen in kust.get("configMapGenerator", []):
        for rel in gen.get("files", []):
            r = subprocess.run([lookout, "--config.check", "--config", os.path.join(DEPLOY, rel)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"deploy/{rel}: lookout --config.check: {r.stdout}{r.stderr}")
    listed = {os.path.join(DEPLOY, r) for r in kust["resources"]}
    for path in glob.glob(os.path.join(DEPLOY, "*.yaml")):
        if path not in listed and os.path.basename(path) not in ("kustomization.yaml",
                                                                 "lookout.yaml"):
            fail(f"{path} is not in the kustomization")

    # The validator must catch a typo before its verdict on the real files means anything.
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    broken = copy.deepcopy(ds)
    c = broken["spec"]["template"]["spec"]["containers"][0]
    c["resorces"] = c.pop("resources")
    if not any("resorces: unknown field" in e for e in validate_core(broken)):
        fail("the validator accepted a misspelt field")
    broken = copy.deepcopy(ds)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9464"
    if not validate_core(broken):
        fail("the validator accepted a string port")
    crd = next(d for d in docs if d["kind"] == "ServiceMonitor")
    broken = copy.deepcopy(crd)
    broken["spec"]["endpoints"][0]["interval"] = 30
    if not validate_crds([broken]):
        fail("the CRD validator accepted a number for a duration")

    errors = []
    core = [d for d in docs if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    crds = [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]
    for d in core:
        errors += validate_core(d)
    errors += validate_crds(crds)
    if errors:
        fail("invalid manifests:\n  " + "\n  ".join(errors))
    for d in docs:
        ns = d.get("metadata", {}).get("namespace")
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding") and ns != "lookout":
            fail(f"{d['kind']}/{d['metadata']['name']}: namespace {ns}, want lookout")
    missing = check_daemonset(ds) + check_image(ds, kust)
    if missing:
        fail("DaemonSet lacks: " + "; ".join(missing))
    broken = copy.deepcopy(ds)
    broken["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 1000
    broken["spec"]["template"]["spec"]["containers"][0]["ports"].pop()
    if len(check_image(broken, kust)) != 2:
        fail("check_image accepted a user and ports the image does not have")
    overlay_docs = check_kube_prometheus_overlay(docs)
    autoscaling_docs = check_autoscaling()

    # PrometheusRule == alerts/, and its groups load in Prometheus.
    r = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen-prometheusrule.py")],
                       capture_output=True, text=True, check=True)
    with open(os.path.join(DEPLOY, "prometheusrule.yaml")) as f:
        if f.read() != r.stdout:
            fail("deploy/prometheusrule.yaml differs from alerts/: run "
                 "scripts/gen-prometheusrule.py > deploy/prometheusrule.yaml")
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": rule["spec"]["groups"]}, f)
        f.flush()
        r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"PrometheusRule groups: promtool check rules:\n{r.stdout}{r.stderr}")
    # Dashboard ConfigMaps == dashboards/, labelled for the Grafana sidecar.
    maps = [d for d in docs if d["kind"] == "ConfigMap" and
            d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    files = sorted(glob.glob(os.path.join(REPO, "dashboards", "*.json")))
    shipped = {k: v for d in maps for k, v in d["data"].items()}
    if sorted(shipped) != [os.path.basename(f) for f in files]:
        fail(f"dashboard ConfigMaps hold {sorted(shipped)}, dashboards/ has "
             f"{[os.path.basename(f) for f in files]}: run scripts/gen-dashboards.py")
    for path in files:
        with open(path) as f:
            if shipped[os.path.basename(path)] != f.read():
                fail(f"the ConfigMap of {os.path.basename(path)} differs from dashboards/: "
                     "run scripts/gen-dashboards.py")
    print(f"deploy/kube-prometheus: {len(overlay_docs)} manifests valid; its scrape_configs "
          "file matches scripts/gen-scrape-configs.py")
    print(f"deploy/autoscaling: {len(autoscaling_docs)} examples valid (HPA strictly and against "
          "autoscaling/v2's schema, ScaledObject against KEDA's CRD schema); adapter rules and "
          "queries load in promtool and read the recorded series")
    print(f"deploy: {len(docs)} manifests valid ({len(core)} core, strictly; {len(crds)} "
          "prometheus-operator); PrometheusRule matches alerts/; dashboard ConfigMaps match "
          "dashboards/; DaemonSet meets the design")


def check_kube_prometheus_overlay(base_docs):
    """deploy/kube-prometheus/: files that exist, ServiceMonitors valid against the CRD schema,
    the patch targets a base object, and the plain scrape_configs are the generator's output
    and load in Prometheus (kubernetes_sd_configs swapped for static targets: Debian's
    Prometheus is built without Kubernetes discovery)."""
    overlay = os.path.join(DEPLOY, "kube-prometheus")
    kust, docs = load_kustomization(overlay)
    patches = []
    for p in kust.get("patches", []):
        with open(os.path.join(overlay, p["path"])) as f:
            patch = yaml.safe_load(f)
        if not any((d["kind"], d["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
                   for d in base_docs):
            fail(f"kube-prometheus/{p['path']} patches {patch['kind']}/{patch['metadata']['name']}, "
                 "which deploy/ does not have")
        patches.append(patch)
    gen = load_script("gen-scrape-configs.py")
    patched = [d for d in gen.overlay_servicemonitors()
               if any(d["metadata"]["name"] == p["metadata"]["name"] for p in patches)]
    errors = validate_crds(docs + patched)
    if errors:
        fail("invalid kube-prometheus manifests:\n  " + "\n  ".join(errors))
    r = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen-scrape-configs.py")],
                       capture_output=True, text=True, check=True)
    with open(os.path.join(overlay, "prometheus-scrape-configs.yaml")) as f:
        if f.read() != r.stdout:
            fail("deploy/kube-prometheus/prometheus-scrape-configs.yaml differs from "
                 "scripts/gen-scrape-configs.py's output: regenerate it")
    cfg = yaml.safe_load(r.stdout)
    for sc in cfg["scrape_configs"]:
        sc.pop("kubernetes_sd_configs")
        sc["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(cfg, f)
        f.flush()
        r = subprocess.run(["promtool", "check", "config", f.name], capture_output=True,
                           text=True)
        if r.returncode != 0:
            fail(f"prometheus-scrape-configs.yaml: promtool check config:\n{r.stdout}{r.stderr}")
    return docs + patched


# The Prometheus trigger's metadata keys (KEDA's documentation of the prometheus scaler): the CRD
# types `metadata` as a free string map, so a misspelt key passes its schema and is ignored.
KEDA_PROMETHEUS_KEYS = {"serverAddress", "query", "threshold", "activationThreshold", "namespace",
                        "customHeaders", "ignoreNullValues", "queryParameters", "unsafeSsl",
                        "timeout", "authModes"}
KEDA_PROMETHEUS_REQUIRED = {"serverAddress", "query", "threshold"}


def promtool_exprs(exprs):
    """Problems `promtool check rules` finds in the PromQL expressions `exprs` ({name: expr})."""
    rules = [{"record": f"check:{i}", "expr": e} for i, e in enumerate(exprs.values())]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}, f)
        f.flush()
        r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
    return [] if r.returncode == 0 else [f"{', '.join(exprs)}: {r.stdout}{r.stderr}"]


def adapter_query(template, series, matchers, group_by):
    """prometheus-adapter's expansion of a metricsQuery template (pkg/naming/metrics_query.go):
    <<.Series>>, <<.LabelMatchers>> (comma-joined matchers), <<.GroupBy>> (comma-joined)."""
    return (template.replace("<<.Series>>", series).replace("<<.LabelMatchers>>", matchers)
            .replace("<<.GroupBy>>", group_by))


def check_autoscaling():
    """deploy/autoscaling/: examples a user applies by hand, each valid; none in the
    kustomization (they need prometheus-adapter or KEDA, which deploy/ does not install)."""
    directory = os.path.join(DEPLOY, "autoscaling")
    with open(os.path.join(DEPLOY, "kustomization.yaml")) as f:
        if any(r.startswith("autoscaling") for r in yaml.safe_load(f)["resources"]):
            fail("deploy/kustomization.yaml lists autoscaling/: the examples are opt-in")
    docs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path) as f:
            docs[os.path.basename(path)] = yaml.safe_load(f)
    hpa, scaled, adapter = (docs.get("hpa.yaml"), docs.get("keda-scaledobject.yaml"),
                            docs.get("prometheus-adapter-rules.yaml"))
    if not hpa or not scaled or not adapter:
        fail(f"deploy/autoscaling/ holds {sorted(docs)}: want hpa.yaml, keda-scaledobject.yaml, "
             "prometheus-adapter-rules.yaml")

    # The validators must catch a mistake first.
    broken = copy.deepcopy(hpa)
    target = broken["spec"]["metrics"][0]["pods"]["target"]
    target["avergeValue"] = target.pop("averageValue")
    if not any("avergeValue: unknown field" in e for e in validate_core(broken)):
        fail("the HPA validator accepted a misspelt field")
    broken = copy.deepcopy(hpa)
    del broken["spec"]["metrics"][0]["pods"]["target"]["type"]
    if not validate_crds([broken]):
        fail("the autoscaling/v2 schema accepted a target without a type")
    broken = copy.deepcopy(scaled)
    broken["spec"]["triggers"][0]["metadata"]["threshold"] = 100
    if not validate_crds([broken]):
        fail("the KEDA schema accepted a number for a trigger's metadata")
    errors = validate_core(hpa) + validate_crds([hpa, scaled])

    metric = hpa["spec"]["metrics"][0]
    if (hpa["apiVersion"], metric["type"], metric["pods"]["target"]) != (
            "autoscaling/v2", "Pods", {"type": "AverageValue", "averageValue": "100"}):
        errors.append("hpa.yaml: want an autoscaling/v2 Pods metric with AverageValue 100")
    with open(os.path.join(REPO, "alerts", "autoscaling.rules.yml")) as f:
        recorded = {(r["record"], r.get("labels", {}).get("source"))
                    for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    name = metric["pods"]["metric"]["name"]
    source = metric["pods"]["metric"].get("selector", {}).get("matchLabels", {}).get("source")
    if (name, source) not in recorded:
        errors.append(f"hpa.yaml reads {name}{{source={source!r}}}, which "
                      f"alerts/autoscaling.rules.yml does not record ({sorted(recorded)})")

    rules = adapter.get("rules", [])
    if len(rules) != 1:
        errors.append("prometheus-adapter-rules.yaml: want one rule")
    rule = rules[0] if rules else {}
    if rule.get("resources", {}).get("overrides") != {"namespace": {"resource": "namespace"},
                                                      "pod": {"resource": "pod"}}:
        errors.append("prometheus-adapter-rules.yaml: resources must map namespace and pod")
    if rule.get("name", {}).get("as") != name:
        errors.append(f"prometheus-adapter-rules.yaml exposes {rule.get('name')}, the HPA "
                      f"reads {name}")
    template = rule.get("metricsQuery", "")
    for field in ("<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"):
        if field not in template:
            errors.append(f"prometheus-adapter-rules.yaml: metricsQuery lacks {field}")

    trigger = scaled["spec"]["triggers"][0]
    keys = set(trigger.get("metadata", {}))
    if trigger.get("type") != "prometheus" or not KEDA_PROMETHEUS_REQUIRED <= keys or \
            keys - KEDA_PROMETHEUS_KEYS:
        errors.append(f"keda-scaledobject.yaml: a prometheus trigger needs "
                      f"{sorted(KEDA_PROMETHEUS_REQUIRED)} and knows no "
                      f"{sorted(keys - KEDA_PROMETHEUS_KEYS)}")
    query = trigger["metadata"].get("query", "")
    if not query.startswith("sum(") or name not in query:
        errors.append(f"keda-scaledobject.yaml: the query must add up {name}: {query}")
    if trigger["metadata"].get("threshold") != metric["pods"]["target"]["averageValue"] or \
            trigger.get("metricType", "AverageValue") != "AverageValue":
        errors.append("keda-scaledobject.yaml: want threshold 100 as an AverageValue, as hpa.yaml")
    errors += promtool_exprs({
        "seriesQuery": rule.get("seriesQuery", ""),
        "metricsQuery": adapter_query(template, name, 'namespace="x",pod=~"a|b"', "pod"),
        "the ScaledObject's query": query})
    if errors:
        fail("invalid autoscaling examples:\n  " + "\n  ".join(errors))
    return list(docs.values())


def load_script(name):
    """A Python script of scripts/ (dashes in its name) as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name.replace("-", "_")[:-3],
                                                  os.path.join(REPO, "scripts", name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main(sys.argv[1])
