#!/usr/bin/env python3
"""Trace throughput benchmark: spans per second through lookout on ONE core (taskset -c 0) from
OTLP/HTTP protobuf or OTLP/gRPC in, through enrichment and span metrics, to an OTLP/HTTP
(or, with --export grpc, OTLP/gRPC) exporter sending to a discarding receiver, and lookout's RSS
at that rate. The load generator and the discarding receiver (trace_load, C++) run on the other
core.

Requests: 512 spans each, ~10 attributes per span, 32 span names across 4 services, unique
trace/span IDs per request. lookout's own counters give the rates: spans accepted and spans
exported per second over the measured interval; CPU from /proc/<pid>/stat.

For each receive protocol (HTTP, then gRPC, unless --protocol picks one), two runs: flat out (the
most one core sustains), and paced at the target rate (500,000 spans/s) for the RSS at that rate.
The last line compares gRPC's flat-out spans per CPU-second with HTTP's (issue 23: within 15%).

usage: trace_bench.py LOOKOUT TRACE_LOAD [--seconds S] [--compression none|gzip] [--rate SPANS/S]
                      [--protocol http|grpc|both] [--export http|grpc]
       trace_bench.py LOOKOUT TRACE_LOAD --against OTHER_LOOKOUT [--compression gzip]
                      [--rounds 3] [--seconds 8]   (two builds, alternating, in one run)
"""
import argparse
import os
import random
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Harness, free_port, http_get, parse_text, wait_http  # noqa: E402
from protowire import field, kv  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def build_request(rng, spans=512):
    by_service = {}
    for i in range(spans):
        svc = f"svc-{i % 4}"
        attrs = [("http.method", "GET" if i % 3 else "POST"), ("http.route", f"/api/v1/r{i % 8}"),
                 ("http.status_code", "200"), ("net.peer.name", "backend.shop.svc"),
                 ("net.peer.port", "8080"), ("user_agent.original", "bench/1.0"),
                 ("component", "http"), ("tenant", f"t{i % 5}"), ("region", "eu-west-1"),
                 ("request.id", f"{rng.getrandbits(64):016x}")]
        span = (field(1, rng.randbytes(16)) + field(2, rng.randbytes(8)) +
                field(4, rng.randbytes(8)) + field(5, f"GET /api/v1/r{i % 8}".encode()) +
                b"\x30\x02" + b"\x39" + struct.pack("<Q", 1_700_000_000_000_000_000) +
                b"\x41" + struct.pack("<Q", 1_700_000_000_000_000_000 + (i % 50) * 1_000_000) +
                b"".join(field(9, kv(k, v)) for k, v in attrs) +
                (field(15, b"\x18\x02") if i % 50 == 0 else b""))
        by_service.setdefault(svc, []).append(span)
    body = b""
    for svc, ss in by_service.items():
        resource = field(1, kv("service.name", svc)) + field(1, kv("host.name", "bench"))
        scope = field(1, field(1, b"bench")) + b"".join(field(2, s) for s in ss)
        body += field(1, field(1, resource) + field(2, scope))
    return body


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def counter(port, name):
    samples, _ = parse_text(http_get(f"http://127.0.0.1:{port}/metrics")[2].decode())
    return sum(v for (n, _), v in samples.items() if n == name)


def run(lookout, trace_load, seconds, compression, spans_per_second=0, protocol="http",
        export="http"):
    with Harness() as h:
        sink_port = free_port()
        h.start(["taskset", "-c", "1", trace_load, "grpc-sink" if export == "grpc" else "sink",
                 str(sink_port)], "sink")
        endpoint = (f"127.0.0.1:{sink_port}" if export == "grpc"
                    else f"http://127.0.0.1:{sink_port}/v1/traces")
        cfg = h.path("bench.yaml")
        with open(cfg, "w") as f:
            f.write(f"""kubernetes: {{mode: off}}
apps: {{enabled: false}}
server: {{threads: 1}}
traces:
  export: {{protocol: {export}, endpoint: "{endpoint}",
            compression: {compression}, batch_timeout: 20ms}}
""")
        time.sleep(0.3)
        port = free_port()
        otlp_http, otlp_grpc = free_port(), free_port()
        agent = h.start(["taskset", "-c", "0", lookout, "--config", cfg,
                         f"--web.listen-address=127.0.0.1:{port}",
                         f"--otlp.http.listen-address=127.0.0.1:{otlp_http}",
                         f"--otlp.grpc.listen-address=127.0.0.1:{otlp_grpc}"], "lookout")
        mode, otlp = ("grpc-load", otlp_grpc) if protocol == "grpc" else ("load", otlp_http)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=agent)
        rng = random.Random(7)
        body_file = h.path("request.bin")
        with open(body_file, "wb") as f:
            f.write(build_request(rng))
        # Warm up, then measure.
        subprocess.run(["taskset", "-c", "1", trace_load, mode, str(otlp), body_file, "4", "2"],
                       check=True, capture_output=True)
        time.sleep(0.5)
        acc0, exp0 = (counter(port, "lookout_trace_spans_accepted_total"),
                      counter(port, "lookout_trace_spans_exported_total"))
        cpu0, t0 = cpu_seconds(agent.pid), time.time()
        argv = ["taskset", "-c", "1", trace_load, mode, str(otlp), body_file, "4", str(seconds)]
        if spans_per_second:
            argv.append(str(spans_per_second / 512))
        load = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        rss = []
        while load.poll() is None:
            time.sleep(0.5)
            rss.append(rss_mib(agent.pid))
        out = load.stdout.read()
        took = time.time() - t0
        cpu = cpu_seconds(agent.pid) - cpu0
        time.sleep(0.5)  # let the exporter finish the last batch
        acc = counter(port, "lookout_trace_spans_accepted_total") - acc0
        exp = counter(port, "lookout_trace_spans_exported_total") - exp0
        return {"accepted_per_s": acc / took, "exported_per_s": exp / took,
                "cpu_cores": cpu / took, "rss_peak_mib": max(rss) if rss else 0,
                "spans_per_cpu_second": exp / cpu if cpu else 0, "load": out.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("trace_load")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--compression", default="none")
    ap.add_argument("--rate", type=float, default=500_000)
    ap.add_argument("--protocol", choices=("http", "grpc", "both"), default="both")
    ap.add_argument("--export", choices=("http", "grpc"), default="http",
                    help="export protocol to the sink (the default config exports over grpc)")
    ap.add_argument("--against", metavar="OTHER_LOOKOUT",
                    help="instead: this agent and another build, alternating, --rounds rounds of "
                         "flat-out runs with --compression over each --export protocol "
                         "(OTLP/HTTP in); per round, spans per CPU-second, the ratio, peak RSS")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.against:
        compare(a)
        return
    flat = {}
    for protocol in (("http", "grpc") if a.protocol == "both" else (a.protocol,)):
        for rate in (0, a.rate):
            r = run(a.lookout, a.trace_load, a.seconds, a.compression, rate, protocol, a.export)
            report(r, a.compression, rate, protocol, a.export)
            if not rate:
                flat[protocol] = r["spans_per_cpu_second"]
    if len(flat) == 2 and flat["http"]:
        print(f"gRPC / HTTP spans per CPU-second, flat out: {flat['grpc'] / flat['http']:.2f}")


def compare(a):
    builds = {"this": a.lookout, "other": a.against}
    print(f"OTLP/HTTP in, 1 core, flat out, export compression {a.compression}; "
          f"this = {a.lookout}, other = {a.against}")
    print("| round | export | this: spans/CPU-s | other: spans/CPU-s | this / other "
          "| this: peak RSS MiB | other: peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for rnd in range(a.rounds):
        order = ["this", "other"] if rnd % 2 == 0 else ["other", "this"]
        for export in ("grpc", "http"):
            r = {side: run(builds[side], a.trace_load, a.seconds, a.compression, 0, "http", export)
                 for side in order}
            this, other = r["this"], r["other"]
            ratio = (this["spans_per_cpu_second"] / other["spans_per_cpu_second"]
                     if other["spans_per_cpu_second"] else 0)
            print(f"| {rnd + 1} | OTLP/{export.upper()} | {this['spans_per_cpu_second']:,.0f} "
                  f"| {other['spans_per_cpu_second']:,.0f} | {ratio:.2f} "
                  f"| {this['rss_peak_mib']:.1f} | {other['rss_peak_mib']:.1f} |", flush=True)


def report(r, compression, rate, protocol, export):
    # Published OpenTelemetry Collector figure for scale (not measured here; no collector binary
    # is installable on this machine): ~160,000 spans/s per core at best (6.2% of a core at
    # 10,000 spans/s over OTLP/gRPC, from its load-test results).
    collector = 160_000
    print(f"trace pipeline, 1 core, OTLP/{protocol.upper()} in, OTLP/{export.upper()} out, "
          f"export compression {compression}, "
          f"{'flat out' if not rate else f'paced at {rate:,.0f} spans/s'}:")
    print(f"  spans accepted/s    {r['accepted_per_s']:>12,.0f}")
    print(f"  spans exported/s    {r['exported_per_s']:>12,.0f}")
    print(f"  lookout CPU (cores) {r['cpu_cores']:>12.2f}")
    print(f"  spans per CPU-second{r['spans_per_cpu_second']:>12,.0f}  "
          f"({r['spans_per_cpu_second'] / collector:.1f}x the collector's published best)")
    print(f"  peak RSS (MiB)      {r['rss_peak_mib']:>12.1f}")
    print(f"  load: {r['load']}")


if __name__ == "__main__":
    main()
