#!/usr/bin/env python3
"""Pod metrics end to end: for each fixture cgroup tree (v1/v2, systemd/cgroupfs, containerd/
CRI-O/Docker), a test kubelet serves the matching PodList over HTTPS (certificates made now, token
checked), the real lookout binary reads the tree, and its pod series must equal
tests/golden/pods_<layout>.txt. The output also passes `promtool check metrics`.

  pods_test.py LOOKOUT [--update]
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FIXTURES, REPO, Harness, fail, http_get  # noqa: E402
from kubelet import TestKubelet  # noqa: E402

LAYOUTS = ["v2_systemd_containerd", "v2_cgroupfs_crio", "v1_cgroupfs_containerd",
           "v1_systemd_docker"]
POD_PREFIXES = ("container_", "lookout_pod_info")


def agent_config(h, kubelet, token_file, cgroupfs, extra=""):
    path = h.path("lookout.yaml")
    with open(path, "w") as f:
        f.write(f"""node:
  collectors:
    filesystem: {{enabled: false}}
kubernetes:
  mode: kubelet
  node_name: node-a
  kubelet_url: {kubelet.url}
  token_file: {token_file}
  ca_file: {kubelet.ca_file}
  refresh_interval: 1s
  min_refresh_interval: 100ms
  timeout: 3s
{extra}pods:
  cgroupfs: {cgroupfs}
""")
    return path


def start(h, lookout, cfg):
    node = os.path.join(FIXTURES, "node")
    return h.start_lookout(lookout, ["--config", cfg, f"--path.procfs={node}/proc",
                                     f"--path.sysfs={node}/sys", f"--path.rootfs={node}/root"])


def scrape(port):
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    return body.decode()


def pod_series(text):
    return sorted(l for l in text.splitlines() if l.startswith(POD_PREFIXES))


def wait_for(port, pred, what, timeout=15):
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = scrape(port)
        if pred(text):
            return text
        time.sleep(0.1)
    fail(f"timed out waiting for {what}; last scrape:\n" +
         "\n".join(l for l in text.splitlines() if "pod" in l or "collector" in l)[:4000])


def families(text):
    return {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}


def check_source_paths(port):
    """/metrics/node, /metrics/cadvisor and /metrics/lookout split /metrics: no family is on two
    of them (but the lookout_collector_* families, whose series are split by collector), and
    together they hold every family of /metrics."""
    everything = families(scrape(port))
    parts = {}
    for source in ("node", "cadvisor", "lookout"):
        _, _, body = http_get(f"http://127.0.0.1:{port}/metrics/{source}")
        parts[source] = families(body.decode())
    shared = {"lookout_collector_duration_seconds", "lookout_collector_success",
              "lookout_collector_errors_total"}
    for a, b in (("node", "cadvisor"), ("node", "lookout"), ("cadvisor", "lookout")):
        both = (parts[a] & parts[b]) - shared
        if both:
            fail(f"/metrics/{a} and /metrics/{b} both serve {sorted(both)}")
    union = parts["node"] | parts["cadvisor"] | parts["lookout"]
    if union != everything:
        fail(f"/metrics has {sorted(everything - union)} that no source path serves, and the "
             f"source paths {sorted(union - everything)} that /metrics does not")
    wrong = {f for f in parts["node"] - shared if not f.startswith("node_")}
    wrong |= {f for f in parts["cadvisor"] - shared
              if not f.startswith("container_")
              and f not in ("lookout_pod_info", "lookout_pod_cgroups_unknown")}
    wrong |= {f for f in parts["lookout"] if f.startswith(("node_", "container_"))}
    if wrong or "lookout_collector_success" in parts["lookout"]:
        fail(f"families on the wrong source path: {sorted(wrong)}")
    for source in ("node", "cadvisor"):
        if "lookout_collector_success" not in parts[source]:
            fail(f"/metrics/{source} lacks its collectors' lookout_collector_success")


def main():
    lookout = sys.argv[1]
    update = "--update" in sys.argv
    for layout in LAYOUTS:
        fx = os.path.join(FIXTURES, "pods", layout)
        with Harness() as h:
            token = h.path("token")
            with open(token, "w") as f:
                f.write("test-token-123\n")  # the agent must trim the newline
            kubelet = TestKubelet(h.tmp.name, os.path.join(fx, "pods.json"), "test-token-123")
            try:
                _, port = start(h, lookout, agent_config(h, kubelet, token, os.path.join(fx, "cgroup")))
                # One scrape where metadata, containers and their series are all good (a slow
                # refresh under ASan may time out once; it must not decide the test).
                text = wait_for(port, lambda t: "container_memory_working_set_bytes{" in t
                                and 'lookout_collector_success{collector="pod_metadata"} 1' in t
                                and 'lookout_collector_success{collector="containers"} 1' in t,
                                f"{layout}: healthy pod metadata and container metrics", timeout=30)
                if kubelet.bad_tokens:
                    fail(f"{layout}: the kubelet saw {kubelet.bad_tokens} requests without the token")
                got = "\n".join(pod_series(text)) + "\n"
                golden = os.path.join(REPO, "tests", "golden", f"pods_{layout}.txt")
                if update:
                    with open(golden, "w") as f:
                        f.write(got)
                    print(f"updated {golden}")
                else:
                    with open(golden) as f:
                        want = f.read()
                    if got != want:
                        import difflib
                        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                            "golden", "lookout", n=1))
                        fail(f"{layout}: pod series differ from {golden}:\n{diff[:6000]}")
                check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                                       capture_output=True)
                problems = [l for l in check.stdout.decode().splitlines() + check.stderr.decode().splitlines()
                            if l.strip() and not l.startswith("node_")]
                if problems:
                    fail(f"{layout}: promtool check metrics: {problems[:10]}")
                check_source_paths(port)
                print(f"ok {layout}: {len(got.splitlines())} pod series")
            finally:
                kubelet.stop()


if __name__ == "__main__":
    main()
