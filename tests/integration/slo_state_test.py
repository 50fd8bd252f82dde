#!/usr/bin/env python3
"""SLO windows survive agent restarts: two agents side by side scrape one payment app
(tests/peers/payment_app.py, python3-prometheus-client, counters growing on their own), one with
slo.state.directory, one (the twin) that never stops. A real Prometheus scrapes the restarted
agent and evaluates the rules `lookout slo rules` generates for the same specs.

History: an incident (30% checkout errors), then 5%: the page alert fires and the period's
budget is overspent. Then:
  1. SIGTERM, 4 s down, restart: every SLO and the payments are restored; the page alert is
     still 1 in the agent's first scrape (a fresh agent would have no windows to burn); window
     counts, burn rates and the remaining budget equal the twin's within the stated bound.
  2. The spec of one SLO changes (its bad selector), kill -9, 4 s down, restart: that SLO starts
     fresh (refused: spec_changed), the others are restored and still equal the twin's, the
     downtime and the events since the last periodic save included.
Throughout, in Prometheus, the page alert of the burning SLO never resolves, and the quiet SLO
(no errors) never fires, in Prometheus or in the agent.

The bound: every compared window (2m and longer; the run is shorter) holds the whole history in
both agents, so they may differ only by when each read the app: at most one scrape interval of
traffic at each end, plus one at each restart. Usage: slo_state_test.py /path/to/lookout
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from harness import Harness, fail, free_port, prom_query, sample_sum, scrape, wait_for  # noqa: E402
from harness import http_get, wait_http  # noqa: E402
from payment_app import PaymentApp  # noqa: E402

RATE = 200  # checkout requests per second
SLO_TEMPLATE = """
slos:
  - name: checkout
    service: shop
    objective: 99
    period: 10m
    sli: {{ratio: {{bad: 'http_requests_total{{handler="checkout",code="500"}}', total: 'http_requests_total{{handler="checkout"}}'}}}}
    alerting:
      page: [{{long: 2m, short: 10s, burn_rate: 2}}]
      ticket: [{{long: 5m, short: 1m, burn_rate: 1}}]
  - name: search
    service: shop
    objective: 99
    period: 10m
    sli: {{ratio: {{bad: 'search_requests_total{{code="500"}}', total: search_requests_total}}}}
    alerting:
      page: [{{long: 2m, short: 10s, burn_rate: 2}}]
      ticket: [{{long: 5m, short: 1m, burn_rate: 1}}]
  - name: refunds
    service: shop
    objective: 99
    period: 10m
    sli: {{ratio: {{bad: 'refund_requests_total{{code={refund_bad}}}', total: refund_requests_total}}}}
    alerting:
      page: [{{long: 2m, short: 10s, burn_rate: 2}}]
      ticket: [{{long: 5m, short: 1m, burn_rate: 1}}]
"""
COMPARED = {"checkout": ("2m", "5m", "10m"), "search": ("2m", "5m", "10m"),
            "refunds": ("2m", "5m", "10m")}
PAYMENT_WINDOWS = ("5m", "30m", "1h", "30d")


def write_specs(path, refund_bad):
    with open(path, "w") as f:
        f.write(SLO_TEMPLATE.format(refund_bad=refund_bad))


def config(h, name, app_port, specs, state_dir=None):
    path = h.path(name + ".yaml")
    state = f"\n  state: {{directory: {state_dir}, save_interval: 2s}}" if state_dir else ""
    with open(path, "w") as f:
        f.write(f"""apps:
  scrape_interval: 1s
  scrape_timeout: 1s
  pods: {{enabled: false}}
  static_targets:
    - {{url: "http://127.0.0.1:{app_port}/metrics", job: shop}}
traces: {{enabled: false}}
slo:
  specs: {specs}
  tick: 1s{state}
""")
    return path


def compare(agent, twin, what, slos, tolerance_events):
    """Window counts, burn rates and budgets of `slos` and the payments: agent vs twin."""
    problems = []
    for slo in slos:
        for w in COMPARED[slo]:
            labels = {"slo": slo, "service": "shop", "window": w}
            a_total = sample_sum(agent, "lookout_slo_window_events", **labels)
            t_total = sample_sum(twin, "lookout_slo_window_events", **labels)
            a_good = sample_sum(agent, "lookout_slo_window_good_events", **labels)
            t_good = sample_sum(twin, "lookout_slo_window_good_events", **labels)
            if None in (a_total, t_total) or abs(a_total - t_total) > tolerance_events:
                problems.append(f"{slo} {w} events: agent {a_total}, twin {t_total}")
                continue
            if abs((a_total - a_good) - (t_total - t_good)) > tolerance_events:
                problems.append(f"{slo} {w} bad events: agent {a_total - a_good}, "
                                f"twin {t_total - t_good}")
            a_burn = sample_sum(agent, "lookout_slo_burn_rate", **labels)
            t_burn = sample_sum(twin, "lookout_slo_burn_rate", **labels)
            if (a_burn is None) != (t_burn is None) or (
                    a_burn is not None and abs(a_burn - t_burn) > 0.05 * max(t_burn, 0.5)):
                problems.append(f"{slo} {w} burn rate: agent {a_burn}, twin {t_burn}")
        a_budget = sample_sum(agent, "lookout_slo_error_budget_remaining_ratio", slo=slo)
        t_budget = sample_sum(twin, "lookout_slo_error_budget_remaining_ratio", slo=slo)
        if (a_budget is None) != (t_budget is None) or (
                a_budget is not None and abs(a_budget - t_budget) > 0.05 * max(abs(t_budget), 1)):
            problems.append(f"{slo} budget remaining: agent {a_budget}, twin {t_budget}")
    for w in PAYMENT_WINDOWS:
        a = sample_sum(agent, "lookout_payment_window_attempts", window=w)
        t = sample_sum(twin, "lookout_payment_window_attempts", window=w)
        if None in (a, t) or abs(a - t) > tolerance_events / 5:
            problems.append(f"payments {w} attempts: agent {a}, twin {t}")
    if problems:
        fail(f"{what}: the restarted agent differs from its twin beyond the bound "
             f"({tolerance_events:.0f} events):\n  " + "\n  ".join(problems))
    print(f"ok {what}: {len(slos)} SLOs x windows and the payments equal the twin's "
          f"within {tolerance_events:.0f} events")


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        app = PaymentApp(rate=RATE, error_ratio=0.30)
        app_port = free_port()
        app.serve(app_port)
        specs = h.path("specs.yaml")
        write_specs(specs, '"503"')
        state_dir = h.path("state")
        twin_cfg = config(h, "twin", app_port, specs)
        agent_cfg = config(h, "agent", app_port, specs, state_dir)
        rules = h.path("rules.yaml")
        gen = subprocess.run([lookout, "slo", "rules", specs, "--config", agent_cfg],
                             capture_output=True, text=True)
        if gen.returncode != 0:
            fail(f"lookout slo rules: {gen.stderr}")
        with open(rules, "w") as f:
            f.write(gen.stdout)

        _, twin_port = h.start_lookout(lookout, ["--config", twin_cfg], name="twin")
        port, http_port, grpc_port = free_port(), free_port(), free_port()
        agent_args = ["--config", agent_cfg, f"--web.listen-address=127.0.0.1:{port}",
                      f"--otlp.http.listen-address=127.0.0.1:{http_port}",
                      f"--otlp.grpc.listen-address=127.0.0.1:{grpc_port}"]

        def start_agent(name):
            p = h.start([lookout] + agent_args, name)
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=p)
            return p

        agent = start_agent("agent")
        _, prom = h.start_prometheus(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
  - job_name: lookout
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""")
        for p in (port, twin_port):
            wait_for("both agents' baselines",
                     lambda: sample_sum(scrape(p), "lookout_slo_series", slo="checkout"))
        time.sleep(12)  # the incident: 30% errors
        app.error_ratio = 0.05
        page = ('ALERTS{alertname="LookoutSLOErrorBudgetBurn",slo="checkout",severity="page",'
                'alertstate="firing"}')
        wait_for("the checkout page alert in Prometheus", lambda: prom_query(prom, page))
        fired_at = time.time()
        time.sleep(4)
        tolerance = 3 * RATE  # events in one scrape interval, at each end and at each restart

        # 1. SIGTERM, 4 s down, restart.
        before = scrape(port)
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
        if agent.returncode != 0:
            fail(f"agent exited with {agent.returncode} on SIGTERM:\n{h.log(agent)}")
        time.sleep(4)
        agent = start_agent("agent-2")
        first = scrape(port)
        for slo in ("checkout", "search", "refunds"):
            if sample_sum(first, "lookout_slo_state_restored", slo=slo) != 1:
                fail(f"{slo} not restored after SIGTERM:\n{h.log(agent)}")
        if sample_sum(first, "lookout_payment_state_restored") != 1:
            fail("payments not restored after SIGTERM")
        if sample_sum(first, "lookout_slo_alert_firing", slo="checkout", severity="page") != 1:
            fail("the agent's first scrape after the restart has the checkout page alert off")
        gap = sample_sum(first, "lookout_slo_state_gap_seconds")
        if not 3.5 <= gap <= 15:
            fail(f"lookout_slo_state_gap_seconds {gap}, the agent was down about 4 s")
        b_budget = sample_sum(before, "lookout_slo_error_budget_remaining_ratio", slo="checkout")
        f_budget = sample_sum(first, "lookout_slo_error_budget_remaining_ratio", slo="checkout")
        print(f"checkout budget remaining: {b_budget:.2f} before SIGTERM, {f_budget:.2f} in the "
              f"first scrape after the restart (a fresh start would refill it toward "
              f"{1 - 0.05 / 0.01:.0f})")
        time.sleep(3)
        compare(scrape(port), scrape(twin_port), "after SIGTERM",
                ("checkout", "search", "refunds"), tolerance)

        # 2. The refunds SLO's spec changes; kill -9; 4 s down; restart.
        write_specs(specs, '~"5.."')
        time.sleep(1.5)
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=20)
        time.sleep(4)
        agent = start_agent("agent-3")
        first = scrape(port)
        if sample_sum(first, "lookout_slo_state_restored", slo="refunds") != 0 or sample_sum(
                first, "lookout_slo_state_refused_total", slo="refunds",
                reason="spec_changed") != 1:
            fail("the changed refunds SLO was not refused (spec_changed) after kill -9")
        for slo in ("checkout", "search"):
            if sample_sum(first, "lookout_slo_state_restored", slo=slo) != 1:
                fail(f"{slo} not restored after kill -9")
        time.sleep(3)
        after, twin = scrape(port), scrape(twin_port)
        compare(after, twin, "after kill -9", ("checkout", "search"), tolerance)
        fresh = sample_sum(after, "lookout_slo_window_events", slo="refunds", window="10m")
        twin_refunds = sample_sum(twin, "lookout_slo_window_events", slo="refunds", window="10m")
        if fresh is None or fresh > twin_refunds / 3:
            fail(f"refunds after its spec changed: {fresh} events in 10m, the twin has "
                 f"{twin_refunds}: it did not start fresh")

        # Prometheus: the page never resolved; the quiet SLO never fired.
        end = time.time()
        import json
        import urllib.parse
        q = urllib.parse.urlencode({"query": page, "start": fired_at, "end": end - 2, "step": 1})
        series = json.loads(http_get(f"http://127.0.0.1:{prom}/api/v1/query_range?{q}")[2])
        points = series["data"]["result"][0]["values"] if series["data"]["result"] else []
        if len(points) < int(end - 2 - fired_at):
            times = [float(t) for t, _ in points]
            holes = [round(b - a) for a, b in zip(times, times[1:]) if b - a > 1.5]
            fail(f"the checkout page alert resolved during the restarts: {len(points)} firing "
                 f"evaluations over {end - 2 - fired_at:.0f} s, holes {holes}")
        quiet = prom_query(prom, 'max_over_time(ALERTS{slo="search"}[10m])')
        engine_quiet = prom_query(
            prom, 'max(max_over_time(lookout_slo_alert_firing{slo="search"}[10m]))')
        if quiet or not engine_quiet or float(engine_quiet[0]["value"][1]) != 0:
            fail(f"the quiet search SLO fired: ALERTS {quiet}, engine {engine_quiet}")
        print(f"ok Prometheus: the checkout page alert fired through both restarts "
              f"({len(points)} evaluations), the quiet SLO never fired")


if __name__ == "__main__":
    main()
