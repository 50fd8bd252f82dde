#include "agent/collectors/app/scrape_target.h"

#include <charconv>

namespace lookout::app {
namespace {

std::string Annotation(const Pod& p, const std::string& key) {
  auto it = p.annotations.find(key);
  return it == p.annotations.end() ? std::string() : it->second;
}

std::string HostPort(const std::string& ip, int port) {
  // IPv6 pod IPs need brackets in URLs and in `instance`, as Prometheus writes them.
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

std::string ScrapeTarget::Label(std::string_view name) const {
  for (const auto& l : labels)
    if (l.name == name) return l.value;
  return {};
}

std::vector<ScrapeTarget> StaticTargets(const AppsOptions& cfg) {
  std::vector<ScrapeTarget> out;
  for (size_t i = 0; i < cfg.static_targets.size(); ++i) {
    const StaticTargetOptions& s = cfg.static_targets[i];
    ScrapeTarget t;
    // By position: one URL may be listed twice (other job, labels or rules), as Prometheus
    // scrapes one URL from two jobs; the list does not change while the agent runs.
    t.key = "static/" + std::to_string(i) + "/" + s.url;
    t.url = s.url;
    t.source = "static";
    const size_t start = s.url.find("//") + 2;
    const std::string instance = s.url.substr(start, s.url.find('/', start) - start);
    t.labels.push_back({"job", s.job});
    t.labels.push_back({"instance", instance});
    for (const auto& [k, v] : s.labels) {
      if (k == "job" || k == "instance") {
        for (auto& l : t.labels)
          if (l.name == k) l.value = v;  // the user's word wins, as in a Prometheus static_config
        continue;
      }
      t.labels.push_back({k, v});
    }
    t.interval = s.interval.count() ? s.interval : cfg.scrape_interval;
    t.timeout = s.timeout.count() ? s.timeout : cfg.scrape_timeout;
    t.metric_relabel = s.metric_relabel_configs;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<ScrapeTarget> PodTargets(const PodSnapshot& pods, const AppsOptions& cfg,
                                     std::vector<DiscoverySkip>* skipped) {
  std::vector<ScrapeTarget> out;
  auto skip = [&](const Pod& p, const char* reason) {
    if (skipped != nullptr) skipped->push_back({p.namespace_name, p.name, reason});
  };
  for (const Pod& p : pods.pods()) {
    if (Annotation(p, "prometheus.io/scrape") != "true") continue;
    if (p.phase != "Running") continue;  // pending pods have nothing to scrape yet
    if (p.pod_ip.empty()) {
      skip(p, "no_ip");
      continue;
    }
    std::string scheme = Annotation(p, "prometheus.io/scheme");
    if (scheme.empty()) scheme = "http";
    if (scheme != "http" && scheme != "https") {
      skip(p, "bad_scheme");
      continue;
    }
    std::string path = Annotation(p, "prometheus.io/path");
    if (path.empty()) path = "/metrics";
    if (path[0] != '/') path = "/" + path;

    // (port, container) pairs to scrape.
    std::vector<std::pair<int, std::string>> ports;
    const std::string port_text = Annotation(p, "prometheus.io/port");
    if (!port_text.empty()) {
      int port = 0;
      const auto [ptr, ec] =
          std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 ||
          port > 65535) {
        skip(p, "bad_port");
        continue;
      }
      std::string container;
      for (const auto& c : p.containers) {
        if (c.init) continue;
        for (const auto& cp : c.ports)
          if (cp.port == port && container.empty()) container = c.name;
      }
      ports.emplace_back(port, container);
    } else {
      for (const auto& c : p.containers) {
        if (c.init) continue;
        for (const auto& cp : c.ports) {
          if (cp.protocol.empty() || cp.protocol == "TCP") ports.emplace_back(cp.port, c.name);
        }
      }
      if (ports.empty()) {
        skip(p, "no_port");
        continue;
      }
    }
    for (const auto& [port, container] : ports) {
      ScrapeTarget t;
      const std::string hp = HostPort(p.pod_ip, port);
      t.url = scheme + "://" + hp + path;
      t.key = "pod/" + p.uid + "/" + t.url;
      t.source = "pod";
      t.labels = {{"job", cfg.pods_job},
                  {"instance", hp},
                  {"namespace", p.namespace_name},
                  {"pod", p.name},
                  {"container", container}};
      t.interval = cfg.scrape_interval;
      t.timeout = cfg.scrape_timeout;
      t.metric_relabel = cfg.pods_metric_relabel_configs;
      out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace lookout::app
