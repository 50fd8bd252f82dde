#!/usr/bin/env python3
"""clang-tidy (the repository's .clang-tidy) on the C++ files a change touched; any warning fails.
Run by ctest (lint.tidy) with the build's compile database.

Which files: the translation units (*.cc under agent/, exporters/, tests/) in the compile
database that differ from a base revision (committed or not, and untracked ones), and for each
changed header one unit that includes it (its own .cc when there is one), and for a changed
.clang-tidy a sample of the units it applies to. Warnings in our headers (agent/, exporters/,
include/lookout/, tests/) count; generated code (build/generated) and /usr/include do not.
The base:
  LOOKOUT_TIDY_BASE      a git revision (e.g. origin/main), if set;
  LOOKOUT_TIDY_COMMITS   else the last N first-parent commits (default 3);
  LOOKOUT_TIDY_MAX_FILES at most this many units (default 16; 0: no cap), the most recently
                         changed first, the rest listed as not checked. A unit takes 14 s on
                         average with two at a time on 2 cores (3-45 s; tests ~20 s), so 16
                         take 2-3 minutes;
  LOOKOUT_TIDY_JOBS      clang-tidy processes in parallel (default 2).
Without git history (no checkout, a shallow clone) it says so and checks a fixed sample.

usage: check-tidy.py --build DIR [--clang-tidy PATH] [--all | FILE...]
       check-tidy.py --fixture DIR [--clang-tidy PATH]
  --all:     every unit of the compile database (the whole tree: 136 units, ~16 min on 2 cores)
  FILE...:   these files (paths relative to the checkout)
  --fixture: the checker's own test: checks every .cc under DIR (compiled as plain C++20; DIR
             stands in for the checkout) and succeeds only if the findings are exactly the
             lines marked `// tidy-expect: CHECK` there
"""
import argparse
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SOURCE_DIRS = ("agent/", "exporters/", "tests/")
FIXTURES = "tests/fixtures/"  # test data, not our code (tidy_bad is lint.tidy_detects' own)
HEADER_DIRS = "(agent|exporters|include/lookout|tests/(unit|bench|fuzz))/"
# Checked when there is no history to diff against: one unit from each part of the tree.
SAMPLE = ("agent/common/duration.cc", "agent/collectors/node/vmstat.cc",
          "exporters/prometheus/text_encoder.cc", "tests/unit/agent/metrics/self_metrics_test.cc")
# A finding: "path:line:col: warning: text [check]"; some have no location (e.g. clang-tidy 14
# names a requires-expression's invented template parameter `expr-type` with none).
FINDING = re.compile(r"^(?:(.+?):(\d+):\d+: )?(warning|error): .*?(?: \[([\w.,-]+)\])?$")
EXPECT = re.compile(r"//\s*tidy-expect:\s*([\w. -]+)$")


def git(*args):
    r = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def changed_paths():
    """(paths, description) changed since the base, newest first; paths None without history."""
    if git("rev-parse", "--is-inside-work-tree") is None:
        return None, "not a git checkout"
    if (git("rev-parse", "--is-shallow-repository") or "").strip() == "true":
        return None, "a shallow clone"
    base = os.environ.get("LOOKOUT_TIDY_BASE", "")
    if base:
        if git("rev-parse", "--verify", "--quiet", base + "^{commit}") is None:
            sys.exit(f"check-tidy: LOOKOUT_TIDY_BASE={base} is not a revision here")
        desc, commits = f"changed since {base}", f"{base}..HEAD"
    else:
        n = int(os.environ.get("LOOKOUT_TIDY_COMMITS", "3"))
        count = int((git("rev-list", "--count", "--first-parent", "HEAD") or "0").strip())
        if n < count:
            base, desc = f"HEAD~{n}", f"changed in the last {n} commits"
        else:  # the whole history is shorter: everything
            base, desc = "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "the whole history"
        commits = f"{base}..HEAD"
    paths = []
    # Uncommitted first (staged, unstaged, untracked), then commit by commit, newest first.
    for out in (git("diff", "--name-only", "HEAD"),
                git("ls-files", "--others", "--exclude-standard"),
                git("log", "--first-parent", "-m", "--name-only", "--format=", commits)):
        for p in (out or "").split():
            if p not in paths:
                paths.append(p)
    return paths, desc


def include_spelling(header):
    return header[len("include/"):] if header.startswith("include/") else header


def units_for(paths, units):
    """Translation units to check for the changed paths, and the reasons others are skipped."""
    picked, skipped = [], []
    for p in paths:
        if os.path.basename(p) == ".clang-tidy":  # the checks changed: a sample of what they see
            d = os.path.dirname(p)
            sample = SAMPLE if not d else [next((u for u in sorted(units) if u.startswith(d + "/")),
                                                None)]
            picked += [u for u in sample if u in units and u not in picked]
            continue
        if not p.startswith(SOURCE_DIRS) or p.startswith(FIXTURES) or not p.endswith((".cc", ".h")):
            continue
        if not os.path.exists(os.path.join(ROOT, p)):
            skipped.append(f"{p} (deleted)")
        elif p.endswith(".cc"):
            (picked if p in units else skipped).append(
                p if p in units else f"{p} (not in the compile database)")
        else:
            via = p[:-2] + ".cc"
            if via not in units:
                needle = f'#include "{include_spelling(p)}"'
                via = next((u for u in sorted(units) if needle in read(u)), None)
            if via is None:
                skipped.append(f"{p} (no unit in the compile database includes it)")
            elif via not in picked:
                picked.append(via)
    return picked, skipped


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def run(clang_tidy, build, files, jobs):
    """Runs clang-tidy on each file, printing as it goes; returns {(file, line, check): line}."""
    header_filter = "^" + re.escape(ROOT) + "/" + HEADER_DIRS
    findings, start = {}, time.monotonic()

    def one(f):
        t0 = time.monotonic()
        r = subprocess.run([clang_tidy, "-p", build, "--quiet", "--warnings-as-errors=*",
                            "--header-filter=" + header_filter, os.path.join(ROOT, f)],
                           capture_output=True, text=True)
        return f, r, time.monotonic() - t0

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for f, r, secs in pool.map(one, files):
            found = []
            for line in r.stdout.splitlines():
                m = FINDING.match(line)
                if m:
                    path = os.path.relpath(m.group(1), ROOT) if m.group(1) else f
                    check = (m.group(4) or m.group(3)).replace(",-warnings-as-errors", "")
                    found.append(((path, int(m.group(2) or 0), check), line))
            failed = r.returncode != 0 or found
            print(f"  {secs:5.1f}s  {'FAIL' if failed else 'ok  '}  {f}", flush=True)
            for key, line in found:
                if key not in findings:
                    findings[key] = line.replace(ROOT + "/", "")
            if r.returncode != 0 and not found:  # a crash or an unusable command line
                findings[(f, 0, "clang-tidy")] = f"{f}: clang-tidy exited {r.returncode}: " + (
                    r.stderr.strip().splitlines() or ["(no output)"])[-1]
    return findings, time.monotonic() - start


def fixture(clang_tidy, directory):
    """The checker's own test: the findings on DIR are exactly its `tidy-expect` lines."""
    global ROOT
    ROOT = os.path.abspath(directory)
    files = sorted(os.path.relpath(os.path.join(d, n), ROOT)
                   for d, _, names in os.walk(ROOT) for n in names if n.endswith(".cc"))
    expected = set()
    for d, _, names in os.walk(ROOT):
        for n in names:
            path = os.path.relpath(os.path.join(d, n), ROOT)
            for i, line in enumerate(read(path).splitlines(), 1):
                m = EXPECT.search(line)
                if m:
                    expected |= {(path, i, check) for check in m.group(1).split()}
    with tempfile.TemporaryDirectory() as build:
        with open(os.path.join(build, "compile_commands.json"), "w") as f:
            json.dump([{"directory": ROOT, "file": os.path.join(ROOT, p),
                        "command": f"c++ -std=c++20 -I{shlex.quote(ROOT)} -I{shlex.quote(ROOT)}"
                                   f"/build/generated -c {shlex.quote(os.path.join(ROOT, p))}"}
                       for p in files], f)
        findings, _ = run(clang_tidy, build, files, 2)
    got = set(findings)
    for key in sorted(got - expected):
        print("unexpected:", findings[key])
    for path, line, check in sorted(expected - got):
        print(f"missing: {path}:{line}: [{check}]")
    print(f"{len(got & expected)} of {len(expected)} expected findings, "
          f"{len(got - expected)} unexpected")
    return 0 if got == expected and expected else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", help="build directory with compile_commands.json")
    ap.add_argument("--clang-tidy", default="clang-tidy")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--fixture")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.fixture:
        return fixture(args.clang_tidy, args.fixture)
    if not args.build:
        ap.error("--build is required")
    db = os.path.join(os.path.abspath(args.build), "compile_commands.json")
    if not os.path.exists(db):
        sys.exit(f"check-tidy: no {db} (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)")
    with open(db) as f:
        units = {os.path.relpath(e["file"], ROOT) for e in json.load(f)}
    units = {u for u in units if u.startswith(SOURCE_DIRS)}  # not build/generated
    jobs = int(os.environ.get("LOOKOUT_TIDY_JOBS", "2"))
    skipped = []
    if args.all:
        files, desc = sorted(units), "every unit in the compile database"
    elif args.files:
        files, skipped = units_for([os.path.relpath(os.path.abspath(p), ROOT)
                                    for p in args.files], units)
        desc = "the files given"
    else:
        paths, desc = changed_paths()
        if paths is None:
            print(f"check-tidy: no git history ({desc}): cannot tell what changed, so checking "
                  "a fixed sample instead")
            paths, desc = list(SAMPLE), "a fixed sample"
        files, skipped = units_for(paths, units)
        cap = int(os.environ.get("LOOKOUT_TIDY_MAX_FILES", "16"))
        if cap and len(files) > cap:
            skipped += [f"{f} (over LOOKOUT_TIDY_MAX_FILES={cap})" for f in files[cap:]]
            files = files[:cap]
        if desc == "a fixed sample" and not files:
            sys.exit("check-tidy: none of the sample files is in the compile database")
    print(f"clang-tidy on {len(files)} units ({desc}), {jobs} in parallel:", flush=True)
    for s in skipped:
        print(f"  not checked: {s}")
    findings, secs = run(args.clang_tidy, args.build, files, jobs)
    for key in sorted(findings):
        print(findings[key])
    print(f"{len(files)} units checked in {secs:.0f} s: {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
