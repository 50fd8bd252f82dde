#!/usr/bin/env python3
"""Scrape benchmark: lookout vs prometheus-node-exporter, same collectors and filters, measured
in the same run, on this host or on the committed fixture trees.

For each exporter: warm up, then N sequential scrapes over one keep-alive connection (as
Prometheus scrapes). Reports CPU time per scrape (utime+stime of the exporter process from
/proc/<pid>/stat, all threads), scrape latency p50/p99 seen by the client, RSS after the N
scrapes, and bytes per scrape; then the ratios node_exporter / lookout.

--tree big runs both on tests/fixtures/node and node_big merged (64 CPUs, hwmon, NVMe, RAPL,
power supplies, tapes, NFS, XFS, btrfs, InfiniBand, Fibre Channel, ZFS, IPVS, ...) with every
node collector lookout has, instead of this host.

--floor BENCH_BINARY measures the floor each round: the regular files node_exporter opened
during one scrape (taken with strace), each opened, read to the end and closed by
node_collectors_bench's BM_ReadListedFiles (C, no parsing). lookout's CPU per scrape is then
also given as a multiple of that floor.

--rounds R repeats lookout, floor, node_exporter R times, interleaved, and reports the median
and the range of each figure (this VM is noisy).

usage: scrape_bench.py LOOKOUT_BINARY [--scrapes N] [--rounds R] [--gzip] [--tree host|big]
                       [--floor NODE_COLLECTORS_BENCH]
"""
import argparse
import gzip as gz
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import FIXTURES, Harness  # noqa: E402
from fixture_parity_test import ALL_LOOKOUT  # noqa: E402
from parity_test import MOUNT_EXCLUDE, start_matched_pair  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(pid, port, n, use_gzip):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Encoding": "gzip"} if use_gzip else {}

    def scrape():
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
        return body

    for _ in range(50):
        scrape()
    lat, size = [], 0
    cpu0 = cpu_seconds(pid)
    for _ in range(n):
        t = time.perf_counter()
        body = scrape()
        lat.append(time.perf_counter() - t)
        size += len(body)
    cpu = cpu_seconds(pid) - cpu0
    last = gz.decompress(body) if use_gzip else body
    lat.sort()
    return {
        "cpu_ms": 1000 * cpu / n,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
        "rss_mib": rss_bytes(pid) / 2**20,
        "bytes": size / n,
        "series": sum(1 for l in last.splitlines() if l and not l.startswith(b"#")),
    }


def start_tree_pair(h, lookout):
    """Both exporters on the node and node_big fixture trees merged, every lookout node
    collector on, node_exporter with the same collectors and its upstream filters."""
    tree = h.path("tree")
    for part, order in (("proc", ("node_big", "node")), ("sys", ("node", "node_big")),
                        ("root", ("node",))):
        for src in order:  # the later tree wins where both have a file
            shutil.copytree(os.path.join(FIXTURES, src, part), os.path.join(tree, part),
                            symlinks=True, dirs_exist_ok=True)
    paths = [f"--path.procfs={tree}/proc", f"--path.sysfs={tree}/sys", f"--path.rootfs={tree}/root"]
    textfile = os.path.join(FIXTURES, "node", "textfile")
    cfg = h.path("lookout-tree.yaml")
    with open(cfg, "w") as f:
        f.write(f"node:\n  collectors:\n    textfile: {{directory: '{textfile}'}}\n")
    lk, lk_port = h.start_lookout(lookout, [f"--config={cfg}", *paths,
                                            "--otlp.http.listen-address=off",
                                            "--otlp.grpc.listen-address=off"])
    ne, ne_port = h.start_node_exporter(ALL_LOOKOUT, [
        *paths, f"--path.udev.data={tree}/root/run/udev/data", "--no-collector.netdev.netlink",
        "--collector.netdev.device-exclude=^$", f"--collector.textfile.directory={textfile}",
        f"--collector.filesystem.mount-points-exclude={MOUNT_EXCLUDE}"])
    return lk, lk_port, ne, ne_port


def files_of_one_scrape(pid, port, own):
    """The regular files `pid` opened during one scrape (strace), but its own /proc entries."""
    log = f"/tmp/scrape-bench-strace-{pid}.txt"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-p", str(pid), "-e", "trace=openat,open",
                               "-o", log], stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    conn.getresponse().read()
    time.sleep(0.5)
    tracer.terminate()
    tracer.wait()
    files = []
    with open(log) as f:
        for line in f:
            m = re.search(r'open(?:at)?\((?:AT_FDCWD|\d+), "([^"]+)".*\) = (\d+)', line)
            if m and os.path.isfile(m.group(1)) and not re.match(own, m.group(1)):
                files.append(m.group(1))
    os.unlink(log)
    return files


def floor_ms(bench, files, h):
    """CPU ms of opening, reading and closing `files` once (BM_ReadListedFiles)."""
    listing = h.path("floor-files.txt")
    with open(listing, "w") as f:
        f.write("\n".join(files) + "\n")
    out = subprocess.run([bench, "--benchmark_filter=^BM_ReadListedFiles$",
                          "--benchmark_format=json", "--benchmark_min_time=1"],
                         env={**os.environ, "LOOKOUT_BENCH_FILES": listing},
                         capture_output=True, text=True, check=True).stdout
    run = json.loads(out)["benchmarks"][0]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[run["time_unit"]]
    return run["cpu_time"] * scale


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("--scrapes", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--tree", choices=("host", "big"), default="host")
    ap.add_argument("--floor", metavar="NODE_COLLECTORS_BENCH")
    args = ap.parse_args()
    rounds = []
    with Harness() as h:
        start = start_tree_pair if args.tree == "big" else start_matched_pair
        lk, lk_port, ne, ne_port = start(h, args.lookout)
        time.sleep(1)
        rss_idle = {"lookout": rss_bytes(lk.pid) / 2**20, "node_exporter": rss_bytes(ne.pid) / 2**20}
        files = []
        if args.floor:
            measure(ne.pid, ne_port, 5, False)  # warm (first-scrape effects)
            files = files_of_one_scrape(ne.pid, ne_port, rf"/proc/({ne.pid}|self|thread-self)/")
        for _ in range(args.rounds):
            r = {"lookout": measure(lk.pid, lk_port, args.scrapes, args.gzip)}
            if args.floor:
                r["floor_ms"] = floor_ms(args.floor, files, h)
            r["node_exporter"] = measure(ne.pid, ne_port, args.scrapes, args.gzip)
            rounds.append(r)

    ours, theirs = rounds[-1]["lookout"], rounds[-1]["node_exporter"]
    enc = "gzip" if args.gzip else "identity"
    print(f"\n{time.strftime('%Y-%m-%d')}, tree {args.tree}, {args.rounds} round(s) of "
          f"{args.scrapes} scrapes each, {os.cpu_count()} CPUs, encoding {enc}, "
          f"{ours['series']} / {theirs['series']} series (lookout / node_exporter); "
          "median (min-max) over the rounds\n")
    print("| metric | lookout | node_exporter 1.5 | node_exporter / lookout |")
    print("|---|---:|---:|---:|")
    rows = [("CPU per scrape (ms)", "cpu_ms", "{:.3f}"), ("latency p50 (ms)", "p50_ms", "{:.3f}"),
            ("latency p99 (ms)", "p99_ms", "{:.3f}"),
            (f"RSS after {args.scrapes} scrapes (MiB)", "rss_mib", "{:.1f}"),
            ("bytes per scrape", "bytes", "{:.0f}")]
    for label, key, fmt in rows:
        lk_v = [r["lookout"][key] for r in rounds]
        ne_v = [r["node_exporter"][key] for r in rounds]
        ratio = [n / l if l else float("inf") for n, l in zip(ne_v, lk_v)]
        print(f"| {label} | {spread(lk_v, fmt)} | {spread(ne_v, fmt)} | {spread(ratio, '{:.1f}')}x |")
    print(f"| RSS idle before scrapes (MiB) | {rss_idle['lookout']:.1f} | "
          f"{rss_idle['node_exporter']:.1f} | {rss_idle['node_exporter'] / rss_idle['lookout']:.1f}x |")
    cpu_ratio = [r["node_exporter"]["cpu_ms"] / r["lookout"]["cpu_ms"] for r in rounds]
    print(f"\ntarget: node_exporter / lookout CPU >= 4 in every round: "
          f"{'met' if min(cpu_ratio) >= 4 else 'NOT met'} ({spread(cpu_ratio, '{:.1f}')})")
    if args.floor:
        fl = [r["floor_ms"] for r in rounds]
        over = [r["lookout"]["cpu_ms"] / r["floor_ms"] for r in rounds]
        print(f"floor: open+read+close of the {len(files)} regular files node_exporter opened in one "
              f"scrape: {spread(fl, '{:.3f}')} ms CPU; lookout / floor {spread(over, '{:.2f}')} "
              f"(target <= 2: {'met' if max(over) <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
