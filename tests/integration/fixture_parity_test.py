#!/usr/bin/env python3
"""node_exporter parity on committed fixtures: Debian's prometheus-node-exporter 1.5 and lookout
read the same files and must expose the same series, value for value.

1. The node fixture tree (tests/fixtures/node: proc, sys, textfile) with the conntrack, netclass,
   textfile, mdadm, bonding, arp, entropy, schedstat (64 CPUs), softnet and udp_queues
   collectors; tests/fixtures/node_big (64 CPUs, two sockets) with cpufreq, thermal_zone, dmi,
   edac, nvme, rapl (also with --collector.rapl.enable-zone-label), hwmon, powersupplyclass,
   tapestats, xfs, btrfs, infiniband, fibrechannel, bcache (also with its priority stats), and
   its proc tree with nfs, nfsd, zfs and ipvs (also with --collector.ipvs.backend-labels). (timex
   reads the kernel, not a file: parity_test.py compares it on the live host.)
2. Every textfile edge case (tests/fixtures/textfile_cases/<case>/), each directory alone: files
   refused, kept, merged or partly dropped, as node_exporter 1.5 does it.
3. Hosts without conntrack, md, bonding, schedstat or /proc/net/udp{,6}: no series on either
   side; lookout reports success where node_exporter reports failure (a deliberate difference,
   README).

Families of the exporters themselves (go_, process_, promhttp_, node_scrape_, node_exporter_,
lookout_) are not compared. A case where lookout deliberately differs is listed in
DELIBERATE_DIFFERENCES with its reason (mirrored in README) and lookout's own behaviour is
checked instead; node_exporter must still differ there, so the list cannot go stale.
"""
import math
import os
import sys
import urllib.error

from harness import FIXTURES, Harness, fail, free_port, http_get, parse_text, wait_http

NODE = os.path.join(FIXTURES, "node")
NODE_BIG = os.path.join(FIXTURES, "node_big")  # big-machine shapes: 64 CPUs with cpufreq
CASES = os.path.join(FIXTURES, "textfile_cases")
FILE_COLLECTORS = ["conntrack", "netclass", "textfile", "mdadm", "bonding", "arp", "entropy",
                   "schedstat", "softnet", "udp_queues"]
ALL_LOOKOUT = ["cpu", "meminfo", "loadavg", "diskstats", "filesystem", "netdev", "stat", "vmstat",
               "pressure", "uname", "time", "filefd", "sockstat", "netstat", "os", "timex",
               "conntrack", "netclass", "textfile", "mdadm", "bonding", "arp", "cpufreq",
               "entropy", "schedstat", "softnet", "udp_queues", "thermal_zone", "dmi", "edac",
               "nvme", "rapl", "hwmon", "powersupplyclass", "tapestats", "nfs", "nfsd",
               "xfs", "btrfs", "infiniband", "fibrechannel", "zfs", "ipvs", "selinux", "bcache"]
IGNORED_PREFIXES = ("go_", "process_", "promhttp_", "node_scrape_", "node_exporter_", "lookout_")

# case -> (reason, lookout's own settings, what lookout must show)
DELIBERATE_DIFFERENCES = {
    "label_reserved_prefix": (
        "a label named __* makes node_exporter 1.5 panic (client_golang refuses the label name in "
        "MustNewConstMetric) and the whole exporter dies; lookout refuses that file",
        {}, {"node_textfile_scrape_error": 1.0, "ok": 1.0}),
    "help_not_utf8": (
        "node_exporter 1.5 exposes a HELP text that is not UTF-8 as is, an exposition parsers "
        "refuse; lookout refuses that file",
        {}, {"node_textfile_scrape_error": 1.0, "ok": 1.0}),
    "gauge_histogram_samples": (
        "node_exporter 1.5 accepts TYPE gauge_histogram but panics on its samples; lookout refuses "
        "that file",
        {}, {"node_textfile_scrape_error": 1.0, "ok": 1.0}),
    "over_size_cap": (
        "lookout skips a file larger than node.collectors.textfile.max_file_bytes (here 1024) "
        "with node_textfile_scrape_error 1; node_exporter reads files of any size",
        {"max_file_bytes": 1024}, {"node_textfile_scrape_error": 1.0, "ok": 1.0}),
}

# Series of the big tree where lookout's value deliberately differs from node_exporter 1.5's:
# (family, labels) -> (reason, lookout's value). node_exporter must still differ there.
NFSD_OPCODE_REASON = ("node_exporter 1.5 (procfs 0.8) reads NFSv4 Verify, Write and RelLockOwner "
                      "from the proc4ops columns of SETCLIENTID_CONFIRM, VERIFY and WRITE; lookout "
                      "reads the kernel's opcode columns")
VALUE_DIFFERENCES = {
    ("node_nfsd_requests_total", frozenset({("method", "Verify"), ("proto", "4")})):
        (NFSD_OPCODE_REASON, 3.0),
    ("node_nfsd_requests_total", frozenset({("method", "Write"), ("proto", "4")})):
        (NFSD_OPCODE_REASON, 1982211.0),
    ("node_nfsd_requests_total", frozenset({("method", "RelLockOwner"), ("proto", "4")})):
        (NFSD_OPCODE_REASON, 7.0),
}


def scrape(port):
    """Our own series only, parsed; None when the exporter is gone or its answer is not valid."""
    try:
        body = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
        samples, _ = parse_text(body)
    except (urllib.error.URLError, ConnectionError, OSError, UnicodeDecodeError, ValueError):
        return None
    return {k: v for k, v in samples.items() if not k[0].startswith(IGNORED_PREFIXES)}


def same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def compare(what, ne, ours):
    """Problems, series by series: families, label sets, values."""
    problems = []
    ne_fams = {n for (n, _) in ne}
    our_fams = {n for (n, _) in ours}
    if ne_fams != our_fams:
        problems.append(f"{what}: families only node_exporter has: {sorted(ne_fams - our_fams)}; "
                        f"only lookout has: {sorted(our_fams - ne_fams)}")
    for key in sorted(set(ne) | set(ours), key=str):
        if key[0] not in ne_fams & our_fams:
            continue
        if key not in ne or key not in ours:
            side = "node_exporter" if key in ne else "lookout"
            problems.append(f"{what}: {key[0]}{dict(key[1])} only in {side}")
        elif not same(ne[key], ours[key]):
            problems.append(f"{what}: {key[0]}{dict(key[1])}: lookout {ours[key]}, "
                            f"node_exporter {ne[key]}")
    return problems


def lookout_config(h, name, enabled, textfile_dir=None, textfile_opts=None, options=None):
    """options: collector -> {key: value} for lookout's own settings of that collector."""
    path = h.path(name + ".yaml")
    lines = ["node:", "  collectors:"]
    for c in ALL_LOOKOUT:
        if c == "textfile" and c in enabled:
            opts = {"directory": f"'{textfile_dir}'", **(textfile_opts or {})}
            lines.append("    textfile: {" + ", ".join(f"{k}: {v}" for k, v in opts.items()) + "}")
        else:
            opts = {"enabled": "true" if c in enabled else "false", **(options or {}).get(c, {})}
            lines.append(f"    {c}: {{" + ", ".join(f"{k}: {v}" for k, v in opts.items()) + "}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_pair(h, lookout, name, collectors, procfs, sysfs, textfile_dir, textfile_opts=None,
             ne_extra=(), lk_extra=(), lk_options=None):
    """Starts both exporters on the same paths, scrapes each once, stops them."""
    ne_flags = [f"--path.procfs={procfs}", f"--path.sysfs={sysfs}", *ne_extra]
    if "textfile" in collectors:
        ne_flags.append(f"--collector.textfile.directory={textfile_dir}")
    # Not h.start_node_exporter: it waits for /metrics, and some cases crash node_exporter there.
    ne_port = free_port()
    ne_proc = h.start(["/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}",
                       "--collector.disable-defaults"] + [f"--collector.{c}" for c in collectors] +
                      ne_flags, name + "-ne")
    wait_http(f"http://127.0.0.1:{ne_port}/", proc=ne_proc)
    cfg = lookout_config(h, name, collectors, textfile_dir, textfile_opts, lk_options)
    lk_proc, lk_port = h.start_lookout(
        lookout, [f"--config={cfg}", f"--path.procfs={procfs}", f"--path.sysfs={sysfs}",
                    "--otlp.http.listen-address=off", "--otlp.grpc.listen-address=off",
                    *lk_extra],
        name=name + "-lk")
    ne, ours = scrape(ne_port), scrape(lk_port)
    lk_all = parse_text(http_get(f"http://127.0.0.1:{lk_port}/metrics")[2].decode())[0]
    for p in (ne_proc, lk_proc):
        if p.poll() is None:
            p.terminate()
        p.wait(timeout=10)
    return ne, ours, lk_all


def main():
    lookout = sys.argv[1]
    problems = []
    counts = {"series": 0, "cases": 0, "differences": 0}
    with Harness() as h:
        # 1. The node fixture tree.
        ne, ours, _ = run_pair(h, lookout, "tree", FILE_COLLECTORS, f"{NODE}/proc", f"{NODE}/sys",
                               f"{NODE}/textfile")
        if ne is None or ours is None:
            fail("an exporter did not answer on the node fixture tree")
        if len(ne) < 250:
            fail(f"only {len(ne)} series from node_exporter on the fixture tree: fixtures missing?")
        problems += compare("fixture tree", ne, ours)
        counts["series"] += len(ne)

        # 1a. Big-machine shapes: 64 CPUs (two offline), acpi-cpufreq policies behind symlinks;
        # thermal zones and cooling devices (intel_powerclamp's cur_state -1); a two-socket
        # server's DMI, EDAC controllers (mc0, mc1, mc10) and csrows, two NVMe controllers, RAPL
        # packages and DRAM zones plus the MMIO interface (a second "package-0"); eleven hwmon
        # chips (coretemp x2, k10temp with a missing label, a Super-I/O with fans, beeps, an
        # intrusion alarm and an "N/A" sensor, an ACPI power meter, NVMe, a chip with no name
        # file, humidity, an INA current/energy monitor, an amdgpu whose freq sensors 1.5 skips);
        # power supplies: mains, a battery (negative temperature, a padded serial), a USB-C port;
        # two LTO tape drives with their eight device nodes each; an NFS client (v3 and v4.2
        # mounts, no proc2 line) and an NFS server (v2, v3, v4 with 72 operations) of a 6.1 kernel;
        # two XFS filesystems; two btrfs filesystems (raid1 over two disks with a leftover single
        # data profile, a single-disk one with DUP metadata); InfiniBand HCAs (an EDR port with
        # 64-bit counters, a QDR card with saturated 32-bit ones and a port down); Fibre Channel
        # hosts (an online Emulex, a QLogic with the link down, "not counted" statistics);
        # OpenZFS 2.1 kstats with an ONLINE and a DEGRADED pool and six datasets; IPVS with TCP,
        # UDP, persistent, IPv6 and fwmark services. Their mount points lie under a
        # rootfs that does not exist, so neither side's btrfs ioctls touch this host's mounts.
        big = ["cpufreq", "thermal_zone", "dmi", "edac", "nvme", "rapl", "hwmon", "powersupplyclass",
               "tapestats", "nfs", "nfsd", "xfs", "btrfs", "infiniband", "fibrechannel", "zfs",
               "ipvs", "bcache"]
        no_root = [f"--path.rootfs={NODE_BIG}/root"]
        ne, ours, _ = run_pair(h, lookout, "big", big, f"{NODE_BIG}/proc", f"{NODE_BIG}/sys", None,
                               ne_extra=no_root, lk_extra=no_root)
        if ne is None or ours is None:
            fail("an exporter did not answer on the big fixture tree")
        want = 62 * 6 + 5 + 2 * 7 + 1 + 18 + 2 + 5 + 147 + 21 + 20 + 105 + 87 + 78 + 34 + 66 + 28 + 261 + 44 + 65
        if len(ne) != want:
            fail(f"{len(ne)} series from node_exporter on the big tree, expected {want}")
        for key, (reason, value) in VALUE_DIFFERENCES.items():
            if ours.get(key) != value:
                problems.append(f"big tree: lookout {key[0]}{dict(key[1])} = {ours.get(key)}, "
                                f"want {value} ({reason})")
            if ne.get(key) == value:
                problems.append(f"big tree: node_exporter now gives {key[0]}{dict(key[1])} = "
                                f"{value}; remove it from VALUE_DIFFERENCES (and README)")
            ne.pop(key, None)
            ours.pop(key, None)
            counts["differences"] += 1
        problems += compare("big tree", ne, ours)
        counts["series"] += len(ne)
        # 1a'. Collectors with an option, each run with node_exporter's flag and lookout's
        # setting: rapl with --collector.rapl.enable-zone-label (one family, a rapl_zone label);
        # ipvs with --collector.ipvs.backend-labels=proto,local_address (real servers that share
        # those values summed); bcache with --collector.bcache.priorityStats.
        for collector, ne_flag, lk_option, want in (
                ("rapl", "--collector.rapl.enable-zone-label", {"enable_zone_label": "true"}, 5),
                ("ipvs", "--collector.ipvs.backend-labels=proto,local_address",
                 {"backend_labels": "[local_address, proto]"}, 17),
                ("bcache", "--collector.bcache.priorityStats", {"priority_stats": "true"}, 69)):
            ne, ours, _ = run_pair(h, lookout, collector + "-option", [collector],
                                   f"{NODE_BIG}/proc", f"{NODE_BIG}/sys", None, ne_extra=[ne_flag],
                                   lk_options={collector: lk_option})
            if ne is None or ours is None or len(ne) != want:
                fail(f"{ne_flag}: node_exporter gave {None if ne is None else len(ne)} series, "
                     f"expected {want}")
            problems += compare(ne_flag, ne, ours)
            counts["series"] += len(ne)

        # 1b. Kernel text with odd names on the same tree: an interface named br12:40, mount
        # points with escapes (\\040, \\011, a \\134 node_exporter keeps), an NFS device with a
        # space, mounts whose statfs fails, a cciss/c0d0 disk. node_exporter reads /proc/net/dev
        # without netlink, and both sides get node_exporter's upstream filters (Debian patches
        # its defaults). Sizes depend on the statfs of this machine's disk at the moment read:
        # label sets are compared, values of those families are not.
        volatile = ("node_filesystem_avail_bytes", "node_filesystem_free_bytes",
                    "node_filesystem_files_free", "node_filesystem_size_bytes",
                    "node_filesystem_files")
        ne, ours, _ = run_pair(
            h, lookout, "odd-names", ["netdev", "diskstats", "filesystem"], f"{NODE}/proc",
            f"{NODE}/sys", None,
            ne_extra=["--no-collector.netdev.netlink", "--collector.netdev.device-exclude=^$",
                      f"--path.rootfs={NODE}/root", f"--path.udev.data={NODE}/root/run/udev/data",
                      "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|"
                      "sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"],
            lk_extra=[f"--path.rootfs={NODE}/root"])
        if ne is None or ours is None:
            fail("an exporter did not answer for netdev/diskstats/filesystem on the fixture tree")
        for side in (ne, ours):
            for k in list(side):
                if k[0] in volatile:
                    side[k] = 0.0
        # rx_nohandler: node_exporter has it only in its default netlink mode (the live-host
        # parity test compares it); lookout reads it from sysfs.
        ours = {k: v for k, v in ours.items() if k[0] != "node_network_receive_nohandler_total"}
        for want in (("node_network_receive_bytes_total", frozenset({("device", "br12:40")})),
                     ("node_disk_reads_completed_total", frozenset({("device", "cciss/c0d0")}))):
            if want not in ne:
                fail(f"node_exporter has no {want}: the odd-name fixtures are missing")
        problems += compare("odd names", ne, ours)
        counts["series"] += len(ne)

        # 2. Textfile edge cases.
        for case in sorted(os.listdir(CASES)):
            d = os.path.join(CASES, case)
            if not os.path.isdir(d):
                continue
            diff = DELIBERATE_DIFFERENCES.get(case)
            ne, ours, _ = run_pair(h, lookout, "case-" + case, ["textfile"], f"{NODE}/proc",
                                   f"{NODE}/sys", d, diff[1] if diff else None)
            counts["cases"] += 1
            if ours is None:
                problems.append(f"{case}: lookout did not answer")
                continue
            if diff:
                counts["differences"] += 1
                for name, want in diff[2].items():
                    if ours.get((name, frozenset())) != want:
                        problems.append(f"{case}: lookout {name} = {ours.get((name, frozenset()))}, "
                                        f"want {want} ({diff[0]})")
                refused = [k for k in ours if k[0] not in diff[2] and
                           k[0] != "node_textfile_mtime_seconds"]
                if refused:
                    problems.append(f"{case}: lookout kept series of the refused file: {refused}")
                if ne is not None and not compare(case, ne, ours):
                    problems.append(f"{case}: node_exporter now behaves like lookout; remove it "
                                    "from DELIBERATE_DIFFERENCES (and README)")
                continue
            if ne is None:
                problems.append(f"{case}: node_exporter did not answer (crashed?)")
                continue
            problems += compare(case, ne, ours)
            counts["series"] += len(ne)

        # 3. A host without conntrack, md and bonding (a sysfs with only lo).
        empty_proc = h.path("empty-proc")
        os.makedirs(empty_proc)
        bare_sys = h.path("bare-sys")
        os.makedirs(os.path.join(bare_sys, "class/net/lo"))
        with open(os.path.join(bare_sys, "class/net/lo/operstate"), "w") as f:
            f.write("unknown\n")
        ne, ours, lk_all = run_pair(h, lookout, "absent", ["conntrack", "mdadm", "bonding", "netclass",
                                                           "schedstat", "udp_queues", "cpufreq",
                                                           "thermal_zone", "dmi", "edac", "nvme",
                                                           "rapl", "hwmon", "powersupplyclass",
                                                           "tapestats", "nfs", "nfsd", "xfs",
                                                           "btrfs", "infiniband", "fibrechannel",
                                                           "zfs", "ipvs", "bcache"],
                                    empty_proc, bare_sys, None)
        problems += compare("no conntrack/md/bonding/schedstat/udp", ne, ours)
        counts["series"] += len(ne)
        for c in ("conntrack", "mdadm", "bonding", "schedstat", "udp_queues", "cpufreq",
                  "thermal_zone", "dmi", "edac", "nvme", "rapl", "hwmon", "powersupplyclass",
                  "tapestats", "nfs", "nfsd", "xfs", "btrfs", "infiniband", "fibrechannel", "zfs",
                  "ipvs", "bcache"):
            if lk_all.get(("lookout_collector_success", frozenset({("collector", c)}))) != 1.0:
                problems.append(f"absent {c}: lookout_collector_success should be 1 (feature absent "
                                "is not a failure, README)")

    if problems:
        fail("fixture parity problems:\n" + "\n".join(problems))
    print(f"fixture parity: {counts['series']} series equal on the fixture tree and "
          f"{counts['cases']} textfile cases ({counts['differences']} deliberate differences "
          "checked)")
    print(f"fixture parity: {counts['cases'] + 4} passed, 0 failed")


if __name__ == "__main__":
    main()
