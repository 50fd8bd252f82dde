#!/usr/bin/env python3
"""Golden test: the lookout binary on the committed fixture tree (and its textfile directory);
its /metrics (text and OpenMetrics) must equal tests/golden/*.txt after masking values that
depend on the machine running the test (clock, uname, adjtimex, statfs of the fixture directory,
file mtimes of the checkout, timings) and writing the checkout's fixture path as <fixtures>.

Run with --update to rewrite the golden files after an intended change (review the diff!).
"""
import difflib
import os
import re
import sys

from fixture_parity_test import ALL_LOOKOUT
from harness import FIXTURES, REPO, Harness, fail, http_get

# Series whose value depends on the machine or the moment, not on the fixtures.
VOLATILE_VALUE = re.compile(
    r"^(lookout_collector_duration_seconds|lookout_http_|node_time_seconds|"
    r"lookout_slo_tick_duration_seconds|lookout_slo_ticks_total|lookout_slo_memory_bytes|"
    r"node_time_zone_offset_seconds|node_filesystem_(size|free|avail)_bytes|"
    r"node_filesystem_files(_free)?|node_timex_|node_textfile_mtime_seconds|"
    r"lookout_open_files(_limit)?$|lookout_kept_open_files)")
# Series whose labels depend on the build or host.
VOLATILE_LABELS = re.compile(r"^(lookout_build_info|node_exporter_build_info|node_uname_info|node_time_zone_offset_seconds)")


def normalize(body):
    out = []
    body = body.replace(FIXTURES, "<fixtures>")
    for line in body.splitlines():
        if line.startswith("#"):
            if re.match(r"# (HELP|TYPE|UNIT) (lookout_http_|lookout_metrics_scrapes)", line):
                continue
            out.append(line)
            continue
        if line.startswith(("lookout_http_", "lookout_metrics_scrapes")):
            continue  # depends on how many requests this test made
        m = re.match(r"^([^{ ]+)(\{.*\})? (\S+)(.*)$", line)
        if not m:
            out.append(line)
            continue
        name, labels, value, rest = m.group(1), m.group(2) or "", m.group(3), m.group(4)
        if VOLATILE_LABELS.match(name):
            labels = "{<host>}"
        if VOLATILE_VALUE.match(name) or VOLATILE_LABELS.match(name):
            value = "<v>"
        out.append(f"{name}{labels} {value}{rest}")
    return "\n".join(out) + "\n"


# The collectors whose hardware or services only the big-machine tree (tests/fixtures/node_big)
# has.
BIG_TREE_COLLECTORS = ["cpufreq", "thermal_zone", "dmi", "edac", "nvme", "rapl", "hwmon",
                       "powersupplyclass", "tapestats", "nfs", "nfsd", "xfs", "btrfs",
                       "infiniband", "fibrechannel", "zfs", "ipvs", "selinux",
                       "bcache"]


def main():
    lookout = sys.argv[1]
    update = "--update" in sys.argv
    node = os.path.join(FIXTURES, "node")
    checked = 0
    with Harness() as h:
        cfg = h.path("lookout.yaml")
        with open(cfg, "w") as f:
            f.write(f"node:\n  collectors:\n    textfile: {{directory: '{node}/textfile'}}\n")
        _, port = h.start_lookout(lookout, [
            f"--config={cfg}", f"--path.procfs={node}/proc", f"--path.sysfs={node}/sys",
            f"--path.rootfs={node}/root"], name="node")
        # The big tree, with only its own collectors (the others would repeat the first golden).
        big_cfg = h.path("lookout-big.yaml")
        with open(big_cfg, "w") as f:
            f.write("node:\n  collectors:\n")
            for c in ALL_LOOKOUT:
                f.write(f"    {c}: {{enabled: {'true' if c in BIG_TREE_COLLECTORS else 'false'}}}\n")
        _, big_port = h.start_lookout(lookout, [
            f"--config={big_cfg}", f"--path.procfs={os.path.join(FIXTURES, 'node_big')}/proc",
            f"--path.sysfs={os.path.join(FIXTURES, 'node_big')}/sys",
            f"--path.rootfs={os.path.join(FIXTURES, 'node_big')}/root", "--otlp.http.listen-address=off",
            "--otlp.grpc.listen-address=off"], name="big")
        runs = [(f"http://127.0.0.1:{port}/metrics", "node_fixture"),
                (f"http://127.0.0.1:{big_port}/metrics/node", "node_big_fixture")]
        for (url, stem), (fmt, headers) in [
                (r, f) for r in runs
                for f in (("text", {}),
                          ("openmetrics", {"Accept": "application/openmetrics-text; version=1.0.0"}))]:
            _, _, body = http_get(url, headers)
            got = normalize(body.decode())
            checked += 1
            golden = os.path.join(REPO, "tests", "golden", f"{stem}_{fmt}.txt")
            if update:
                with open(golden, "w") as f:
                    f.write(got)
                print(f"updated {golden}")
                continue
            with open(golden) as f:
                want = f.read()
            if got != want:
                diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                    "golden", "actual"))
                fail(f"{fmt} output differs from {golden}:\n{diff}")
    print(f"golden: {checked} passed, 0 failed")


if __name__ == "__main__":
    main()
