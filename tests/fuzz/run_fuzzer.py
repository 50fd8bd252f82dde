#!/usr/bin/env python3
"""Builds a seed corpus for one fuzzer from the committed fixtures and runs it for a bounded
time. Exit status is the fuzzer's: non-zero on any crash, leak, UB or timeout it finds."""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.path.join(REPO, "tests", "fixtures", "node")

# proc_parsers_fuzz: first byte selects the parser (see proc_parsers_fuzz.cc).
PROC_SEEDS = [(0, "proc/stat"), (1, "proc/stat"), (2, "proc/meminfo"), (3, "proc/loadavg"),
              (4, "proc/diskstats"), (5, "root/run/udev/data/b8:0"), (6, "proc/1/mounts"),
              (7, "proc/net/dev"), (8, "proc/pressure/io"), (9, "proc/net/sockstat"),
              (10, "proc/net/netstat"), (10, "proc/net/snmp"), (11, "proc/net/snmp6"),
              (12, "root/etc/os-release")]


def seeds(name):
    if name == "proc_parsers":
        for sel, rel in PROC_SEEDS:
            with open(os.path.join(NODE, rel), "rb") as f:
                yield bytes([sel]) + f.read()
    elif name == "pod_parsers":
        pods = os.path.join(REPO, "tests", "fixtures", "pods", "v2_systemd_containerd")
        pod = os.path.join(pods, "cgroup", "kubepods.slice", "kubepods-burstable.slice",
                           "kubepods-burstable-pode9f975a2_2299_5fb5_75a8_f1621ea8b972.slice")
        v1 = os.path.join(REPO, "tests", "fixtures", "pods", "v1_cgroupfs_containerd", "cgroup",
                          "blkio", "kubepods", "besteffort")
        with open(os.path.join(pods, "pods.json"), "rb") as f:
            podlist = f.read()
        yield b"\x00" + podlist
        yield b"\x01" + podlist
        for sel, rel in ((2, "memory.stat"), (2, "cpu.stat"), (3, "cpu.max"), (4, "io.stat"),
                         (6, "memory.pressure")):
            with open(os.path.join(pod, rel), "rb") as f:
                yield bytes([sel]) + f.read()
        for d in os.listdir(v1):
            with open(os.path.join(v1, d, "blkio.throttle.io_service_bytes_recursive"), "rb") as f:
                yield b"\x05" + f.read()
            yield b"\x07" + d.encode()
    elif name == "config":
        with open(os.path.join(REPO, "agent", "config", "default_config.yaml"), "rb") as f:
            yield f.read()
        yield b"server:\n  threads: 4\nnode:\n  collectors:\n    cpu: {enabled: false}\n"
    elif name == "exposition":
        golden = os.path.join(REPO, "tests", "golden")
        with open(os.path.join(golden, "node_fixture_text.txt"), "rb") as f:
            yield b"\x00" + f.read()
        with open(os.path.join(golden, "node_fixture_openmetrics.txt"), "rb") as f:
            yield b"\x01" + f.read()
        yield (b"\x00# HELP h Lat \\ \\n.\n# TYPE h histogram\nh_bucket{a=\"x\\\"y\",le=\"0.1\"} 1\n"
               b"h_bucket{a=\"x\\\"y\",le=\"+Inf\"} 2\nh_sum{a=\"x\\\"y\"} 1.5\n"
               b"h_count{a=\"x\\\"y\"} 2\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 1\n"
               b"s_count 3\nuntyped{x=\"1\",} -Inf 1700000000000\n")
        yield (b"\x01# TYPE c counter\n# UNIT c bytes\nc_total{a=\"b\"} 1 1.5 # {trace_id=\"ab\"} 1 2\n"
               b"c_created{a=\"b\"} 1\n# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE st stateset\n"
               b"st{st=\"a\"} 1\n# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1\n"
               b"# EOF\n")
    elif name == "negotiation":
        yield (b"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               b"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        yield b"gzip, deflate;q=0.5, *;q=0"
        yield b'a"b\\c\nd'


def main():
    exe, name, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as corpus:
        for i, s in enumerate(seeds(name)):
            with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
                f.write(s)
        artifacts = os.path.join(os.getcwd(), f"fuzz-artifacts-{name}") + "/"
        os.makedirs(artifacts, exist_ok=True)
        r = subprocess.run([exe, corpus, f"-max_total_time={seconds}", "-timeout=10",
                            "-rss_limit_mb=2048", "-max_len=65536", "-print_final_stats=1",
                            f"-artifact_prefix={artifacts}"])
        print(f"fuzz.{name}: {'1 passed, 0 failed' if r.returncode == 0 else '0 passed, 1 failed'}")
        sys.exit(r.returncode)


if __name__ == "__main__":
    main()
