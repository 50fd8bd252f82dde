#include "agent/config/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "agent/common/yaml_reader.h"
#include "agent/slo/spec_parser.h"
#include "lookout/metrics/metric.h"
#include "lookout/metrics/metric_view.h"

namespace lookout {

bool DeviceFilter::Ignored(std::string_view device) const {
  if (!include.empty()) return !include.Matches(device);
  return exclude.Matches(device);
}

const std::vector<CollectorInfo>& NodeCollectorInfos() {
  static const std::vector<CollectorInfo> kInfos = {
      {"cpu", true, "CPU time per mode from /proc/stat (node_cpu_seconds_total)"},
      {"meminfo", true, "memory statistics from /proc/meminfo (node_memory_*)"},
      {"loadavg", true, "load averages from /proc/loadavg (node_load1/5/15)"},
      {"diskstats", true, "block device I/O from /proc/diskstats (node_disk_*)"},
      {"filesystem", true, "statfs of mounted filesystems (node_filesystem_*)"},
      {"netdev", true, "network interface counters from /proc/net/dev (node_network_*)"},
      {"stat", true, "boot time, context switches, forks, interrupts, procs (/proc/stat)"},
      {"vmstat", true, "selected /proc/vmstat fields (node_vmstat_*)"},
      {"pressure", true, "pressure stall information from /proc/pressure (node_pressure_*)"},
      {"uname", true, "kernel and host identity (node_uname_info)"},
      {"time", true, "system time, time zone and clock sources (node_time_*)"},
      {"filefd", true, "allocated and maximum file handles (node_filefd_*)"},
      {"sockstat", true, "socket statistics from /proc/net/sockstat{,6} (node_sockstat_*)"},
      {"netstat", true, "selected /proc/net/{netstat,snmp,snmp6} fields (node_netstat_*)"},
      {"os", true, "os-release information (node_os_info, node_os_version)"},
      {"timex", true, "kernel clock discipline state from adjtimex(2) (node_timex_*)"},
      {"conntrack", true, "connection tracking table use and statistics (node_nf_conntrack_*)"},
      {"netclass", true, "network interface attributes from /sys/class/net (node_network_*)"},
      {"textfile", true, "metrics from *.prom files in a directory (node_textfile_*)"},
      {"mdadm", true, "md RAID arrays from /proc/mdstat (node_md_*)"},
      {"bonding", true, "bonding interfaces and their slaves (node_bonding_*)"},
  };
  return kInfos;
}

const std::vector<std::string_view>& PodCollectorNames() {
  static const std::vector<std::string_view> kNames = {"pod_metadata", "pod_info", "containers",
                                                       "pod_network"};
  return kNames;
}

std::string ExpandEnv(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const size_t open = s.find("${");
    if (open == std::string_view::npos) break;
    const size_t close = s.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(s.substr(0, open));
    std::string_view expr = s.substr(open + 2, close - open - 2);
    std::string_view fallback;
    if (const size_t dflt = expr.find(":-"); dflt != std::string_view::npos) {
      fallback = expr.substr(dflt + 2);
      expr = expr.substr(0, dflt);
    }
    const char* v = std::getenv(std::string(expr).c_str());
    if (v != nullptr && *v != '\0') {
      out.append(v);
    } else {
      out.append(fallback);
    }
    s.remove_prefix(close + 1);
  }
  out.append(s);
  return out;
}

KubernetesConfig KubernetesConfig::Resolved() const {
  KubernetesConfig r = *this;
  r.node_name = ExpandEnv(node_name);
  r.kubelet_url = ExpandEnv(kubelet_url);
  r.api_server_url = ExpandEnv(api_server_url);
  r.token_file = ExpandEnv(token_file);
  r.ca_file = ExpandEnv(ca_file);
  if (r.mode == Mode::kAuto) {
    struct stat st {};
    const bool in_pod = !r.token_file.empty() && ::stat(r.token_file.c_str(), &st) == 0;
    r.mode = in_pod ? Mode::kKubelet : Mode::kOff;
  }
  return r;
}

std::string KubernetesConfig::PodListUrl() const {
  if (mode != Mode::kApiServer) return kubelet_url;
  std::string url = api_server_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v1/pods?fieldSelector=spec.nodeName%3D" + node_name;
}

bool SplitHostPort(const std::string& addr, std::string* host, unsigned short* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = addr.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = addr.substr(colon + 1);
  if (p.empty() || p.size() > 5) return false;
  unsigned long n = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned long>(c - '0');
  }
  if (n > 65535) return false;
  *host = h.empty() ? "0.0.0.0" : h;
  *port = static_cast<unsigned short>(n);
  return true;
}

namespace {

using MapReader = YamlMapReader;

void ApplyServer(MapReader r, ServerConfig& c) {
  r.Str("listen_address", &c.listen_address);
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(c.listen_address, &host, &port)) {
    r.Fail(r.Get("listen_address"), r.Key("listen_address"), "host:port, e.g. \"0.0.0.0:9464\"");
  }
  r.Int("threads", &c.threads, 1, 64);
  r.Int("max_connections", &c.max_connections, 1, 1'000'000);
  r.Int("max_header_bytes", &c.max_header_bytes, 1024, 1 << 20);
  r.Int("max_body_bytes", &c.max_body_bytes, 0, int64_t{1} << 30);
  r.Dur("request_timeout", &c.request_timeout, Duration(100), Duration(3'600'000));
  r.Dur("idle_timeout", &c.idle_timeout, Duration(100), Duration(86'400'000));
  r.Dur("shutdown_timeout", &c.shutdown_timeout, Duration(0), Duration(600'000));
  r.Done();
}

void ApplyLog(MapReader r, LogConfig& c) {
  std::string level, format;
  YAML::Node lv = r.Get("level");
  r.Str("level", &level);
  if (!level.empty() && !ParseLogLevel(level, &c.level)) {
    r.Fail(lv, r.Key("level"), "one of debug, info, warn, error");
  }
  YAML::Node fv = r.Get("format");
  r.Str("format", &format);
  if (!format.empty() && !ParseLogFormat(format, &c.format)) {
    r.Fail(fv, r.Key("format"), "logfmt or json");
  }
  r.Done();
}

void ApplyDeviceFilter(MapReader& r, DeviceFilter& f) {
  r.Regex("device_include", &f.include);
  r.Regex("device_exclude", &f.exclude);
}

void ApplyCollector(MapReader r, std::string_view name, NodeConfig& c) {
  bool enabled = c.enabled[std::string(name)];
  r.Bool("enabled", &enabled);
  c.enabled[std::string(name)] = enabled;
  if (name == "filesystem") {
    r.Regex("mount_points_exclude", &c.filesystem.mount_points_exclude);
    r.Regex("fs_types_exclude", &c.filesystem.fs_types_exclude);
    r.Dur("mount_timeout", &c.filesystem.mount_timeout, Duration(10), Duration(600'000));
    r.Int("max_stuck_mounts", &c.filesystem.max_stuck_mounts, 1, 1024);
  } else if (name == "diskstats") {
    ApplyDeviceFilter(r, c.diskstats);
  } else if (name == "netdev") {
    ApplyDeviceFilter(r, c.netdev);
  } else if (name == "netclass") {
    ApplyDeviceFilter(r, c.netclass);
    r.Bool("ignore_invalid_speed", &c.netclass_ignore_invalid_speed);
  } else if (name == "textfile") {
    r.Str("directory", &c.textfile.directory);
    r.Int("max_file_bytes", &c.textfile.max_file_bytes, 1024, int64_t{1} << 30);
  } else if (name == "netstat") {
    r.Regex("fields", &c.netstat_fields);
  } else if (name == "vmstat") {
    r.Regex("fields", &c.vmstat_fields);
  }
  r.Done();
}

void ApplyNode(MapReader r, NodeConfig& c, const std::string& file) {
  {
    MapReader p(r.Get("paths"), r.Key("paths"), file);
    p.Str("procfs", &c.paths.procfs);
    p.Str("sysfs", &c.paths.sysfs);
    p.Str("rootfs", &c.paths.rootfs);
    p.Done();
  }
  r.Int("max_file_bytes", &c.max_file_bytes, 4096, int64_t{1} << 30);
  {
    MapReader cs(r.Get("collectors"), r.Key("collectors"), file);
    for (const auto& info : NodeCollectorInfos()) {
      YAML::Node n = cs.Get(info.name);
      if (n.IsDefined()) {
        ApplyCollector(MapReader(n, cs.Key(info.name), file), info.name, c);
      }
    }
    cs.Done();
  }
  r.Done();
}

void ApplyKubernetes(MapReader r, KubernetesConfig& c) {
  YAML::Node mv = r.Get("mode");
  std::string mode;
  r.Str("mode", &mode);
  if (mode == "auto") {
    c.mode = KubernetesConfig::Mode::kAuto;
  } else if (mode == "kubelet") {
    c.mode = KubernetesConfig::Mode::kKubelet;
  } else if (mode == "apiserver") {
    c.mode = KubernetesConfig::Mode::kApiServer;
  } else if (mode == "off") {
    c.mode = KubernetesConfig::Mode::kOff;
  } else if (mv.IsDefined()) {
    r.Fail(mv, r.Key("mode"), "one of auto, kubelet, apiserver, off");
  }
  r.Str("node_name", &c.node_name);
  r.Str("kubelet_url", &c.kubelet_url);
  r.Str("api_server_url", &c.api_server_url);
  r.Str("token_file", &c.token_file);
  r.Str("ca_file", &c.ca_file);
  r.Bool("insecure_skip_verify", &c.insecure_skip_verify);
  r.Dur("refresh_interval", &c.refresh_interval, Duration(1000), Duration(86'400'000));
  r.Dur("min_refresh_interval", &c.min_refresh_interval, Duration(100), Duration(3'600'000));
  r.Dur("timeout", &c.timeout, Duration(100), Duration(600'000));
  r.Dur("stale_after", &c.stale_after, Duration(0), Duration(7 * 86'400'000LL));
  r.Int("max_response_bytes", &c.max_response_bytes, 4096, int64_t{1} << 32);
  r.Done();
}

void ApplyPods(MapReader r, PodsConfig& c, const std::string& file) {
  r.Str("cgroupfs", &c.cgroupfs);
  if (YAML::Node n = r.Get("kubepods_cgroups"); n.IsDefined() && !n.IsNull()) {
    if (!n.IsSequence()) r.Fail(n, r.Key("kubepods_cgroups"), "a list of cgroup paths");
    c.kubepods_cgroups.clear();
    for (const auto& item : n) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        r.Fail(item, r.Key("kubepods_cgroups"), "a cgroup path like /kubepods.slice");
      }
      c.kubepods_cgroups.push_back(item.Scalar());
    }
  }
  {
    MapReader cs(r.Get("collectors"), r.Key("collectors"), file);
    for (const auto& info : PodCollectorNames()) {
      YAML::Node n = cs.Get(info);
      if (!n.IsDefined()) continue;
      MapReader one(n, cs.Key(info), file);
      bool enabled = c.enabled[std::string(info)];
      one.Bool("enabled", &enabled);
      c.enabled[std::string(info)] = enabled;
      one.Done();
    }
    cs.Done();
  }
  r.Done();
}

void ApplyStaticTarget(const YAML::Node& n, const std::string& key, const AppsConfig& apps,
                       StaticTargetConfig& t, const std::string& file) {
  MapReader r(n, key, file);
  if (!n.IsMap()) r.Fail(n, key, "a mapping with url, job, interval, timeout, labels");
  r.Str("url", &t.url);
  if (!(t.url.starts_with("http://") || t.url.starts_with("https://")) || t.url.size() < 10) {
    r.Fail(r.Get("url"), r.Key("url"), "an http:// or https:// URL");
  }
  r.Str("job", &t.job);
  if (t.job.empty()) {
    // Prometheus would name it after the scrape config; the host:port is the next best thing.
    const size_t start = t.url.find("//") + 2;
    t.job = t.url.substr(start, t.url.find('/', start) - start);
  }
  r.Dur("interval", &t.interval, Duration(1000), Duration(3'600'000));
  r.Dur("timeout", &t.timeout, Duration(100), Duration(600'000));
  const Duration interval = t.interval.count() ? t.interval : apps.scrape_interval;
  const Duration timeout = t.timeout.count() ? t.timeout : apps.scrape_timeout;
  if (timeout > interval) r.Fail(r.Get("timeout"), r.Key("timeout"), "at most the interval");
  if (YAML::Node l = r.Get("labels"); l.IsDefined() && !l.IsNull()) {
    if (!l.IsMap()) r.Fail(l, r.Key("labels"), "a mapping of label names to values");
    for (auto it = l.begin(); it != l.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!IsValidLabelName(name) || !it->second.IsScalar()) {
        r.Fail(it->first, r.Key("labels"), "label_name: value pairs with valid label names");
      }
      t.labels.emplace_back(name, it->second.Scalar());
    }
  }
  r.Done();
}

void ApplyApps(MapReader r, AppsConfig& c, const std::string& file) {
  r.Bool("enabled", &c.enabled);
  r.Dur("scrape_interval", &c.scrape_interval, Duration(1000), Duration(3'600'000));
  r.Dur("scrape_timeout", &c.scrape_timeout, Duration(100), Duration(600'000));
  if (c.scrape_timeout > c.scrape_interval) {
    r.Fail(r.Get("scrape_timeout"), r.Key("scrape_timeout"), "at most scrape_interval");
  }
  r.Int("max_concurrent_scrapes", &c.max_concurrent_scrapes, 1, 64);
  r.Int("max_redirects", &c.max_redirects, 0, 50);
  r.Bool("insecure_skip_verify", &c.insecure_skip_verify);
  {
    MapReader p(r.Get("pods"), r.Key("pods"), file);
    p.Bool("enabled", &c.pods_enabled);
    p.Str("job", &c.pods_job);
    p.Done();
  }
  {
    MapReader l(r.Get("limits"), r.Key("limits"), file);
    l.Int("max_body_bytes", &c.max_body_bytes, 1024, int64_t{1} << 34);
    l.Int("max_samples", &c.max_samples, 1, int64_t{1} << 32);
    l.Int("max_labels", &c.max_labels, 1, 1024);
    l.Int("max_label_name_length", &c.max_label_name_length, 1, 1 << 20);
    l.Int("max_label_value_length", &c.max_label_value_length, 1, 1 << 24);
    l.Done();
  }
  if (YAML::Node n = r.Get("static_targets"); n.IsDefined() && !n.IsNull()) {
    if (!n.IsSequence()) r.Fail(n, r.Key("static_targets"), "a list of targets");
    c.static_targets.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      StaticTargetConfig t;
      ApplyStaticTarget(n[i], r.Key("static_targets") + "[" + std::to_string(i) + "]", c, t, file);
      c.static_targets.push_back(std::move(t));
    }
  }
  r.Done();
}

void ApplyListener(MapReader r, bool* enabled, std::string* address, std::string_view example) {
  r.Bool("enabled", enabled);
  r.Str("listen_address", address);
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(*address, &host, &port)) {
    r.Fail(r.Get("listen_address"), r.Key("listen_address"),
           "host:port, e.g. \"" + std::string(example) + "\"");
  }
  r.Done();
}

void ApplyOtlp(MapReader r, OtlpConfig& c, const std::string& file) {
  ApplyListener(MapReader(r.Get("http"), r.Key("http"), file), &c.http_enabled,
                &c.http_listen_address, "0.0.0.0:4318");
  ApplyListener(MapReader(r.Get("grpc"), r.Key("grpc"), file), &c.grpc_enabled,
                &c.grpc_listen_address, "0.0.0.0:4317");
  r.Int("max_request_bytes", &c.max_request_bytes, 1024, int64_t{1} << 31);
  {
    MapReader m(r.Get("metrics"), r.Key("metrics"), file);
    m.Bool("enabled", &c.metrics_enabled);
    m.Dur("series_ttl", &c.metrics_series_ttl, Duration(1000), Duration(7 * 86'400'000LL));
    m.Int("max_series", &c.metrics_max_series, 1, int64_t{1} << 32);
    m.Done();
  }
  r.Done();
}

void ApplyTraces(MapReader r, TracesConfig& c, const std::string& file) {
  r.Bool("enabled", &c.enabled);
  r.Bool("kubernetes_attributes", &c.kubernetes_attributes);
  r.StrMap("resource_attributes", &c.resource_attributes);
  r.Double("sampling_ratio", &c.sampling_ratio, 0, 1);
  {
    Duration ra{c.retry_after};
    r.Dur("retry_after", &ra, Duration(1000), Duration(3'600'000));
    c.retry_after = std::chrono::duration_cast<std::chrono::seconds>(ra);
  }
  r.Dur("shutdown_timeout", &c.shutdown_timeout, Duration(0), Duration(3'600'000));
  {
    auto& m = c.span_metrics;
    MapReader s(r.Get("span_metrics"), r.Key("span_metrics"), file);
    s.Bool("enabled", &m.enabled);
    s.StrList("dimensions", &m.dimensions);
    std::string unit = m.seconds ? "s" : "ms";
    s.Str("unit", &unit);
    if (unit != "ms" && unit != "s") s.Fail(s.Get("unit"), s.Key("unit"), "ms or s");
    m.seconds = unit == "s";
    if (YAML::Node b = s.Get("buckets"); b.IsDefined() && !b.IsNull()) {
      if (!b.IsSequence()) s.Fail(b, s.Key("buckets"), "a list of increasing numbers");
      m.buckets.clear();
      for (const auto& item : b) {
        const auto d = item.IsScalar() ? ParseDouble(item.Scalar()) : std::nullopt;
        if (!d || !std::isfinite(*d) || *d <= 0 || (!m.buckets.empty() && *d <= m.buckets.back())) {
          s.Fail(item, s.Key("buckets"), "a list of increasing positive numbers");
        }
        m.buckets.push_back(*d);
      }
    }
    s.Int("max_series", &m.max_series, 1, 10'000'000);
    s.Dur("series_expiry", &m.series_expiry, Duration(1000), Duration(7 * 86'400'000LL));
    s.Bool("exemplars", &m.exemplars);
    s.Done();
  }
  {
    auto& e = c.exporter;
    MapReader x(r.Get("export"), r.Key("export"), file);
    x.Bool("enabled", &e.enabled);
    x.Str("protocol", &e.protocol);
    if (e.protocol != "grpc" && e.protocol != "http") {
      x.Fail(x.Get("protocol"), x.Key("protocol"), "grpc or http");
    }
    x.Str("endpoint", &e.endpoint);
    x.StrMap("headers", &e.headers);
    x.Str("compression", &e.compression);
    if (e.compression != "gzip" && e.compression != "none") {
      x.Fail(x.Get("compression"), x.Key("compression"), "gzip or none");
    }
    x.Dur("timeout", &e.timeout, Duration(100), Duration(600'000));
    x.Bool("tls", &e.tls);
    x.Str("ca_file", &e.ca_file);
    x.Str("cert_file", &e.cert_file);
    x.Str("key_file", &e.key_file);
    x.Bool("insecure_skip_verify", &e.insecure_skip_verify);
    x.Int("max_batch_spans", &e.max_batch_spans, 1, 1'000'000);
    x.Int("max_batch_bytes", &e.max_batch_bytes, 1024, int64_t{1} << 30);
    x.Dur("batch_timeout", &e.batch_timeout, Duration(1), Duration(60'000));
    x.Dur("initial_backoff", &e.initial_backoff, Duration(1), Duration(3'600'000));
    x.Dur("max_backoff", &e.max_backoff, Duration(1), Duration(3'600'000));
    x.Dur("max_elapsed", &e.max_elapsed, Duration(0), Duration(30 * 86'400'000LL));
    x.Done();
  }
  {
    auto& q = c.queue;
    MapReader x(r.Get("queue"), r.Key("queue"), file);
    x.Int("memory_max_bytes", &q.memory_max_bytes, 1024, int64_t{1} << 40);
    MapReader d(x.Get("disk"), x.Key("disk"), file);
    d.Bool("enabled", &q.disk_enabled);
    d.Str("directory", &q.disk_directory);
    d.Int("max_bytes", &q.disk_max_bytes, 1 << 20, int64_t{1} << 44);
    d.Int("segment_bytes", &q.disk_segment_bytes, 4096, int64_t{1} << 30);
    d.Str("fsync", &q.disk_fsync);
    if (q.disk_fsync != "never" && q.disk_fsync != "interval" && q.disk_fsync != "always") {
      d.Fail(d.Get("fsync"), d.Key("fsync"), "never, interval or always");
    }
    d.Dur("fsync_interval", &q.disk_fsync_interval, Duration(1), Duration(3'600'000));
    if (q.disk_enabled && q.disk_directory.empty()) {
      d.Fail(d.Get("directory"), d.Key("directory"), "a directory when the disk queue is on");
    }
    d.Done();
    x.Done();
  }
  r.Done();
}

// A payments counter selector; `allow_empty`: "" means derived.
void SelectorValue(MapReader& r, std::string_view key, Selector* out, bool allow_empty) {
  if (r.SelectorValue(key, out) && !allow_empty && out->metric.empty()) {
    r.Fail(r.Get(key), r.Key(key), "a metric selector like payment_attempts_total");
  }
}

void ApplySlo(MapReader r, SloConfig& c, const std::string& file) {
  r.Bool("enabled", &c.enabled);
  r.Str("specs", &c.specs);
  r.Dur("tick", &c.tick, Duration(100), Duration(3'600'000));
  r.Int("buckets_per_window", &c.buckets_per_window, 1, 10'000);
  r.Int("max_groups_per_slo", &c.max_groups_per_slo, 1, 1'000'000);
  r.Dur("series_retention", &c.series_retention, Duration(0), Duration(7 * 86'400'000LL));
  {
    MapReader st(r.Get("state"), r.Key("state"), file);
    st.Str("directory", &c.state.directory);
    st.Dur("save_interval", &c.state.save_interval, Duration(1000), Duration(86'400'000));
    st.Int("max_bytes", &c.state.max_bytes, 4096, int64_t{1} << 40);
    st.Done();
  }
  {
    PaymentsSpec& p = c.payments;
    MapReader m(r.Get("payments"), r.Key("payments"), file);
    m.Bool("enabled", &p.enabled);
    SelectorValue(m, "attempts", &p.attempts, false);
    SelectorValue(m, "success", &p.success, false);
    SelectorValue(m, "declines", &p.declines, true);
    SelectorValue(m, "errors", &p.errors, true);
    if (p.declines.metric.empty() && p.errors.metric.empty()) {
      m.Fail(m.Get("errors"), m.Key("errors"),
             "a selector (declines and errors cannot both be derived)");
    }
    YAML::Node gb = m.Get("group_by");
    m.StrList("group_by", &p.group_by);
    for (const auto& l : p.group_by) {
      if (!IsValidLabelName(l) || l == "window" || l == "slo" || l == "service") {
        m.Fail(gb, m.Key("group_by"), "label names other than window, slo and service");
      }
    }
    m.Dur("period", &p.period, Duration(60'000), Duration(400 * 86'400'000LL));
    {
      MapReader a(m.Get("availability_slo"), m.Key("availability_slo"), file);
      a.Bool("enabled", &p.availability_slo);
      a.Str("name", &p.availability_name);
      double percent = p.availability_objective * 100;
      a.DoubleBetween("objective", &percent, 0, 100);
      p.availability_objective = std::round(percent * 1e10) / 1e12;  // 99.9 -> 0.999 exactly
      a.Int("min_bad_events", &p.availability_min_bad_events, 0, int64_t{1} << 40);
      a.Done();
      if (p.availability_slo && p.errors.metric.empty()) {
        m.Fail(m.Get("errors"), m.Key("errors"),
               "a selector: the availability SLO counts errors (availability_slo.enabled: false "
               "to derive them)");
      }
    }
    m.Done();
    p.page = DefaultPageWindows();
    p.ticket = DefaultTicketWindows();
  }
  r.Done();
  if (c.enabled) {
    for (const SloDuration w : c.payments.Windows()) {
      if (w.count() % c.tick.count() != 0) {
        r.Fail(r.Get("tick"), r.Key("tick"),
               "a tick that divides every window (" + FormatSloDuration(w) + " does not)");
      }
    }
  }
}

void Apply(const std::string& yaml_text, const std::string& source_name, Config& cfg) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(YamlWhere(source_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  MapReader top(root, "", source_name);
  if (YAML::Node n = top.Get("server"); n.IsDefined()) {
    ApplyServer(MapReader(n, "server", source_name), cfg.server);
  }
  if (YAML::Node n = top.Get("log"); n.IsDefined()) {
    ApplyLog(MapReader(n, "log", source_name), cfg.log);
  }
  if (YAML::Node n = top.Get("node"); n.IsDefined()) {
    ApplyNode(MapReader(n, "node", source_name), cfg.node, source_name);
  }
  if (YAML::Node n = top.Get("kubernetes"); n.IsDefined()) {
    ApplyKubernetes(MapReader(n, "kubernetes", source_name), cfg.kubernetes);
  }
  if (YAML::Node n = top.Get("pods"); n.IsDefined()) {
    ApplyPods(MapReader(n, "pods", source_name), cfg.pods, source_name);
  }
  if (YAML::Node n = top.Get("apps"); n.IsDefined()) {
    ApplyApps(MapReader(n, "apps", source_name), cfg.apps, source_name);
  }
  if (YAML::Node n = top.Get("otlp"); n.IsDefined()) {
    ApplyOtlp(MapReader(n, "otlp", source_name), cfg.otlp, source_name);
  }
  if (YAML::Node n = top.Get("slo"); n.IsDefined()) {
    ApplySlo(MapReader(n, "slo", source_name), cfg.slo, source_name);
  }
  if (YAML::Node n = top.Get("traces"); n.IsDefined()) {
    ApplyTraces(MapReader(n, "traces", source_name), cfg.traces, source_name);
  }
  top.Done();
}

}  // namespace

Config DefaultConfig() {
  static const Config kDefault = [] {
    Config c;
    for (const auto& info : NodeCollectorInfos()) c.node.enabled[std::string(info.name)] = false;
    for (const auto name : PodCollectorNames()) c.pods.enabled[std::string(name)] = false;
    Apply(EmbeddedDefaultConfigYaml(), "<embedded default>", c);
    c.source_name = "<embedded default>";
    return c;
  }();
  return kDefault;
}

Config ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  Config c = DefaultConfig();
  Apply(yaml_text, source_name, c);
  c.source_name = source_name;
  if (c.slo.enabled && !c.slo.specs.empty()) {
    c.slo.slos = slo::LoadSloSpecs(c.slo.specs);
    for (const auto& spec : c.slo.slos) {
      for (const SloDuration w : spec.Windows()) {
        if (w.count() % c.slo.tick.count() != 0) {
          throw ConfigError(spec.source + ": SLO " + spec.name + ": window " +
                            FormatSloDuration(w) + " is not a whole number of slo.tick (" +
                            FormatSloDuration(c.slo.tick) + ")");
        }
      }
      if (c.slo.payments.enabled && c.slo.payments.availability_slo &&
          spec.name == c.slo.payments.availability_name) {
        throw ConfigError(spec.source + ": SLO name \"" + spec.name +
                          "\" is taken by slo.payments.availability_slo");
      }
    }
  }
  return c;
}

Config LoadConfigFile(const std::string& path) {
  auto text = ReadFileLimited(path, 16 * 1024 * 1024);
  if (!text.ok()) throw ConfigError(path + ": cannot read config: " + text.error().detail);
  return ParseConfig(*text, path);
}

}  // namespace lookout
