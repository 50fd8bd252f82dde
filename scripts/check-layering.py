#!/usr/bin/env python3
"""Fails (exit 1) when an #include crosses a layer the wrong way. Run by ctest (lint.layering).

Folders are include/, agent/<area>/, exporters/<area>/ and the top-level agent/ files (the
wiring: agent.cc, main.cc). The rules, from CONVENTIONS.md and issue 23:
  1. include/ (interfaces and value types) includes nothing from agent/ or exporters/;
  2. agent/common is the neutral leaf: it includes only include/ and itself;
  3. no cycles between folders (a -> b and b -> a, directly or through others);
  4. collectors never include the HTTP server (agent/server) or the receivers (agent/otlp);
  5. exporters include only include/, agent/common and exporters/ (never receivers or agent);
  6. receivers (agent/otlp) reach the trace pipeline only through include/lookout/trace
     (TraceConsumer), never agent/trace;
  7. config aggregates the components' options, never the reverse: only agent/config and the
     wiring (agent.cc, main.cc) include agent/config.
Both include forms count ("..." and <...>), and relative paths ("../trace/x.h") are resolved
against the including file.

usage: check-layering.py [ROOT] [--expect-violations N]
  --expect-violations N: succeed only if exactly N violations are found (the checker's own test)
"""
import os
import re
import sys

ARGS = [a for a in sys.argv[1:] if not a.startswith("--expect-violations")]
EXPECT = None
for i, a in enumerate(sys.argv[1:], 1):
    if a.startswith("--expect-violations"):
        EXPECT = int(a.split("=", 1)[1]) if "=" in a else int(sys.argv[i + 1])
        if "=" not in a:
            ARGS.remove(sys.argv[i + 1])
ROOT = os.path.abspath(ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+["<]([^">]+)[">]', re.M)


def folder(path):
    parts = path.split("/")
    if parts[0] == "include":
        return "include"
    if parts[0] in ("agent", "exporters"):
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    return None


def edges():
    out = {}
    for top in ("include", "agent", "exporters"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), ROOT)
                src = folder(path)
                with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                    text = f.read()
                for target in INCLUDE.findall(text):
                    if target.startswith("."):  # relative to the including file
                        target = os.path.relpath(
                            os.path.normpath(os.path.join(os.path.dirname(path), target)), ".")
                    dst = folder(target if not target.startswith("lookout/") else "include/x")
                    if dst and dst != src:
                        out.setdefault((src, dst), []).append(f"{path} -> {target}")
    return out


def violations(graph):
    bad = []
    for (src, dst), where in sorted(graph.items()):
        rule = None
        if src == "include":
            rule = "include/ depends on an implementation"
        elif src == "agent/common" and dst != "include":
            rule = "agent/common is the leaf: it includes only include/"
        elif src == "agent/collectors" and dst in ("agent/server", "agent/otlp"):
            rule = "collectors depend on the HTTP server or the receivers"
        elif src.startswith("exporters/") and not (
                dst in ("include", "agent/common") or dst.startswith("exporters/")):
            rule = "exporters include only include/, agent/common and exporters/"
        elif src == "agent/otlp" and dst == "agent/trace":
            rule = "receivers reach the trace pipeline only through TraceConsumer"
        elif dst == "agent/config" and src != "agent":
            rule = "components own their options; only the wiring includes agent/config"
        if rule:
            bad.append(f"{rule}: {where[0]}" + (f" (+{len(where) - 1} more)" if len(where) > 1 else ""))
    # Cycles: strongly connected components of the folder graph (Tarjan).
    nodes = sorted({n for e in graph for n in e})
    succ = {n: sorted(d for (s, d) in graph if s == n) for n in nodes}
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for n in nodes:
        if n not in index:
            visit(n)
    for comp in comps:
        inner = [w[0] for (s, d), w in sorted(graph.items()) if s in comp and d in comp]
        bad.append(f"cycle between {', '.join(comp)}: " + "; ".join(inner))
    return bad


def main():
    graph = edges()
    if not graph:
        print(f"no sources under {ROOT}", file=sys.stderr)
        return 2
    bad = violations(graph)
    for b in bad:
        print(b)
    print(f"{len(graph)} folder edges, {len(bad)} layering violations")
    if EXPECT is not None:
        if len(bad) != EXPECT:
            print(f"expected exactly {EXPECT} violations", file=sys.stderr)
            return 1
        return 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
