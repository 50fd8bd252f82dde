#!/usr/bin/env python3
"""The pod metadata source misbehaving: unreachable, 401, 500, slow, garbage, truncated, huge,
bad certificate. Each time the pod_metadata collector reports success 0 with the reason, node
metrics and the other collectors are unaffected, the last good pod metadata keeps labelling
container series until stale_after, and nothing crashes. Also: a deleted pod's series disappear
at the next scrape, and everything recovers when the kubelet does.

  kubelet_faults_test.py LOOKOUT
"""
import os
import shutil
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FIXTURES, Harness, fail  # noqa: E402
from kubelet import TestKubelet, make_ca_and_cert  # noqa: E402
from pods_test import agent_config, scrape, start, wait_for  # noqa: E402

LAYOUT = "v2_systemd_containerd"
PAYMENTS_UID = "e9f975a2_2299_5fb5_75a8_f1621ea8b972"


def reason_seen(reason):
    return lambda t: (f'lookout_collector_errors_total{{collector="pod_metadata",reason="{reason}"}}' in t
                      and 'lookout_collector_success{collector="pod_metadata"} 0' in t)


def healthy_otherwise(text, what, expect_pods=True):
    for needle in ('lookout_collector_success{collector="cpu"} 1', "node_load1 ",
                   'lookout_collector_success{collector="containers"} 1'):
        if needle not in text:
            fail(f"{what}: {needle!r} missing: a metadata fault leaked into other collectors")
    has_pods = "container_cpu_usage_seconds_total{" in text and "lookout_pod_info{" in text
    if has_pods != expect_pods:
        fail(f"{what}: pod series {'missing' if expect_pods else 'still present'}")


def main():
    lookout = sys.argv[1]
    src = os.path.join(FIXTURES, "pods", LAYOUT)
    with Harness() as h:
        cgroupfs = h.path("cgroup")
        shutil.copytree(os.path.join(src, "cgroup"), cgroupfs, symlinks=True)
        token = h.path("token")
        with open(token, "w") as f:
            f.write("tok\n")
        kubelet = TestKubelet(h.tmp.name, os.path.join(src, "pods.json"), "tok")
        try:
            cfg = agent_config(h, kubelet, token, cgroupfs,
                               "  stale_after: 8s\n  max_response_bytes: 1048576\n")
            proc, port = start(h, lookout, cfg)
            wait_for(port, lambda t: 'lookout_collector_success{collector="pod_metadata"} 1' in t
                     and "container_cpu_usage_seconds_total{" in t, "first good refresh")

            # Each fault in turn; between faults the kubelet recovers so the grace clock restarts.
            faults = [("status:500", "http_500"), ("garbage", "json"), ("truncated", "json"),
                      ("huge", "too_large"), ("slow:6", "timeout")]
            for mode, reason in faults:
                kubelet.mode = mode
                text = wait_for(port, reason_seen(reason), f"reason {reason} for mode {mode}",
                                timeout=30)
                healthy_otherwise(text, mode)
                kubelet.mode = "ok"
                wait_for(port, lambda t: 'lookout_collector_success{collector="pod_metadata"} 1' in t,
                         f"recovery after {mode}")
                print(f"ok {mode} -> {reason}, recovered")

            # A rotated token the kubelet does not accept: 401. The token file is re-read.
            with open(token, "w") as f:
                f.write("revoked\n")
            healthy_otherwise(wait_for(port, reason_seen("http_401"), "401"), "401")
            with open(token, "w") as f:
                f.write("tok\n")
            wait_for(port, lambda t: 'lookout_collector_success{collector="pod_metadata"} 1' in t,
                     "recovery after 401")
            print("ok 401 -> http_401, recovered with the rotated-back token")

            # A deleted pod disappears at the next scrape (its cgroup is gone).
            victim = [d for d in os.listdir(os.path.join(cgroupfs, "kubepods.slice", "kubepods-burstable.slice"))
                      if PAYMENTS_UID in d][0]
            shutil.rmtree(os.path.join(cgroupfs, "kubepods.slice", "kubepods-burstable.slice", victim))
            text = scrape(port)
            if 'pod="payments-api-7d9f8b6c5-x2k4p"' in "\n".join(
                    l for l in text.splitlines() if l.startswith("container_")):
                fail("series of the deleted pod are still exposed")
            if 'pod="lookout-8xk2q"' not in text:
                fail("other pods' series vanished with the deleted one")
            print("ok deleted pod: series gone at the next scrape, others kept")

            # Outage longer than stale_after: metadata is dropped, so pod series go; node stays.
            kubelet.mode = "status:503"
            wait_for(port, reason_seen("http_503"), "503")
            healthy_otherwise(scrape(port), "503 inside the grace period")
            text = wait_for(port, lambda t: "container_cpu_usage_seconds_total{" not in t,
                            "pod series to expire after stale_after", timeout=20)
            healthy_otherwise(text, "after stale_after", expect_pods=False)
            kubelet.mode = "ok"
            wait_for(port, lambda t: "container_cpu_usage_seconds_total{" in t, "recovery after expiry")
            print("ok outage > stale_after: pod series expired, node metrics kept, recovered")

            if proc.poll() is not None:
                fail(f"agent exited with {proc.returncode}")
            proc.send_signal(signal.SIGTERM)
            if proc.wait(timeout=10) != 0:
                fail(f"agent exit code {proc.returncode} after SIGTERM")
        finally:
            kubelet.stop()

    # Unreachable kubelet, and a kubelet whose certificate our CA did not sign.
    with Harness() as h:
        token = h.path("token")
        with open(token, "w") as f:
            f.write("tok\n")
        kubelet = TestKubelet(h.tmp.name, os.path.join(src, "pods.json"), "tok")
        try:
            other_ca, _, _ = make_ca_and_cert(h.tmp.name, "other")
            kubelet.ca_file = other_ca
            _, port = start(h, lookout, agent_config(h, kubelet, token, os.path.join(src, "cgroup")))
            text = wait_for(port, reason_seen("tls"), "tls verification failure")
            if kubelet.bad_tokens or "container_cpu_usage_seconds_total{" in text:
                fail("an unverified kubelet was trusted")
            print("ok wrong CA -> tls, no pod series")
        finally:
            kubelet.stop()
        # A port bound but never listened on refuses connections, and no other test running
        # meanwhile can take it (the stopped kubelet's own port could be picked by another
        # test's free_port() and answer).
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind(("127.0.0.1", 0))
        kubelet.url = f"https://127.0.0.1:{closed.getsockname()[1]}/pods"
        kubelet.ca_file = os.path.join(h.tmp.name, "kubelet-ca.crt")
        h.tmp_cfg = agent_config(h, kubelet, token, os.path.join(src, "cgroup"))
        _, port = start(h, lookout, h.tmp_cfg)
        text = wait_for(port, reason_seen("connect"), "connection refused")
        closed.close()
        if "node_load1 " not in text:
            fail("node metrics missing while the kubelet is unreachable")
        print("ok unreachable -> connect, node metrics served")


if __name__ == "__main__":
    main()
