"""A small application instrumented with python3-prometheus-client: counters, gauges, a
histogram, a summary and an info metric with fixed values, served on /metrics (text format, or
OpenMetrics when asked). Usage: python3 python_client_app.py PORT"""
import sys
import time

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, Info, Summary,
                               start_http_server)

registry = CollectorRegistry()
jobs = Counter("worker_jobs", "Jobs processed.", ["queue"], registry=registry)
depth = Gauge("worker_queue_depth", "Jobs waiting.", ["queue"], registry=registry)
runtime = Histogram("worker_job_seconds", "Job run time.", buckets=(0.1, 1, 10),
                    registry=registry)
batch = Summary("worker_batch_size", "Jobs per batch.", registry=registry)
build = Info("worker_build", "Build information.", registry=registry)

jobs.labels(queue="email").inc(12)
jobs.labels(queue="sms").inc(0.5)
depth.labels(queue="email").set(7)
depth.labels(queue="sms").set(float("nan"))
for v in (0.05, 0.5, 0.5, 20):
    runtime.observe(v)
for v in (3, 4, 5):
    batch.observe(v)
build.info({"version": "2.3.1", "commit": "abc123"})

start_http_server(int(sys.argv[1]), addr="127.0.0.1", registry=registry)
print("listening", flush=True)
while True:
    time.sleep(3600)
