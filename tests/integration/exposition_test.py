#!/usr/bin/env python3
"""Both exposition formats checked by independent parsers:
- text 0.0.4 through `promtool check metrics` (Prometheus's own parser and linter);
- OpenMetrics 1.0 through python3-prometheus-client's strict OpenMetrics parser (promtool only
  reads the text format; Prometheus's own OpenMetrics parser is exercised by prometheus_test).

promtool's linter flags camelCase in names such as node_memory_MemTotal_bytes and
node_netstat_Tcp_InSegs, and the unit of node_entropy_available_bits. Those are node_exporter's
names, which dashboards query, and node_exporter's own output gets the same complaints (checked
below); those lints are accepted for those names only (harness.NODE_EXPORTER_LINTS). Anything
else promtool says fails the test.
"""
import re
import subprocess
import sys

from harness import NODE_EXPORTER_LINTS, Harness, fail, http_get

CAMEL = re.compile(r"^(node_\S+) metric names should be written in 'snake_case' not 'camelCase'$")


def promtool_complaints(body):
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    lines = (r.stdout + r.stderr).decode().splitlines()
    return r.returncode, [l for l in lines if l.strip()]


def main():
    lookout = sys.argv[1]
    passed = 0
    with Harness() as h:
        _, port = h.start_lookout(lookout)
        url = f"http://127.0.0.1:{port}/metrics"
        _, headers, text = http_get(url)
        if not headers["Content-Type"].startswith("text/plain; version=0.0.4"):
            fail(f"text content type: {headers['Content-Type']}")
        _, complaints = promtool_complaints(text)
        other = [c for c in complaints if not any(p.match(c) for p in NODE_EXPORTER_LINTS)]
        if other:
            fail("promtool check metrics complained:\n" + "\n".join(other))
        camel = {CAMEL.match(c).group(1) for c in complaints if CAMEL.match(c)}
        passed += 1

        # The accepted camelCase complaints are exactly ones node_exporter's output also gets.
        ne, ne_port = h.start_node_exporter(["meminfo", "netstat", "entropy"])
        _, _, ne_text = http_get(f"http://127.0.0.1:{ne_port}/metrics")
        _, ne_complaints = promtool_complaints(ne_text)
        units = {c for c in complaints if NODE_EXPORTER_LINTS[1].match(c)}
        if units - set(ne_complaints):
            fail(f"unit lints node_exporter does not get: {sorted(units - set(ne_complaints))}")
        ne_camel = {CAMEL.match(c).group(1) for c in ne_complaints if CAMEL.match(c)}
        ours_only = {n for n in camel - ne_camel
                     if n.startswith(("node_memory_", "node_netstat_"))}
        if ours_only:
            fail(f"camelCase names node_exporter does not have: {sorted(ours_only)}")
        passed += 1

        _, headers, om = http_get(url, {"Accept": "application/openmetrics-text; version=1.0.0"})
        if not headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0"):
            fail(f"OpenMetrics content type: {headers['Content-Type']}")
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
        try:
            fams = list(text_string_to_metric_families(om.decode()))
        except Exception as e:  # the parser raises ValueError with the offending line
            fail(f"OpenMetrics parser rejected our output: {e}")
        if len(fams) < 50:
            fail(f"only {len(fams)} OpenMetrics families parsed")
        passed += 1

        # gzip: same content, compressed.
        import gzip
        _, headers, gz = http_get(url, {"Accept-Encoding": "gzip"})
        if headers.get("Content-Encoding") != "gzip":
            fail("no gzip when asked")
        if len(gzip.decompress(gz).splitlines()) < 100:
            fail("gzip body did not decompress to metrics")
        passed += 1
    print(f"exposition: {len(camel)} node_exporter camelCase names accepted")
    print(f"exposition: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
