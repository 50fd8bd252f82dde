#!/usr/bin/env python3
"""Remote write benchmark: lookout against Prometheus 2.42 in agent mode, in one run, pushing
the same series to the same receiver.

  app (N counter series) <- scraped every INTERVAL by lookout A and by lookout B
  lookout A: remote_write (WAL on) every INTERVAL to the receiver
  lookout B: identical, no remote write (A - B is what remote write costs lookout)
  Prometheus --enable-feature=agent: scrapes lookout A's /metrics every INTERVAL and remote
    writes to the receiver (its WAL is always on); lookout B's /metrics is fetched by this
    script on the same interval, with the same Accept header, so A and B serve alike
  a second, idle agent (no targets) is the agent's own floor
  receiver: Prometheus 2.42 --web.enable-remote-write-receiver

For each of --rounds windows of --seconds (after a warm-up), from /proc and the two senders'
own counters:
  CPU per sample sent: lookout (CPU of A - CPU of B) / lookout_remote_write_samples_total;
    agent CPU / prometheus_remote_storage_samples_total (the agent's whole cost: scraping is
    how it gets the samples);
  memory: lookout RSS of A - RSS of B, against the agent's RSS minus the idle agent's (and its
    whole RSS).
Issue 19's targets: lookout's CPU per sample at most half the agent's; its memory for the queue
at most the agent's.

Usage: remote_write_bench.py /path/to/lookout [--series N] [--seconds S] [--rounds R]
"""
import argparse
import os
import statistics
import sys
import threading
import time
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import app_scrape_bench  # noqa: E402
from harness import Harness, free_port, http_get, wait_http  # noqa: E402

INTERVAL = 5
HZ = os.sysconf("SC_CLK_TCK")
# What Prometheus 2.42 asks a target for.
ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
          "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def rss_mib(pid):
    return app_scrape_bench.rss_mib(pid)


def counter(port, name, path="/metrics", **labels):
    text = http_get(f"http://127.0.0.1:{port}{path}", timeout=30)[2].decode()
    total = 0.0
    for line in text.splitlines():
        if (line.startswith(name + "{") or line.startswith(name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.split()[-1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lookout")
    ap.add_argument("--series", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    app_scrape_bench.BODY = app_scrape_bench.make_body(args.series)
    with Harness() as h:
        app_port = free_port()
        srv = ThreadingHTTPServer(("127.0.0.1", app_port), app_scrape_bench.Target)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()

        recv_port = free_port()
        with open(h.path("receiver.yml"), "w") as f:
            f.write("global: {scrape_interval: 1m}\n")
        receiver = h.start(["prometheus", f"--config.file={h.path('receiver.yml')}",
                            f"--storage.tsdb.path={h.path('receiver-tsdb')}",
                            f"--web.listen-address=127.0.0.1:{recv_port}",
                            "--web.enable-remote-write-receiver"], "receiver")
        wait_http(f"http://127.0.0.1:{recv_port}/-/ready", timeout=60, proc=receiver)
        write_url = f"http://127.0.0.1:{recv_port}/api/v1/write"

        def lookout_config(name, remote_write):
            extra = (f"remote_write:\n  interval: {INTERVAL}s\n"
                     f"  wal: {{enabled: true, directory: \"{h.path('lookout-wal')}\"}}\n"
                     f"  endpoints:\n  - url: {write_url}\n"
                     "    external_labels: {sender: lookout}\n") if remote_write else ""
            return app_scrape_bench.lookout_config(
                h, name, INTERVAL, f"http://127.0.0.1:{app_port}/metrics", "app", extra)

        a, a_port = h.start_lookout(args.lookout, ["--config", lookout_config("a", True)],
                                    name="lookout-a")
        b, b_port = h.start_lookout(args.lookout, ["--config", lookout_config("b", False)],
                                    name="lookout-b")

        def start_agent(name, targets):
            port = free_port()
            cfg = h.path(name + ".yml")
            with open(cfg, "w") as f:
                f.write(f"global:\n  scrape_interval: {INTERVAL}s\n  scrape_timeout: {INTERVAL}s\n"
                        "  external_labels: {sender: agent}\n")
                if targets:
                    f.write("scrape_configs:\n- job_name: lookout\n  static_configs:\n"
                            f"  - targets: ['127.0.0.1:{targets}']\n")
                f.write(f"remote_write:\n- url: {write_url}\n")
            p = h.start(["prometheus", "--enable-feature=agent", f"--config.file={cfg}",
                         f"--storage.agent.path={h.path(name + '-wal')}",
                         f"--web.listen-address=127.0.0.1:{port}"], name)
            wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, proc=p)
            return p, port

        agent, agent_port = start_agent("agent", a_port)
        idle_agent, _ = start_agent("agent-idle", None)

        stop = threading.Event()

        def fetch_b():  # B serves /metrics as A serves the agent
            while not stop.wait(INTERVAL):
                try:
                    http_get(f"http://127.0.0.1:{b_port}/metrics",
                             {"Accept": ACCEPT, "Accept-Encoding": "gzip"}, timeout=30)
                except OSError:
                    pass
        threading.Thread(target=fetch_b, daemon=True).start()
        time.sleep(args.warmup)

        rows = []
        for r in range(args.rounds):
            c0 = {k: cpu_seconds(p.pid) for k, p in (("a", a), ("b", b), ("agent", agent))}
            s0 = (counter(a_port, "lookout_remote_write_samples_total"),
                  counter(agent_port, "prometheus_remote_storage_samples_total"))
            time.sleep(args.seconds)
            c1 = {k: cpu_seconds(p.pid) for k, p in (("a", a), ("b", b), ("agent", agent))}
            s1 = (counter(a_port, "lookout_remote_write_samples_total"),
                  counter(agent_port, "prometheus_remote_storage_samples_total"))
            sent_l, sent_p = s1[0] - s0[0], s1[1] - s0[1]
            cpu_l = (c1["a"] - c0["a"]) - (c1["b"] - c0["b"])
            cpu_p = c1["agent"] - c0["agent"]
            mem = (rss_mib(a.pid) - rss_mib(b.pid), rss_mib(agent.pid),
                   rss_mib(agent.pid) - rss_mib(idle_agent.pid))
            rows.append((sent_l, sent_p, cpu_l, cpu_p) + mem)
            print(f"round {r + 1}: lookout sent {sent_l:.0f} samples for {cpu_l:.2f} CPU-s "
                  f"(A {c1['a'] - c0['a']:.2f} - B {c1['b'] - c0['b']:.2f}); agent sent "
                  f"{sent_p:.0f} for {cpu_p:.2f} CPU-s; RSS A-B {mem[0]:.1f} MiB, agent "
                  f"{mem[1]:.1f} MiB ({mem[2]:.1f} over the idle agent)", flush=True)
        stop.set()
        pending = counter(a_port, "lookout_remote_write_samples_pending")
        dropped = counter(a_port, "lookout_remote_write_samples_dropped_total")
        failed = counter(agent_port, "prometheus_remote_storage_samples_failed_total")

    def us_per_sample(cpu, sent):
        return cpu / sent * 1e6 if sent > 0 else float("nan")
    lk = [us_per_sample(r[2], r[0]) for r in rows]
    ag = [us_per_sample(r[3], r[1]) for r in rows]
    ratio = [g / l for l, g in zip(lk, ag)]
    mem_l = [r[4] for r in rows]
    mem_a = [r[6] for r in rows]
    print(f"\n{args.series} app series + lookout's own, every {INTERVAL} s, {args.rounds} windows "
          f"of {args.seconds} s; lookout pending at the end {pending:.0f}, dropped {dropped:.0f}; "
          f"agent failed {failed:.0f}\n")
    print("| metric | lookout (WAL on) | Prometheus 2.42 agent | agent / lookout |")
    print("|---|---:|---:|---:|")
    print(f"| samples sent per window | {min(r[0] for r in rows):.0f}–{max(r[0] for r in rows):.0f}"
          f" | {min(r[1] for r in rows):.0f}–{max(r[1] for r in rows):.0f} | |")
    print(f"| CPU per sample sent (µs) | {min(lk):.2f}–{max(lk):.2f} | {min(ag):.2f}–{max(ag):.2f} "
          f"| {min(ratio):.1f}–{max(ratio):.1f}x |")
    print(f"| memory for remote write (MiB) | {min(mem_l):.1f}–{max(mem_l):.1f} (RSS A − B) | "
          f"{min(mem_a):.1f}–{max(mem_a):.1f} (RSS − idle agent's; whole RSS "
          f"{min(r[5] for r in rows):.1f}–{max(r[5] for r in rows):.1f}) | |")
    print(f"\ntargets (issue 19): CPU per sample at most half the agent's: "
          f"{'met' if min(ratio) >= 2 else 'NOT met'} (median ratio "
          f"{statistics.median(ratio):.1f}x); memory at most the agent's: "
          f"{'met' if max(mem_l) <= min(mem_a) else 'NOT met'}")


if __name__ == "__main__":
    main()
