#!/usr/bin/env python3
"""Builds a seed corpus for one fuzzer from the committed fixtures and runs it for a bounded
time. Exit status is the fuzzer's: non-zero on any crash, leak, UB or timeout it finds."""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.path.join(REPO, "tests", "fixtures", "node")
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from protowire import field, kv  # noqa: E402

# proc_parsers_fuzz: first byte selects the parser (see proc_parsers_fuzz.cc).
PROC_SEEDS = [(0, "proc/stat"), (1, "proc/stat"), (2, "proc/meminfo"), (3, "proc/loadavg"),
              (4, "proc/diskstats"), (5, "root/run/udev/data/b8:0"), (6, "proc/1/mounts"),
              (7, "proc/net/dev"), (8, "proc/pressure/io"), (9, "proc/net/sockstat"),
              (10, "proc/net/netstat"), (10, "proc/net/snmp"), (11, "proc/net/snmp6"),
              (12, "root/etc/os-release"), (13, "proc/net/stat/nf_conntrack"),
              (14, "proc/sys/net/netfilter/nf_conntrack_max"), (15, "proc/mdstat"),
              (16, "sys/class/net/bonding_masters"), (16, "sys/class/net/bond0/bonding/slaves"),
              (17, "textfile/good.prom"), (17, "textfile/second.prom"), (17, "textfile/bad.prom"),
              (22, "proc/net/arp"), (23, "proc/sys/kernel/random/entropy_avail"),
              (24, "proc/schedstat"), (25, "proc/net/softnet_stat"), (26, "proc/net/udp"),
              (26, "proc/net/udp6"), (32, "../node_big/proc/net/rpc/nfs"),
              (32, "../node_big/proc/net/rpc/nfsd"),
              (33, "../node_big/sys/fs/xfs/sda1/stats/stats"),
              (34, "../node_big/proc/spl/kstat/zfs/arcstats"),
              (34, "../node_big/proc/spl/kstat/zfs/tank/objset-0x183"),
              (34, "../node_big/proc/spl/kstat/zfs/rpool/state"),
              (35, "../node_big/proc/net/ip_vs"), (35, "../node_big/proc/net/ip_vs_stats"),
              (37, "../node_big/sys/devices/pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/"
                   "2:0:0:0/block/sdc/bcache/writeback_rate_debug"),
              (37, "../node_big/sys/devices/pci0000:00/0000:00:1d.0/0000:3e:00.0/nvme/nvme1/"
                   "nvme1n1/bcache/priority_stats")]
# Attribute files of sysfs/class/net/<iface>, in kNetClassAttrs order (netclass.h), for selector 18.
NETCLASS_ATTRS = ["addr_assign_type", "address", "broadcast", "carrier", "carrier_changes",
                  "carrier_up_count", "carrier_down_count", "dev_id", "dormant", "duplex", "flags",
                  "ifalias", "ifindex", "iflink", "link_mode", "mtu", "name_assign_type",
                  "netdev_group", "operstate", "speed", "tx_queue_len", "type"]


def otlp_protobuf_seed():
    """A small ExportMetricsServiceRequest written by hand (field numbers from proto/)."""
    import struct
    resource = field(1, kv("service.name", "svc")) + field(1, kv("host.name", "h"))
    # NumberDataPoint: attributes=7, time_unix_nano=3 (fixed64), as_int=6 (sfixed64)
    number_point = (field(7, kv("route", "/a")) + b"\x19" + struct.pack("<Q", 1) +
                    b"\x31" + struct.pack("<q", 5))
    gauge = field(1, b"g") + field(5, field(1, number_point))
    # Sum: data_points=1, aggregation_temporality=2 (DELTA), is_monotonic=3
    sum_ = field(1, b"c") + field(7, field(1, number_point) + b"\x10\x01\x18\x01")
    # HistogramDataPoint: count=4, sum=5, bucket_counts=6 (packed), explicit_bounds=7 (packed)
    hist_point = (b"\x21" + struct.pack("<Q", 3) + b"\x29" + struct.pack("<d", 1.5) +
                  field(6, struct.pack("<QQ", 1, 2)) + field(7, struct.pack("<d", 1.0)))
    hist = field(1, b"h") + field(3, b"s") + field(9, field(1, hist_point) + b"\x10\x02")
    scope = field(1, field(1, b"scope")) + field(2, gauge) + field(2, sum_) + field(2, hist)
    return field(1, field(1, resource) + field(2, scope))


def otlp_traces_protobuf_seed():
    """An ExportTraceServiceRequest written by hand (field numbers from trace.proto)."""
    import struct
    resource = field(1, kv("service.name", "svc")) + field(1, kv("k8s.pod.ip", "10.0.0.1"))
    span = (field(1, bytes(range(1, 17))) + field(2, bytes(range(1, 9))) + field(5, b"GET /") +
            b"\x30\x02" + b"\x39" + struct.pack("<Q", 1) + b"\x41" + struct.pack("<Q", 5000001) +
            field(9, kv("http.method", "GET")) +
            field(9, field(1, b"k") + field(2, b"\x18\x2a")) +  # int attribute 42
            field(15, b"\x18\x02"))  # status ERROR
    bad = field(1, b"short") + field(2, bytes(8)) + field(5, b"bad")
    scope = field(1, field(1, b"scope")) + field(2, span) + field(2, bad)
    return field(1, field(1, resource) + field(2, scope) + field(3, b"https://schema"))


def seeds(name):
    if name == "proc_parsers":
        for sel, rel in PROC_SEEDS:
            with open(os.path.join(NODE, rel), "rb") as f:
                yield bytes([sel]) + f.read()
        for iface in ("eth0", "dummy0", "lo"):
            pieces = []
            for attr in NETCLASS_ATTRS:
                path = os.path.join(NODE, "sys", "class", "net", iface, attr)
                pieces.append(open(path, "rb").read() if os.path.exists(path) else b"")
            yield b"\x12" + b"\x00".join(pieces)
        yield b"\x1d" + b"package-0\ndram\ndram\ncore-x2\na-_-b\npsys-+7\n"
        chip = os.path.join(REPO, "tests", "fixtures", "node_big", "sys", "devices", "platform",
                            "nct6775.656", "hwmon", "hwmon3")
        yield b"\x1e" + "\n".join(sorted(os.listdir(chip))).encode()
        yield b"\x1f" + b"5B2QGXA7\x00Samsung SSD 980 PRO 1TB\x00S5GXNF0R912345A\x00live"
        yield b"\x13" + b"*.prom\nnode.prom"
        yield b"\x14" + b"0x1003"
        yield b"\x15" + bytes(200)
        big = os.path.join(REPO, "tests", "fixtures", "node_big", "sys", "devices", "system", "cpu",
                           "cpufreq", "policy0")
        yield b"\x1b" + b"\x00".join(open(os.path.join(big, f), "rb").read() for f in (
            "cpuinfo_cur_freq", "cpuinfo_max_freq", "cpuinfo_min_freq",
            "cpuinfo_transition_latency", "scaling_cur_freq", "scaling_max_freq",
            "scaling_min_freq"))
        yield b"\x1c" + b"\x00".join([b"acpitz", b"step_wise", b"27800", b"enabled", b"0",
                                       b"intel_powerclamp", b"50", b"-1"])
    elif name == "pod_parsers":
        pods = os.path.join(REPO, "tests", "fixtures", "pods", "v2_systemd_containerd")
        pod = os.path.join(pods, "cgroup", "kubepods.slice", "kubepods-burstable.slice",
                           "kubepods-burstable-pode9f975a2_2299_5fb5_75a8_f1621ea8b972.slice")
        v1 = os.path.join(REPO, "tests", "fixtures", "pods", "v1_cgroupfs_containerd", "cgroup",
                          "blkio", "kubepods", "besteffort")
        with open(os.path.join(pods, "pods.json"), "rb") as f:
            podlist = f.read()
        yield b"\x00" + podlist
        yield b"\x01" + podlist
        for sel, rel in ((2, "memory.stat"), (2, "cpu.stat"), (3, "cpu.max"), (4, "io.stat"),
                         (6, "memory.pressure")):
            with open(os.path.join(pod, rel), "rb") as f:
                yield bytes([sel]) + f.read()
        for d in os.listdir(v1):
            with open(os.path.join(v1, d, "blkio.throttle.io_service_bytes_recursive"), "rb") as f:
                yield b"\x05" + f.read()
            yield b"\x07" + d.encode()
    elif name == "slo_state":
        # A real state file (SloStateTest.TheFixtureIsWhatTheEngineWrites), whole (mode 0) and
        # its payload (mode 1: the fuzzer wraps it in a valid header).
        with open(os.path.join(REPO, "tests", "fixtures", "slo", "slo-state"), "rb") as f:
            state = f.read()
        header = len(b"lookout-slo-state\n") + 4 + 4 + 8 + 4
        yield b"\x00" + state
        yield b"\x01" + state[header:]
    elif name == "config":
        with open(os.path.join(REPO, "agent", "config", "default_config.yaml"), "rb") as f:
            yield f.read()
        yield b"server:\n  threads: 4\nnode:\n  collectors:\n    cpu: {enabled: false}\n"
        yield (b"apps:\n  pods:\n    metric_relabel_configs:\n"
               b"    - {source_labels: [__name__, a], separator: '@', regex: 'x(.*)',"
               b" target_label: 'l_$1', replacement: '${1}z'}\n"
               b"    - {action: hashmod, source_labels: [b], modulus: 8, target_label: s}\n"
               b"    - {action: labeldrop, regex: tmp.*}\n")
    elif name == "exposition":
        golden = os.path.join(REPO, "tests", "golden")
        with open(os.path.join(golden, "node_fixture_text.txt"), "rb") as f:
            yield b"\x00" + f.read()
        with open(os.path.join(golden, "node_fixture_openmetrics.txt"), "rb") as f:
            yield b"\x01" + f.read()
        yield (b"\x00# HELP h Lat \\ \\n.\n# TYPE h histogram\nh_bucket{a=\"x\\\"y\",le=\"0.1\"} 1\n"
               b"h_bucket{a=\"x\\\"y\",le=\"+Inf\"} 2\nh_sum{a=\"x\\\"y\"} 1.5\n"
               b"h_count{a=\"x\\\"y\"} 2\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 1\n"
               b"s_count 3\nuntyped{x=\"1\",} -Inf 1700000000000\n")
        # The same with every relabel action on.
        yield (b"\x02# TYPE h histogram\nh_bucket{a=\"x\",b=\"x\",le=\"0.1\"} 1\n"
               b"h_bucket{a=\"x\",le=\"+Inf\"} 2\nh_sum{a=\"x\"} 1.5\nh_count{a=\"x\"} 2\n"
               b"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 3\nm{job=\"j\"} 1\n")
        yield (b"\x01# TYPE c counter\n# UNIT c bytes\nc_total{a=\"b\"} 1 1.5 # {trace_id=\"ab\"} 1 2\n"
               b"c_created{a=\"b\"} 1\n# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE st stateset\n"
               b"st{st=\"a\"} 1\n# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1\n"
               b"# EOF\n")
    elif name == "otlp_metrics":
        json_req = (b'{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name",'
                    b'"value":{"stringValue":"svc"}},{"key":"k8s.pod.name","value":'
                    b'{"stringValue":"p"}}]},"scopeMetrics":[{"scope":{"name":"s","version":"1"},'
                    b'"metrics":[{"name":"http.server.duration","unit":"ms","histogram":'
                    b'{"aggregationTemporality":1,"dataPoints":[{"count":"3","sum":5,'
                    b'"bucketCounts":["1","1","1"],"explicitBounds":[1,10],"exemplars":'
                    b'[{"asDouble":2,"traceId":"0102030405060708090a0b0c0d0e0f10",'
                    b'"spanId":"0102030405060708"}]}]}},{"name":"orders","sum":{"isMonotonic":'
                    b'true,"aggregationTemporality":2,"dataPoints":[{"asInt":"7","attributes":'
                    b'[{"key":"a.b","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}]}},'
                    b'{"name":"q","summary":{"dataPoints":[{"count":"2","sum":1,"quantileValues":'
                    b'[{"quantile":0.5,"value":0.4}]}]}},{"name":"cpu.util","unit":"1","gauge":'
                    b'{"dataPoints":[{"asDouble":0.5,"flags":0}]}}]}]}]}')
        yield b"\x00" + json_req
        yield b"\x01" + otlp_protobuf_seed()
        import gzip
        yield b"\x02" + gzip.compress(json_req)
    elif name == "slo_specs":
        yield (b"slos:\n  - name: a\n    service: s\n    objective: 99.9\n    labels: {t: x}\n"
               b"    sli: {ratio: {bad: 'r_total{code=~\"5..\"}', total: r_total, group_by: [p]}}\n"
               b"    alerting: {page: [{long: 1h, short: 5m, burn_rate: 14.4}], ticket: []}\n"
               b"  - name: b\n    objective: 99\n    period: 7d\n"
               b"    sli: {latency: {histogram: 'h{job=\"x\"}', le: 0.3}}\n"
               b"  - name: c\n    objective: 95\n    sli: {span_metrics: {span_kind: SERVER}}\n")
        yield (b"apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: e}\nspec:\n  ratioMetric:\n"
               b"    good: {metricSource: {type: Prometheus, spec: {query: 'sum by (a) (rate(x{c!=\"5\"}[5m]))'}}}\n"
               b"    total: {metricSource: {type: Prometheus, spec: {query: 'sum(increase(x[1m])) by (a)'}}}\n"
               b"---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: o, labels: {k: [a, b]}}\n"
               b"spec:\n  indicatorRef: e\n  timeWindow: [{duration: 4w, isRolling: true}]\n"
               b"  objectives: [{targetPercent: 99.5}]\n")
    elif name == "otlp_traces":
        yield b"\x00" + otlp_traces_protobuf_seed()
        yield (b'\x01{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",'
               b'"value":{"stringValue":"j"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":['
               b'{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",'
               b'"name":"a","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2000000",'
               b'"attributes":[{"key":"http.method","value":{"stringValue":"GET"}}],'
               b'"status":{"code":2}}]}]}]}')
        yield b"\x02\x0a\x06\x08\x03\x12\x02no"
    elif name == "negotiation":
        yield (b"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               b"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        yield b"gzip, deflate;q=0.5, *;q=0"
        yield b'a"b\\c\nd'


def main():
    exe, name, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as corpus:
        for i, s in enumerate(seeds(name)):
            with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
                f.write(s)
        artifacts = os.path.join(os.getcwd(), f"fuzz-artifacts-{name}") + "/"
        os.makedirs(artifacts, exist_ok=True)
        r = subprocess.run([exe, corpus, f"-max_total_time={seconds}", "-timeout=10",
                            "-rss_limit_mb=2048", "-max_len=65536", "-print_final_stats=1",
                            f"-artifact_prefix={artifacts}"])
        print(f"fuzz.{name}: {'1 passed, 0 failed' if r.returncode == 0 else '0 passed, 1 failed'}")
        sys.exit(r.returncode)


if __name__ == "__main__":
    main()
