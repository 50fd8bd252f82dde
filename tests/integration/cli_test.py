#!/usr/bin/env python3
"""The lookout binary's command line: --help, --version, --config.check, config errors
(file:line:column, the key, what was expected, exit 2), unknown flags, and graceful shutdown on
SIGTERM/SIGINT within the deadline, including with a keep-alive connection open."""
import os
import signal
import socket
import subprocess
import sys
import time

from harness import Harness, fail, free_port

passed = 0


def check(cond, msg):
    global passed
    if not cond:
        fail(msg)
    passed += 1


def run(argv):
    r = subprocess.run(argv, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def main():
    lk = sys.argv[1]
    rc, out, _ = run([lk, "--help"])
    check(rc == 0 and "--config.check" in out, "--help")
    rc, out, _ = run([lk, "--version"])
    check(rc == 0 and out.startswith("lookout 0."), f"--version: {out}")
    rc, out, _ = run([lk, "--config.check"])
    check(rc == 0 and "<embedded default>" in out, "--config.check on the embedded default")
    rc, out, _ = run([lk, "--config.print-default"])
    check(rc == 0 and "collectors:" in out, "--config.print-default")
    rc, _, err = run([lk, "--bogus"])
    check(rc == 2 and "unknown flag --bogus" in err, f"unknown flag: {rc} {err}")
    rc, _, err = run([lk, "--log.level=loud"])
    check(rc == 2 and "--log.level" in err, "bad --log.level")

    with Harness() as h:
        bad = h.path("bad.yaml")
        with open(bad, "w") as f:
            f.write("server:\n  threads: 2\nnode:\n  collectors:\n    filesystem:\n"
                    "      mount_timeout: soon\n")
        rc, _, err = run([lk, "--config", bad, "--config.check"])
        check(rc == 2 and f"{bad}:6:22: node.collectors.filesystem.mount_timeout: expected a duration"
              in err, f"config error location: {rc} {err}")
        with open(bad, "w") as f:
            f.write("log:\n  level: info\n  colour: true\n")
        rc, _, err = run([lk, "--config", bad])
        check(rc == 2 and f"{bad}:3:3: log.colour: unknown key" in err, f"unknown key: {err}")
        rc, _, err = run([lk, "--config", h.path("missing.yaml")])
        check(rc == 2 and "cannot read config" in err, "missing config file")

        # SLO specs: checked with the config (location of the bad key), and `slo rules`.
        specs = h.path("slos.yaml")
        with open(specs, "w") as f:
            f.write("slos:\n  - name: a\n    objective: 99\n    sli: {ratio: {good: g_total, "
                    "total: t_total}}\n    objectiv: 98\n")
        with open(bad, "w") as f:
            f.write(f"slo:\n  specs: {specs}\n")
        rc, _, err = run([lk, "--config", bad, "--config.check"])
        check(rc == 2 and f"{specs}:5:5: slos[0].objectiv: unknown key" in err,
              f"SLO spec error location: {rc} {err}")
        rc, _, err = run([lk, "slo", "rules", specs])
        check(rc == 2 and "slos[0].objectiv: unknown key" in err, f"slo rules on a bad spec: {err}")
        with open(specs, "w") as f:
            f.write("slos:\n  - {name: a, objective: 99, sli: {ratio: {good: g_total, "
                    "total: t_total}}}\n")
        rc, out, err = run([lk, "--config", bad, "--config.check"])
        check(rc == 0, f"--config.check with good SLO specs: {err}")
        rc, out, err = run([lk, "slo", "rules", specs, "--config", bad])
        check(rc == 0 and "record: lookout:slo_burn_rate" in out
              and "alert: LookoutSLOErrorBudgetBurn" in out, f"slo rules: {rc} {err}")
        rc, _, err = run([lk, "slo", "rules"])
        check(rc == 2 and "usage: lookout slo rules" in err, "slo rules without specs")

        # state-dir: the DaemonSet's init container gives the state hostPath to 65534.
        state = h.path("var-lib-lookout")
        rc, _, err = run([lk, "state-dir", state, "--owner", "65534:65534"])
        st = os.stat(state) if os.path.exists(state) else None
        check(rc == 0 and st and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o750),
              f"state-dir: {rc} {err} {st}")
        rc, _, err = run([lk, "state-dir", state, "--owner", "65534:65534"])
        check(rc == 0, f"state-dir on a directory it already prepared: {rc} {err}")
        # Not owners: -1 (chown's "leave it"), out of range, signs, spaces (sscanf took them).
        for args in ([], [state], [state, "--owner", "nobody"], [state, "--owner", "1:2:3"],
                     [state, "--owner", "-1:-1"], [state, "--owner", "4294967295:1"],
                     [state, "--owner", "1:4294967296"], [state, "--owner", "+1:1"],
                     [state, "--owner", " 1:1"], [state, "--owner", "1:"]):
            rc, _, err = run([lk, "state-dir", *args])
            check(rc == 2 and "usage: lookout state-dir DIR --owner UID:GID" in err,
                  f"state-dir {args}: {rc} {err}")
        with open(h.path("a-file"), "w") as f:
            f.write("x")
        rc, _, err = run([lk, "state-dir", h.path("a-file"), "--owner", "1:1"])
        check(rc == 1 and "state-dir:" in err, f"state-dir on a file: {rc} {err}")
        # slo.state.directory locked by another agent: start-up stops, exit 1, clear message.
        cfg = h.path("state.yaml")
        with open(cfg, "w") as f:
            f.write(f"slo:\n  state: {{directory: {h.path('slo-state')}}}\n")
        p, _ = h.start_lookout(lk, ["--config", cfg], name="state-owner")
        rc, _, err = run([lk, "--config", cfg, "--web.listen-address=127.0.0.1:0",
                          "--otlp.http.listen-address=off", "--otlp.grpc.listen-address=off"])
        check(rc == 1 and "is used by another process" in err, f"locked state dir: {rc} {err}")

        # Port already taken: runtime failure, exit 1, clear message.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            rc, _, err = run([lk, f"--web.listen-address=127.0.0.1:{s.getsockname()[1]}"])
            check(rc == 1 and "cannot listen" in err, f"port in use: {rc} {err}")

        for sig in (signal.SIGTERM, signal.SIGINT):
            p, port = h.start_lookout(lk, ["--log.format=json"], name=f"sig{sig}")
            idle = socket.create_connection(("127.0.0.1", port))
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.recv(4096)  # keep-alive connection stays open
            start = time.time()
            p.send_signal(sig)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fail(f"no exit within 10s of {sig.name}")
            took = time.time() - start
            check(p.returncode == 0 and took < 6, f"{sig.name}: rc {p.returncode} in {took:.1f}s")
            log = h.log(p)
            check('"msg":"shutting down"' in log and '"msg":"stopped"' in log,
                  f"json logs on {sig.name}: {log}")
            idle.close()
    print(f"cli: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
