#!/usr/bin/env python3
"""node_exporter parity on the real host: prometheus-node-exporter and lookout run side by side
with the same collectors and filters. For every family both expose, label sets must match and
values must agree: static values exactly; changing values must lie within node_exporter's two
reads taken just before and just after ours (plus a small tolerance).

Families only one side exposes must be listed in KNOWN_DIFFERENCES (documented in README).
"""
import os
import sys
import time

from harness import Harness, fail, http_get, parse_text

COLLECTORS = ["cpu", "meminfo", "loadavg", "diskstats", "filesystem", "netdev", "stat", "vmstat",
              "pressure", "uname", "time", "filefd", "sockstat", "netstat", "os", "timex",
              "conntrack", "netclass", "textfile", "mdadm", "bonding", "arp", "cpufreq",
              "entropy", "schedstat", "softnet", "udp_queues", "thermal_zone", "dmi", "edac",
              "nvme", "rapl", "hwmon", "powersupplyclass", "tapestats", "nfs", "nfsd",
              "xfs", "btrfs", "infiniband", "fibrechannel", "zfs", "ipvs", "selinux",
              "bcache"]
# mdadm and bonding find nothing on a host without md arrays or bonds: both sides must then
# expose no node_md_*/node_bonding_* series (tests/integration/fixture_parity_test.py compares
# them on fixtures).

# Same filters on both sides (Debian's node_exporter build patches some defaults).
MOUNT_EXCLUDE = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
FS_TYPES_EXCLUDE = ("^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|"
                    "hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|"
                    "securityfs|selinuxfs|squashfs|sysfs|tracefs)$")
NETDEV_EXCLUDE = "^lo$"

# Values that do not change while the machine runs: must be equal.
STATIC = ("node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes", "node_boot_time_seconds",
          "node_filesystem_size_bytes", "node_filesystem_files", "node_filesystem_readonly",
          "node_filesystem_device_error", "node_filefd_maximum", "node_uname_info", "node_os_info",
          "node_os_version", "node_disk_info", "node_time_clocksource_available_info",
          "node_time_clocksource_current_info", "node_time_zone_offset_seconds",
          "node_memory_Hugepagesize_bytes", "node_memory_VmallocTotal_bytes",
          "node_memory_HugePages_Total", "node_netstat_Ip_Forwarding",
          "node_nf_conntrack_entries_limit", "node_entropy_pool_size_bits",
          "node_cpu_frequency_min_hertz", "node_cpu_frequency_max_hertz",
          "node_network_info", "node_network_up", "node_network_mtu_bytes",
          "node_network_speed_bytes", "node_network_flags", "node_network_iface_",
          "node_network_address_assign_type", "node_network_device_id", "node_network_dormant",
          "node_network_name_assign_type", "node_network_net_dev_group",
          "node_network_protocol_type", "node_network_transmit_queue_length",
          "node_textfile_", "textfile_parity_")

# The kernel clock discipline moves all the time (maxerror grows by 500 ppm of elapsed time until
# it is capped, offset and frequency follow NTP): lookout's read must lie between node_exporter's
# two reads around it, with room for float rounding only.
TIMEX_PREFIX = "node_timex_"

# A textfile directory both read (Debian's node_exporter defaults to its own directory, lookout to
# none).
TEXTFILE = """# HELP textfile_parity_jobs_total Jobs run by a cron task.
# TYPE textfile_parity_jobs_total counter
textfile_parity_jobs_total{job="backup"} 12
textfile_parity_jobs_total{job="rotate"} 3
textfile_parity_last_run_timestamp_seconds 1.7e+09
"""

# Families exposed by only one side, with the reason (mirrored in README).
KNOWN_DIFFERENCES = {
    # node_exporter's own process/runtime families and lookout's lookout_* self-metrics.
}
IGNORED_PREFIXES = ("go_", "process_", "promhttp_", "node_scrape_", "node_exporter_", "lookout_")


def families(samples):
    return {name for (name, _) in samples}


def compare(ne0, ours, ne1, types):
    """Returns (problems, series checked, families in common)."""
    ne_fams = {n for n in families(ne0) if not n.startswith(IGNORED_PREFIXES)}
    our_fams = {n for n in families(ours) if not n.startswith(IGNORED_PREFIXES)}
    only_ne = ne_fams - our_fams - set(KNOWN_DIFFERENCES)
    only_ours = our_fams - ne_fams - set(KNOWN_DIFFERENCES)
    if only_ne or only_ours:
        return ([f"families only node_exporter has: {sorted(only_ne)}",
                 f"families only lookout has: {sorted(only_ours)}"], 0, 0)

    checked = 0
    problems = []
    for fam in sorted(ne_fams & our_fams):
        ne_series = {labels for (n, labels) in ne0 if n == fam}
        our_series = {labels for (n, labels) in ours if n == fam}
        if ne_series != our_series:
            problems.append(f"{fam}: label sets differ\n  node_exporter only: "
                            f"{sorted(map(sorted, ne_series - our_series))}\n  lookout only: "
                            f"{sorted(map(sorted, our_series - ne_series))}")
            continue
        for labels in ne_series:
            a, b, v = ne0[(fam, labels)], ne1.get((fam, labels), ne0[(fam, labels)]), ours[(fam, labels)]
            if fam.startswith(STATIC):
                ok = v == a == b or (fam.startswith("node_filesystem_") and abs(v - a) <= 0.001 * abs(a))
            elif fam.startswith(TIMEX_PREFIX):
                lo, hi = min(a, b), max(a, b)
                tol = 1e-9 + 1e-9 * max(abs(lo), abs(hi))
                ok = lo - tol <= v <= hi + tol
            else:
                lo, hi = min(a, b), max(a, b)
                tol = max(0.02 * max(abs(lo), abs(hi)), 2.0)
                if fam == "node_time_seconds":
                    tol = 5.0
                ok = lo - tol <= v <= hi + tol
                if types.get(fam) == "counter" and v < lo - 1e-9 * abs(lo) - 0.02:
                    ok = False  # a counter below node_exporter's earlier read is wrong
            if not ok:
                problems.append(f"{fam}{dict(labels)}: lookout {v}, node_exporter {a} / {b}")
            checked += 1
    return problems, checked, len(ne_fams & our_fams)


def start_matched_pair(h, lookout):
    """Starts lookout and node_exporter with the same collectors and filters.
    Returns (lookout_proc, lookout_port, node_exporter_proc, node_exporter_port)."""
    textfile_dir = h.path("textfile")
    os.makedirs(textfile_dir, exist_ok=True)
    with open(os.path.join(textfile_dir, "cron.prom"), "w") as f:
        f.write(TEXTFILE)
    cfg = h.path("lookout.yaml")
    with open(cfg, "w") as f:
        f.write(f"""node:
  collectors:
    filesystem:
      mount_points_exclude: '{MOUNT_EXCLUDE}'
      fs_types_exclude: '{FS_TYPES_EXCLUDE}'
    netdev:
      device_exclude: '{NETDEV_EXCLUDE}'
    textfile:
      directory: '{textfile_dir}'
""")
    lk, lk_port = h.start_lookout(lookout, [f"--config={cfg}"])
    ne, ne_port = h.start_node_exporter(COLLECTORS, [
        f"--collector.filesystem.mount-points-exclude={MOUNT_EXCLUDE}",
        f"--collector.filesystem.fs-types-exclude={FS_TYPES_EXCLUDE}",
        f"--collector.netdev.device-exclude={NETDEV_EXCLUDE}",
        f"--collector.textfile.directory={textfile_dir}"])
    return lk, lk_port, ne, ne_port


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        _, lk, _, ne = start_matched_pair(h, lookout)

        def scrape(port):
            return parse_text(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())

        scrape(ne), scrape(lk)  # warm both up (first-scrape effects, page cache)
        # Host-wide gauges (memory, sockets) move when anything else on the machine runs; a
        # semantic mismatch shows in every attempt, a coincidence does not.
        for attempt in range(1, 4):
            time.sleep(0.2)
            ne0, types = scrape(ne)
            ours, _ = scrape(lk)
            ne1, _ = scrape(ne)
            problems, checked, common = compare(ne0, ours, ne1, types)
            if not problems:
                break
            print(f"attempt {attempt}: {len(problems)} differences, retrying", file=sys.stderr)
        if problems:
            fail("parity problems:\n" + "\n".join(problems))
        print(f"parity: {common} families, {checked} series compared (attempt {attempt})")
        print(f"parity: {checked} passed, 0 failed")


if __name__ == "__main__":
    main()
