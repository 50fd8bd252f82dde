#!/usr/bin/env python3
"""Differential test of lookout's exposition parser against Prometheus 2.42's own.

A corpus of small edge-case bodies is served over HTTP, each as Prometheus text 0.0.4 and,
where meaningful, as OpenMetrics 1.0.0 (with the matching Content-Type). In one run:
- Prometheus A scrapes every body directly;
- lookout scrapes the same bodies as apps.static_targets;
- Prometheus B scrapes lookout (honor_labels: true, so the series keep lookout's labels).
For every body, the series and values A ingested from it must equal the ones B ingested through
lookout (job and instance ignored, lookout_* families left out), or both must fail the target:
A's `up` 0 and lookout's `lookout_scrape_target_up` 0.

Usage: exposition_diff_test.py /path/to/lookout
       exposition_diff_test.py --prometheus-only   (prints Prometheus's verdict per body)
"""
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, fail, free_port, prom_query, wait_for  # noqa: E402

TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# Series Prometheus adds for each target itself (not from the body).
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added"}

NOW = time.time()
RECENT_MS = int(NOW * 1000) - 4000  # an explicit timestamp inside the query's lookback
RECENT_S = f"{NOW - 4:.3f}"

# (what it probes, body, formats): "t" serves the body as text 0.0.4, "o" as OpenMetrics (the
# body as written), "to" both, the OpenMetrics copy with "# EOF\n" appended.
CORPUS = [
    # The filed issue.
    ("prometheus-net #477: gauge and counter sharing one family name, plus app_up",
     "# TYPE http_requests_started gauge\nhttp_requests_started 4.0\n"
     "# TYPE http_requests_started counter\nhttp_requests_started_total 3.0\n"
     "# TYPE app_up gauge\napp_up 1.0\n# EOF\n", "o"),
    ("prometheus-net #477 shape in text: second TYPE of another type for one name",
     "# TYPE http_requests_started gauge\nhttp_requests_started 4.0\n"
     "# TYPE http_requests_started counter\nhttp_requests_started_total 3.0\n"
     "# TYPE app_up gauge\napp_up 1.0\n", "t"),
    ("OpenMetrics #282: a counter's sample without _total",
     "# TYPE jobs_failed counter\njobs_failed 2.0\n# EOF\n", "o"),
    ("text counter without _total", "# TYPE jobs_failed counter\njobs_failed 2.0\n", "t"),
    # Counters, _created, info and the other types.
    ("plain counter, gauge and untyped",
     "# HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"x\"} 3\n# TYPE g gauge\ng -1.5\n"
     "u 7\n", "t"),
    ("OpenMetrics counter with _total and _created",
     "# TYPE c counter\n# HELP c Requests.\nc_total{a=\"x\"} 3\nc_created{a=\"x\"} 1700000000.5\n"
     "# EOF\n", "o"),
    ("text counter and _created as the python client writes them",
     "# TYPE c_total counter\nc_total{a=\"x\"} 3.0\nc_created{a=\"x\"} 1.7e+09\n", "t"),
    ("OpenMetrics _created without its _total", "# TYPE c counter\nc_created 5\n# EOF\n", "o"),
    ("OpenMetrics counter with _total and a bare sample of the family name",
     "# TYPE c counter\nc_total 1\nc 2\n# EOF\n", "o"),
    ("negative and NaN counter values",
     "# TYPE c_total counter\nc_total{k=\"neg\"} -3\nc_total{k=\"nan\"} NaN\n", "t"),
    ("info family", "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n# EOF\n", "o"),
    ("info sample with a value other than 1", "# TYPE build info\nbuild_info 2\n# EOF\n", "o"),
    ("info sample without _info", "# TYPE build info\nbuild 1\n# EOF\n", "o"),
    ("stateset", "# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n# EOF\n", "o"),
    ("gaugehistogram",
     "# TYPE q gaugehistogram\nq_bucket{le=\"1\"} 1\nq_bucket{le=\"+Inf\"} 3\nq_gcount 3\n"
     "q_gsum 2\n# EOF\n", "o"),
    ("unknown type", "# TYPE x unknown\nx 1\n# EOF\n", "o"),
    ("unknown in text (a text parse error)", "# TYPE x unknown\nx 1\n", "t"),
    ("untyped in OpenMetrics (a parse error)", "# TYPE x untyped\nx 1\n# EOF\n", "o"),
    ("TYPE that is no type", "# TYPE x bogus\nx 1\n", "to"),
    ("TYPE with a trailing space", "# TYPE x gauge \nx 1\n", "to"),
    ("TYPE with two spaces before the type", "# TYPE x  gauge\nx 1\n", "t"),
    ("TYPE separated by tabs", "#\tTYPE\tx\tgauge\nx 1\n", "t"),
    ("TYPE with a dash right after the name", "# TYPE x-gauge\nx 1\n", "t"),
    ("TYPE without a type", "# TYPE x\nx 1\n", "t"),
    ("duplicate TYPE lines of one type", "# TYPE g gauge\n# TYPE g gauge\ng 1\n", "to"),
    ("TYPE after the family's samples", "g 1\n# TYPE g gauge\ng{a=\"b\"} 2\n", "to"),
    ("OpenMetrics i_info before TYPE i info (fuzz.exposition, 83c093b)",
     "i_info{v=\"1\"} 1\n# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\n", "o"),
    ("c_total before TYPE c counter (fuzz.exposition, 83c093b)",
     "c_total 1\n# TYPE c counter\n# EOF\n", "o"),
    ("h_sum before TYPE h histogram (fuzz.exposition, 83c093b)",
     "h_sum 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "to"),
    # Histograms and summaries.
    ("complete histogram, le as clients write it",
     "# TYPE h histogram\nh_bucket{p=\"/\",le=\"0.005\"} 1\nh_bucket{p=\"/\",le=\"1\"} 2\n"
     "h_bucket{p=\"/\",le=\"+Inf\"} 3\nh_sum{p=\"/\"} 1.5\nh_count{p=\"/\"} 3\n", "to"),
    ("histogram le spelled 1.0, 0.10, 1e1 and +inf",
     "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"0.10\"} 0\n"
     "h_bucket{le=\"1e1\"} 2\nh_bucket{le=\"+inf\"} 2\nh_sum 3\nh_count 2\n", "to"),
    ("histogram without +Inf bucket",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 3\n", "to"),
    ("histogram without _count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\n", "to"),
    ("histogram without _sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_count 4\n", "to"),
    ("histogram with only a bucket below +Inf", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n",
     "to"),
    ("histogram with fractional and NaN counts",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1.5\nh_sum NaN\n"
     "h_count 1.5\n", "to"),
    ("histogram whose _count is not its +Inf bucket",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 5\n", "to"),
    ("histogram with decreasing buckets",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n",
     "to"),
    ("histogram bucket without le",
     "# TYPE h histogram\nh_bucket 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "to"),
    ("histogram bucket with an le that is no number",
     "# TYPE h histogram\nh_bucket{le=\"x\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
     "to"),
    ("histogram _count with an le label (fuzz.exposition, ceed740)",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count{le=\"0y\"} 2\n", "to"),
    ("bucket with le twice (fuzz.exposition, 119d2bd)",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\",x=\"1\",le=\"+Inf\"} 2\n", "to"),
    ("bare sample of a histogram's name", "# TYPE h histogram\nh 1\n", "to"),
    ("histogram parts with different timestamps",
     f"# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 1 {RECENT_MS}\nh_sum 1 {RECENT_MS - 1}\n"
     f"h_count 1 {RECENT_MS}\n", "t"),
    ("histogram with _created in text (python client)",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nh_created 1.7e9\n", "t"),
    ("histogram with _created and exemplars in OpenMetrics",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 1 # {trace_id=\"a\"} 0.5\nh_bucket{le=\"+Inf\"} 2\n"
     "h_count 2\nh_sum 1.5\nh_created 1700000000\n# EOF\n", "o"),
    ("complete summary, quantile spelled 0.50 and 1",
     "# TYPE s summary\ns{quantile=\"0.50\"} 1\ns{quantile=\"1\"} 3\ns_sum 4\ns_count 2\n", "to"),
    ("summary without _count", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 4\n", "to"),
    ("summary _sum with a quantile label (fuzz.exposition, ceed740)",
     "# TYPE s summary\ns_sum{quantile=\"1\"} 2\n", "to"),
    ("summary with quantile twice (fuzz.exposition, 119d2bd)",
     "# TYPE s summary\ns{quantile=\"0.5\",quantile=\"0.9\"} 1\n", "to"),
    ("le and quantile on other types are ordinary labels",
     "# TYPE g gauge\ng{le=\"1\"} 2\nu{quantile=\"x\"} 3\n", "to"),
    # Numbers.
    ("NaN and Inf spellings Go's ParseFloat takes",
     "m{k=\"a\"} NaN\nm{k=\"b\"} nan\nm{k=\"c\"} +Inf\nm{k=\"d\"} -inf\nm{k=\"e\"} Infinity\n"
     "m{k=\"f\"} -INFINITY\nm{k=\"g\"} inf\n", "to"),
    ("decimal spellings: .5, 5., +.5e1, 1E-3, 007, 1e-400 (underflows to 0)",
     "m{k=\"a\"} .5\nm{k=\"b\"} 5.\nm{k=\"c\"} +.5e1\nm{k=\"d\"} 1E-3\nm{k=\"e\"} 007\n"
     "m{k=\"f\"} 1e-400\nm{k=\"g\"} 1.7976931348623157e308\nm{k=\"h\"} -0\n", "to"),
    ("+NaN is not a float", "m +NaN\n", "to"),
    ("underscores in a number", "m 1_000\n", "to"),
    ("hex float", "m 0x1p3\n", "to"),
    ("hex without exponent", "m 0x10\n", "to"),
    ("overflowing number", "m 1e400\n", "to"),
    ("nan(payload)", "m nan(1)\n", "to"),
    ("truncated Infinity", "m infin\n", "to"),
    ("value missing", "m\n", "to"),
    ("value missing after labels", "m{a=\"1\"} \n", "t"),
    # Timestamps.
    ("text timestamp in milliseconds", f"m 1 {RECENT_MS}\n", "t"),
    ("text timestamp with a sign", "m 1 -5\n", "t"),
    ("text timestamp with a fraction", "m 1 12.5\n", "t"),
    ("text timestamp then more", f"m 1 {RECENT_MS} 3\n", "t"),
    ("OpenMetrics timestamp in seconds with a fraction", f"m 1 {RECENT_S}\n# EOF\n", "o"),
    ("OpenMetrics timestamp NaN", "m 1 NaN\n# EOF\n", "o"),
    ("duplicate series with increasing timestamps",
     f"m 1 {RECENT_MS - 1000}\nm 2 {RECENT_MS}\n", "t"),
    # Whitespace and blank lines.
    ("blank and whitespace-only lines", "a 1\n\n   \n\t\nb 2\n", "t"),
    ("blank line in OpenMetrics", "a 1\n\nb 2\n# EOF\n", "o"),
    ("leading whitespace before a sample (part of the name for Prometheus: invalid)",
     "  a 1\n", "t"),
    ("leading whitespace before a comment", "\t# TYPE b gauge\n # HELP b B.\nb 2\n", "t"),
    ("leading whitespace in OpenMetrics", " a 1\n# EOF\n", "o"),
    ("tabs and runs of spaces as separators", "a\t1\nb  2   \nc{x=\"1\"}\t\t3\t4\n", "t"),
    ("two spaces before the value in OpenMetrics", "a  1\n# EOF\n", "o"),
    ("trailing space after the value in OpenMetrics", "a 1 \n# EOF\n", "o"),
    ("CRLF line endings", "a 1\r\nb 2\r\n", "to"),
    ("CR only at the end of a comment", "# a comment\r\na 1\n", "t"),
    ("no newline at the end", "a 1\nb 2", "t"),
    ("empty body", "", "t"),
    ("OpenMetrics body that is only # EOF", "# EOF\n", "o"),
    ("space between the name and the label set", "a {x=\"1\"} 1\n", "to"),
    ("no space between the label set and the value", "a{x=\"1\"}1\n", "to"),
    ("spaces inside the label set", "a{ x = \"1\" , y=\"2\" } 1\n", "to"),
    # Label sets.
    ("empty label set", "a{} 1\n", "to"),
    ("trailing comma in the label set", "a{x=\"1\",} 1\n", "to"),
    ("labels without a comma between them", "a{x=\"1\" y=\"2\"} 1\n", "to"),
    ("leading comma in the label set", "a{,x=\"1\"} 1\n", "to"),
    ("two commas in a row", "a{x=\"1\",,y=\"2\"} 1\n", "to"),
    ("label value escapes", "a{x=\"q\\\"b\\\\s\\nn\"} 1\n", "to"),
    ("unknown escape in a label value kept as written", "a{x=\"a\\qb\\t\"} 1\n", "to"),
    ("label value that is not UTF-8", "a{x=\"\xff\"} 1\n", "to"),
    ("label value with UTF-8, a tab and a # sign", "a{x=\"\u00e9t\u00e9\t#{}\"} 1\n", "to"),
    ("label name with a colon", "a{x:y=\"1\"} 1\n", "to"),
    ("label name starting with a digit", "a{1x=\"1\"} 1\n", "to"),
    ("label names starting with __", "a{__x=\"1\",_=\"2\"} 1\n", "to"),
    ("empty label values are no labels", "a{x=\"\"} 1\na 2\nb{x=\"\",y=\"1\"} 3\n", "to"),
    ("a __name__ label", "a{__name__=\"b\"} 1\n", "to"),
    ("an empty __name__ label", "a{__name__=\"\"} 1\n", "t"),
    ("label name twice", "a{x=\"1\",x=\"2\"} 1\n", "to"),
    ("label name twice, one of them empty", "a{x=\"\",x=\"2\"} 1\n", "t"),
    ("duplicate series: the first one stays", "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
     "to"),
    ("labels named like target labels become exported_",
     "a{job=\"app\",instance=\"i\",exported_job=\"e\"} 1\n", "to"),
    ("metric names with colons and digits", "a:b:c1 1\n_x 2\n:y 3\n", "to"),
    ("metric name starting with a digit", "1a 1\n", "to"),
    ("unterminated label value", "a{x=\"1} 1\n", "to"),
    # HELP and comments.
    ("HELP with odd escapes", "# HELP a x \\q \\\" \\\\ \\n \\\n# TYPE a gauge\na 1\n", "to"),
    ("HELP that is not UTF-8", "# HELP a \xff\na 1\n", "to"),
    ("HELP without text", "# HELP a\na 1\n", "to"),
    ("HELP with a space and no text", "# HELP a \na 1\n", "to"),
    ("HELP and TYPE for a name without samples", "# HELP z Z.\n# TYPE z gauge\na 1\n", "to"),
    ("HELP name starting with a digit", "# HELP 1a x\na 1\n", "to"),
    ("plain comments", "#comment\n# just words\n#\na 1\n", "t"),
    ("a comment line in OpenMetrics", "# just words\na 1\n# EOF\n", "o"),
    ("# HELP without a space", "#HELP a x\na 1\n", "t"),
    # OpenMetrics framing and exemplars.
    ("OpenMetrics without # EOF", "a 1\n", "o"),
    ("content after # EOF", "a 1\n# EOF\nb 2\n", "o"),
    ("a newline after # EOF", "a 1\n# EOF\n\n", "o"),
    ("# EOF without a newline", "a 1\n# EOF", "o"),
    ("OpenMetrics-looking body served as text (# EOF is a comment there)",
     "# TYPE c counter\nc_total 1\n# EOF\n", "t"),
    ("exemplar in text format", "a 1 # {t=\"1\"} 1\n", "t"),
    ("exemplar with a timestamp",
     "# TYPE c counter\nc_total 1 # {trace_id=\"abc\"} 1 1700000000.1\n# EOF\n", "o"),
    ("exemplar labels longer than 128 characters",
     "# TYPE c counter\nc_total 1 # {trace_id=\"" + "x" * 130 + "\"} 1\n# EOF\n", "o"),
    ("exemplar on a gauge", "# TYPE g gauge\ng 1 # {a=\"b\"} 2\n# EOF\n", "o"),
    ("exemplar on an untyped sample", "g 1 # {a=\"b\"} 2\n# EOF\n", "o"),
    ("exemplar on a counter, value 2", "# TYPE c counter\nc_total 1 # {a=\"b\"} 2\n# EOF\n", "o"),
    ("exemplar on a gauge with a timestamp",
     "# TYPE g gauge\ng 1 # {trace_id=\"b\"} 2 1700000000\n# EOF\n", "o"),
    ("exemplar with a NaN timestamp",
     "# TYPE c counter\nc_total 1 # {a=\"b\"} 1 NaN\n# EOF\n", "o"),
    ("exemplar without a value", "# TYPE c counter\nc_total 1 # {a=\"b\"}\n# EOF\n", "o"),
    ("UNIT that is the name's suffix",
     "# TYPE d_seconds gauge\n# UNIT d_seconds seconds\nd_seconds 1\n# EOF\n", "o"),
    ("UNIT that is not the name's suffix",
     "# TYPE d gauge\n# UNIT d seconds\nd 1\n# EOF\n", "o"),
    ("interleaved families",
     "# TYPE a counter\na{x=\"1\"} 1\n# TYPE b gauge\nb 2\na{x=\"2\"} 3\n", "to"),
]


def bodies():
    """[(job, path, content_type, body bytes, comment)] for every served variant."""
    out = []
    for i, (comment, body, formats) in enumerate(CORPUS):
        for f in formats:
            if f == "t":
                out.append((f"c{i}t", f"/c/{i}/t", TEXT_CT, body.encode("latin-1" if "\xff" in body
                                                                        else "utf-8"), comment))
            else:
                om = body if formats == "o" else body + "# EOF\n"
                out.append((f"c{i}o", f"/c/{i}/o", OM_CT, om.encode("latin-1" if "\xff" in om
                                                                  else "utf-8"), comment))
    return out


NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
META = re.compile(r"#[ \t]*(?:TYPE|HELP|UNIT)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)")
SUFFIXES = ("_total", "_created", "_bucket", "_sum", "_count", "_info", "_gcount", "_gsum")


def roots(body):
    """The metric names a body may use, with their suffixes taken off, and those of them a
    TYPE line names."""
    names, typed = set(), set()
    for line in body.decode("latin-1").split("\n"):
        line = line.lstrip(" \t")
        m = META.match(line) if line.startswith("#") else NAME.match(line)
        if m:
            name = m.group(1) if m.re is META else m.group(0)
            found = {name} | {name[:-len(s)] for s in SUFFIXES if name.endswith(s)}
            names |= found
            if m.re is META and re.match(r"#[ \t]*TYPE", line):
                typed |= found
    return names, typed


def batches(variants):
    """Variants split (greedily) so that no two in one batch share a name that either of them
    types: untyped series of one name from two targets are re-exposed side by side."""
    out = []  # [(names, typed, [variant])]
    for v in variants:
        names, typed = roots(v[3])
        for b in out:
            if not (names & b[1] or typed & b[0]):
                b[0].update(names)
                b[1].update(typed)
                b[2].append(v)
                break
        else:
            out.append((set(names), set(typed), [v]))
    return [b[2] for b in out]


def serve(variants):
    by_path = {path: (ct, b) for _, path, ct, b, _ in variants}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            ct, b = by_path.get(self.path, ("text/plain", None))
            if b is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ct)
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def prometheus_config(scrape_lines, honor_labels=False):
    # 2 s: 198 bodies served by one Python server to three scrapers; at 1 s, under ASan on a
    # loaded 2-core machine, every scrape of a body by the agent timed out now and then.
    return ("global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
            f"scrape_configs:\n  - job_name: corpus\n    honor_labels: {str(honor_labels).lower()}\n"
            "    static_configs:\n" + scrape_lines)


def series_by_job(port, selector):
    """{job: {(name, frozenset(labels minus job/instance)): value string}}: each series' latest
    sample over the run (a range selector: one scrape of a loaded agent that timed out ends
    series at "now" with a stale marker; the bodies never change, so the latest sample is the
    value). The range reaches back to the bodies' explicit timestamps (RECENT_MS, written at
    start-up: under ASan the run outlasted a fixed 20 s and both sides read nothing for them).
    Values compared as Prometheus formats them: exact for every float, NaN too."""
    out = {}
    window = max(20, int(time.time() - NOW) + 10)
    # Every series of 198 targets: under ASan on a loaded 2-core machine Prometheus took over the
    # harness's default 10 s to answer once; its own query timeout is 2m.
    for r in prom_query(port, selector + f"[{window}s]", timeout=120):
        m = dict(r["metric"])
        name = m.pop("__name__")
        job = m.pop("job")
        m.pop("instance", None)
        out.setdefault(job, {})[(name, frozenset(m.items()))] = r["values"][-1][1]
    return out


def show(series):
    return "\n".join(f"    {n}{{{','.join(f'{k}={v!r}' for k, v in sorted(ls))}}} {v}"
                     for (n, ls), v in sorted(series.items(), key=str)) or "    (none)"


def main(lookout):
    variants = bodies()
    with Harness() as h:
        server, port = serve(variants)
        direct = "".join(
            f"      - targets: ['127.0.0.1:{port}']\n"
            f"        labels: {{job: {job}, __metrics_path__: '{path}'}}\n"
            for job, path, _, _, _ in variants)
        _, prom_a = h.start_prometheus(prometheus_config(direct), name="prom_direct")
        if lookout is not None:
            # lookout exposes one type per family name across its targets (README: the first
            # target keeps it), Prometheus keeps no types at all: bodies whose names may meet
            # go to different lookout instances, so each body is compared on its own.
            via = ""
            for n, batch in enumerate(batches(variants)):
                cfg = h.path(f"lookout{n}.yaml")
                with open(cfg, "w") as out:
                    out.write("kubernetes: {mode: off}\n")
                    out.write("apps:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
                              "  max_concurrent_scrapes: 2\n  static_targets:\n")
                    for job, path, _, _, _ in batch:
                        out.write(f"  - {{url: \"http://127.0.0.1:{port}{path}\", job: {job}}}\n")
                agent, lport = h.start_lookout(lookout, ["--config", cfg], name=f"lookout{n}")
                via += f"      - targets: ['127.0.0.1:{lport}']\n"
            _, prom_b = h.start_prometheus(prometheus_config(via, honor_labels=True),
                                           name="prom_via")
            jobs = {job for job, _, _, _, _ in variants}

            def lookout_settled():
                got = {r["metric"]["job"] for r in prom_query(
                    prom_b, "lookout_scrape_target_up and on(job) lookout_scrape_samples >= 0")}
                return jobs <= got
            wait_for("lookout to scrape every body and Prometheus B to scrape lookout",
                     lookout_settled, timeout=90)
        wait_for("Prometheus A to scrape every body",
                 lambda: len(prom_query(prom_a, 'up{job=~"c.*"}')) == len(variants), timeout=60)
        # More rounds, so every side has scraped every body several times: verdicts take the best
        # of the run, and under ASan on a loaded machine single scrapes time out.
        time.sleep(10)
        # Verdicts over the whole run, so a scrape slowed by a loaded machine does not count: up
        # if any scrape succeeded; lookout's failure reasons say whether it ever refused a body.
        up_a = {r["metric"]["job"]: r["value"][1]
                for r in prom_query(prom_a, 'max_over_time(up{job=~"c.*"}[5m])')}
        got_a = series_by_job(prom_a, '{job=~"c.*"}')
        if lookout is None:
            for job, _, _, _, comment in variants:
                print(f"{job:6} up={up_a[job]} {comment}")
                if up_a[job] == "1":
                    print(show({k: v for k, v in got_a.get(job, {}).items()
                                if k[0] not in SYNTHETIC}))
            return
        up_l = {r["metric"]["job"]: r["value"][1]
                for r in prom_query(prom_b, "max_over_time(lookout_scrape_target_up[5m])")}
        refused = {r["metric"]["job"]: r["metric"]["reason"] for r in prom_query(
            prom_b, 'lookout_scrape_target_failures_total{reason=~"parse|truncated"}')}
        for job, reason in refused.items():
            if up_l.get(job) == "1":
                up_l[job] = f"flapping ({reason} and up)"
        got_b = series_by_job(prom_b, '{job=~"c.*",__name__!~"lookout_.*"}')
        bad = []
        failed_both = equal = 0
        for job, _, _, body, comment in variants:
            a_up, l_up = up_a.get(job), up_l.get(job)
            a = {k: v for k, v in got_a.get(job, {}).items() if k[0] not in SYNTHETIC}
            b = {k: v for k, v in got_b.get(job, {}).items() if k[0] != "up"}
            if a_up == "0" and l_up == "0":
                failed_both += 1
                continue
            if a_up == "1" and l_up == "1" and a == b and a:
                equal += 1
                continue
            if a_up == "1" and l_up == "1" and a == b and body.strip() in (b"", b"# EOF"):
                equal += 1  # an empty body: up, no series, on both sides
                continue
            bad.append(f"{job} ({comment}): Prometheus up={a_up}, lookout up={l_up}\n"
                       f"  body: {body!r}\n  Prometheus:\n{show(a)}\n  through lookout:\n{show(b)}")
        print(f"exposition_diff: {len(variants)} bodies ({len(CORPUS)} cases): {equal} with equal "
              f"series, {failed_both} failed by both, {len(bad)} different")
        if bad:
            log = h.log(agent)
            fail("bodies where lookout and Prometheus 2.42 differ:\n" + "\n".join(bad) +
                 "\n--- lookout log (tail)\n" + log[-2000:])
        server.shutdown()
    print("exposition_diff: 1 passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail(__doc__)
    main(None if sys.argv[1] == "--prometheus-only" else sys.argv[1])
