#!/usr/bin/env python3
"""Idle memory benchmark: lookout's resident memory at rest against node_exporter's, same run,
and where lookout's goes (issue 18, item 5).

Each round starts, side by side on this host:
  - lookout with its embedded default config (only the listen addresses moved to free ports;
    `kubernetes.mode: auto` is off outside a pod, as on a laptop);
  - prometheus-node-exporter with its defaults (every default collector);
  - with --variant, lookout again with a YAML map merged into its config (e.g. the gRPC listener
    off), to price a feature's libraries; with --build, another lookout binary (e.g. an older
    build) with the default config.
The start order alternates between rounds. After --settle seconds and --scrapes scrapes of
/metrics each (one per second, as a Prometheus would after a restart), it reads
/proc/PID/smaps_rollup and /proc/PID/smaps of every process and prints:
  - per round: RSS, anonymous and file-backed resident memory of each, and node_exporter's RSS
    over lookout's (the issue's target: at least 2, lookout at most half);
  - lookout's RSS by mapping, grouped by what brings each library in (gRPC, protobuf, TLS and
    its dependencies, libcurl, the C++ and C runtimes, ...), median over the rounds.
File-backed pages are counted whole in RSS even when another process maps the same file (PSS
would split them); on a node the agent's container image has its own copies of the libraries,
so RSS is what the kubelet and the node pay.

Usage: idle_memory_bench.py build/lookout [--rounds 3] [--settle 10] [--scrapes 3]
           [--node-exporter prometheus-node-exporter] [--variant 'NAME=YAML' ...]
           [--build NAME=PATH ...]
"""
import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import free_port, http_get, wait_http  # noqa: E402

GROUPS = [  # (group, regex on the mapped file's base name), first match wins
    ("the process's own binary (lookout: its code and, statically linked, gRPC's, protobuf's, "
     "abseil's and RE2's)", r"^\[binary\]$"),
    ("gRPC (libgrpc, libgrpc++, gpr, upb, c-ares, address_sorting)",
     r"^lib(grpc|gpr|upb|cares|address_sorting)"),
    ("abseil", r"^libabsl_"),
    ("protobuf", r"^libprotobuf"),
    ("TLS and what Debian's libcurl links (OpenSSL, GnuTLS, nettle, gmp, p11-kit, Kerberos, LDAP, "
     "libssh2, nghttp2, compression libraries, ...)",
     r"^lib(crypto|ssl|gnutls|nettle|hogweed|gmp|p11-kit|tasn1|idn2|unistring|ffi|krb5|"
     r"k5crypto|krb5support|gssapi|com_err|keyutils|ldap|lber|sasl2|ssh2|brotli|nghttp2|rtmp|"
     r"psl|zstd|z\.|lzma|resolv)"),
    ("libcurl", r"^libcurl"),
    ("C++ runtime (libstdc++, libgcc_s)", r"^lib(stdc\+\+|gcc_s)"),
    ("C runtime (libc, libm, ld.so)", r"^(libc\.|libm\.|ld-linux)"),
    ("RE2", r"^libre2"),
    ("yaml-cpp", r"^libyaml-cpp"),
    ("prometheus-cpp", r"^libprometheus-cpp"),
    ("snappy, libdeflate, fmt, simdjson", r"^lib(snappy|deflate|fmt|simdjson)"),
    ("heap (brk)", r"^\[heap\]$"),
    ("anonymous mappings (malloc arenas, thread stacks, ...)", r"^\[(anon|stack)"),
]


def rollup(pid):
    """smaps_rollup's fields in KiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"^(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def by_mapping(pid):
    """Resident KiB per mapped file's base name; the executable as [binary], anonymous
    mappings as [anon]."""
    rss = collections.Counter()
    name = None
    exe = os.readlink(f"/proc/{pid}/exe")
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
            if head:
                path = head.group(1).strip()
                if path == exe:
                    name = "[binary]"
                else:
                    name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
                continue
            if line.startswith("Rss:"):
                rss[name] += int(line.split()[1])
    return rss


def group_of(name):
    for group, pattern in GROUPS:
        if re.search(pattern, name):
            return group
    return "other"


def scrape(port):
    return http_get(f"http://127.0.0.1:{port}/metrics")[2]


def merge(base, overlay):
    """`overlay` applied on top of `base`, maps merged key by key (as lookout applies a user
    file on top of its defaults)."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def start_lookout(binary, workdir, name, overlay):
    port = free_port()
    config = {"server": {"listen_address": f"127.0.0.1:{port}"},
              "otlp": {"http": {"listen_address": f"127.0.0.1:{free_port()}"},
                       "grpc": {"listen_address": f"127.0.0.1:{free_port()}"}}}
    merge(config, overlay)
    cfg = os.path.join(workdir, f"{name}.yaml")
    with open(cfg, "w") as f:
        yaml.safe_dump(config, f)
    with open(os.path.join(workdir, f"{name}.log"), "w") as log:
        proc = subprocess.Popen([binary, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    return proc, port


def start_node_exporter(binary, workdir):
    port = free_port()
    with open(os.path.join(workdir, "node_exporter.log"), "w") as log:
        proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, port


def log_tail(workdir, name):
    try:
        with open(os.path.join(workdir, f"{name}.log")) as f:
            return "".join(f.readlines()[-10:])
    except OSError:
        return ""


def wait_up(port, proc, name, workdir):
    """Raises SystemExit (the caller's `finally` stops the others) with the process's log."""
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc=proc)
    except (RuntimeError, TimeoutError) as e:
        sys.exit(f"{name}: {e}\n{log_tail(workdir, name)}")


def stop(procs):
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + 30
    for proc, _ in procs.values():
        try:
            proc.wait(timeout=max(deadline - time.time(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parse_setups(ap, args):
    """{name: (binary, overlay dict)}: the default lookout, then --variant and --build."""
    setups = {"lookout": (args.lookout, {})}
    for flag, items in (("--variant", args.variant), ("--build", args.build)):
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name or not value:
                ap.error(f"{flag} {item!r}: expected NAME=" +
                         ("YAML" if flag == "--variant" else "PATH"))
            if name in setups or name == "node_exporter":
                ap.error(f"{flag} {item!r}: the name {name!r} is taken")
            if flag == "--build":
                if not os.access(value, os.X_OK):
                    ap.error(f"--build {item!r}: {value} is not an executable")
                setups[name] = (value, {})
                continue
            try:
                overlay = yaml.safe_load(value)
            except yaml.YAMLError as e:
                ap.error(f"--variant {item!r}: not YAML: {e}")
            if not isinstance(overlay, dict):
                ap.error(f"--variant {item!r}: expected a YAML map")
            setups[name] = (args.lookout, overlay)
    return setups


def mib(kib):
    return kib / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lookout")
    ap.add_argument("--node-exporter", default="prometheus-node-exporter")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=10)
    ap.add_argument("--scrapes", type=int, default=3)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=YAML: another lookout with this map merged into its config, "
                         "e.g. 'no-grpc=otlp: {grpc: {enabled: false}}'")
    ap.add_argument("--build", action="append", default=[],
                    help="NAME=PATH: another lookout binary, default config")
    args = ap.parse_args()
    if args.rounds < 1 or args.scrapes < 0 or args.settle < 0:
        ap.error("--rounds must be at least 1, --scrapes and --settle not negative")
    for binary in (args.lookout, args.node_exporter):
        if not (os.access(binary, os.X_OK) or shutil.which(binary)):
            ap.error(f"{binary}: not an executable")
    setups = parse_setups(ap, args)

    rows = collections.defaultdict(list)  # process -> [(rss, anon, file)]
    groups = collections.defaultdict(lambda: collections.defaultdict(list))  # process -> group
    ratios = collections.defaultdict(list)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {os.uname().nodename}, {os.cpu_count()} CPUs, "
          f"{args.rounds} rounds, {args.settle:g} s settle, {args.scrapes} scrapes")
    with tempfile.TemporaryDirectory() as workdir:
        for rnd in range(args.rounds):
            procs = {}
            order = ["node_exporter"] + list(setups)
            if rnd % 2:
                order.reverse()
            try:
                for name in order:
                    if name == "node_exporter":
                        procs[name] = start_node_exporter(args.node_exporter, workdir)
                    else:
                        procs[name] = start_lookout(setups[name][0], workdir, name,
                                                    setups[name][1])
                    wait_up(procs[name][1], procs[name][0], name, workdir)
                for _ in range(args.scrapes):
                    for name in order:
                        scrape(procs[name][1])
                    time.sleep(1)
                time.sleep(args.settle)
                for name in order:
                    r = rollup(procs[name][0].pid)
                    rss, anon = r["Rss"], r.get("Anonymous", 0)
                    rows[name].append((rss, anon, rss - anon))
                    summed = collections.Counter()
                    for mapping, kib in by_mapping(procs[name][0].pid).items():
                        summed[group_of(mapping)] += kib
                    for g in set(summed) | set(groups[name]):  # absent this round: 0
                        groups[name][g] += [0] * (rnd - len(groups[name][g])) + [summed[g]]
                ne = rows["node_exporter"][-1][0]
                line = [f"round {rnd + 1}: node_exporter RSS {mib(ne):.1f} MiB"]
                for name in setups:
                    mine = rows[name][-1][0]
                    ratios[name].append(ne / mine)
                    line.append(f"{name} {mib(mine):.1f} MiB (node_exporter / {name} "
                                f"{ne / mine:.2f})")
                print("; ".join(line))
            finally:
                stop(procs)

    def spread(values, fmt="{:.1f}"):
        return "–".join(fmt.format(v) for v in (min(values), max(values)))

    print("\n| process | RSS (MiB) | anonymous (MiB) | file-backed (MiB) | node_exporter RSS / "
          "this RSS, same round (target ≥ 2) |")
    print("|---|---:|---:|---:|---:|")
    for name in ["node_exporter"] + list(setups):
        rss = [mib(r[0]) for r in rows[name]]
        anon = [mib(r[1]) for r in rows[name]]
        file = [mib(r[2]) for r in rows[name]]
        ratio = spread(ratios[name], "{:.2f}") if name in ratios else ""
        print(f"| {name} | {spread(rss)} | {spread(anon)} | {spread(file)} | {ratio} |")
    for name in setups:
        print(f"\n{name}: resident memory by mapping, median over the rounds (MiB)")
        print("| mappings | resident (MiB) | share |")
        print("|---|---:|---:|")
        total = statistics.median(r[0] for r in rows[name])
        for g, values in sorted(groups[name].items(), key=lambda x: -statistics.median(x[1])):
            m = statistics.median(values)
            print(f"| {g} | {mib(m):.2f} | {m / total:.0%} |")


if __name__ == "__main__":
    main()
