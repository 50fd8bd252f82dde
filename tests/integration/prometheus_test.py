#!/usr/bin/env python3
"""A real Prometheus server scrapes the agent (it negotiates OpenMetrics, so its own OpenMetrics
parser reads our output): the target is up and queries for node families return data."""
import sys
import time

from harness import Harness, fail, prom_query

FAMILIES = [
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_load1",
    "node_filesystem_avail_bytes", "node_network_receive_bytes_total", "node_disk_io_now",
    "node_boot_time_seconds", "node_vmstat_pgfault", "node_netstat_Tcp_InSegs",
    "node_sockstat_sockets_used", "node_filefd_allocated", "node_uname_info", "node_os_info",
    "node_time_seconds", "lookout_collector_success", "lookout_build_info",
]


def main():
    lookout = sys.argv[1]
    with Harness() as h:
        _, port = h.start_lookout(lookout)
        _, prom = h.start_prometheus_scraping(port)

        time.sleep(3)  # a few scrapes, so rate() has two points
        passed = 0
        for fam in FAMILIES:
            if not prom_query(prom, fam):
                fail(f"no data for {fam}")
            passed += 1
        if not prom_query(prom, 'rate(node_cpu_seconds_total{mode="idle"}[5s])'):
            fail("rate(node_cpu_seconds_total) returned nothing")
        passed += 1
        fails = prom_query(prom, "lookout_collector_success == 0")
        if fails:
            fail(f"collectors failing under Prometheus: {fails}")
        # Prometheus asked for OpenMetrics and accepted it (target up): our OM output parsed
        # with Prometheus's own parser.
        om = prom_query(prom, 'lookout_metrics_scrapes_total{format="openmetrics"}')
        if not om or float(om[0]["value"][1]) < 1:
            fail(f"Prometheus did not scrape OpenMetrics: {om}")
        samples = prom_query(prom, 'scrape_samples_scraped{job="lookout"}')
        print(f"prometheus: target up, {samples[0]['value'][1]} samples per scrape")
        print(f"prometheus: {passed + 2} passed, 0 failed")


if __name__ == "__main__":
    main()
