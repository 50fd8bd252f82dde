"""A payment service instrumented with python3-prometheus-client, whose counters keep growing on
their own: every 100 ms it serves `rate / 10` checkout requests (a share of them errors, set by
`error_ratio`), search requests (never failing), refund requests, and payment attempts split
into successes, declines and errors. Counters carry `_created` (OpenMetrics).

Used by the SLO state test (the agent restarts while the traffic goes on) and runnable alone:
    python3 payment_app.py PORT
"""
import sys
import threading
import time

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily


class PaymentApp:
    def __init__(self, rate=200, error_ratio=0.05):
        self.lock = threading.Lock()
        self.rate = rate
        self.error_ratio = error_ratio
        self.created = time.time()
        # (name, labels tuple) -> value
        self.counters = {}
        self.stopping = False

    def _add(self, name, labels, v):
        key = (name, tuple(sorted(labels.items())))
        self.counters[key] = self.counters.get(key, 0) + v

    def step(self):
        """One 100 ms step of traffic."""
        with self.lock:
            n = self.rate / 10
            err = n * self.error_ratio
            self._add("http_requests_total", {"handler": "checkout", "code": "200"}, n - err)
            self._add("http_requests_total", {"handler": "checkout", "code": "500"}, err)
            self._add("search_requests_total", {"code": "200"}, n / 2)
            self._add("search_requests_total", {"code": "500"}, 0)
            self._add("refund_requests_total", {"code": "200"}, n / 4 * 0.98)
            self._add("refund_requests_total", {"code": "503"}, n / 4 * 0.02)
            card = {"provider": "stripe", "method": "card"}
            self._add("payment_attempts_total", card, n / 5)
            self._add("payment_success_total", card, n / 5 * 0.9)
            self._add("payment_declines_total", card, n / 5 * 0.08)
            self._add("payment_errors_total", card, n / 5 * 0.02)

    def run(self):
        next_step = time.time()
        while not self.stopping:
            self.step()
            next_step += 0.1
            time.sleep(max(0.0, next_step - time.time()))

    def collect(self):
        with self.lock:
            fams = {}
            for (name, labels), value in sorted(self.counters.items()):
                base = name[:-len("_total")]
                if base not in fams:
                    fams[base] = CounterMetricFamily(base, "Requests served.",
                                                     labels=[k for k, _ in labels])
                fams[base].add_metric([v for _, v in labels], value, created=self.created)
            return list(fams.values())

    def serve(self, port):
        registry = CollectorRegistry()
        registry.register(self)
        self.step()  # every series exists from the first scrape
        start_http_server(port, addr="127.0.0.1", registry=registry)
        threading.Thread(target=self.run, daemon=True).start()


if __name__ == "__main__":
    PaymentApp().serve(int(sys.argv[1]))
    print("listening", flush=True)
    while True:
        time.sleep(3600)
