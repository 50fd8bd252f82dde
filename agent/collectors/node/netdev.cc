// netdev: node_network_{receive,transmit}_*_total per interface from /proc/net/dev, plus
// receive_nohandler from sysfs (node_exporter 1.5 reads it over netlink).
#include "agent/collectors/node/netdev.h"

#include <map>
#include <memory>
#include <mutex>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::vector<NetDevStats>> ParseNetDev(std::string_view text) {
  std::vector<std::string_view> lines;
  ForEachLine(text, [&](std::string_view l) { lines.push_back(l); });
  if (lines.size() < 2) return MakeError("parse", "/proc/net/dev has no header");
  // Header line 2: " face |bytes packets ...|bytes packets ..."
  const std::string_view h = lines[1];
  const size_t p1 = h.find('|'), p2 = h.find('|', p1 + 1);
  if (p1 == std::string_view::npos || p2 == std::string_view::npos) {
    return MakeError("parse", "/proc/net/dev header not understood");
  }
  std::vector<std::string> names;
  std::vector<std::string_view> f;
  SplitFields(h.substr(p1 + 1, p2 - p1 - 1), f);
  names.reserve(2 * f.size());  // as many transmit_ columns follow
  for (auto n : f) names.push_back("receive_" + std::string(n));
  SplitFields(h.substr(p2 + 1), f);
  for (auto n : f) names.push_back("transmit_" + std::string(n));

  std::vector<NetDevStats> out;
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (TrimSpace(line).empty()) continue;
    // The name ends at the last ':' (numbers have none; names may: alias "br12:40", procfs #421).
    const size_t colon = line.rfind(':');
    if (colon == std::string_view::npos) return MakeError("parse", "/proc/net/dev line lacks ':'");
    NetDevStats d;
    d.device = std::string(TrimSpace(line.substr(0, colon)));
    SplitFields(line.substr(colon + 1), f);
    if (f.size() != names.size() || d.device.empty()) {
      return MakeError("parse", "/proc/net/dev line has the wrong number of fields");
    }
    for (size_t j = 0; j < f.size(); ++j) {
      auto v = ParseU64(f[j]);
      if (!v) return MakeError("parse", "bad number in /proc/net/dev");
      d.values.emplace_back(names[j], static_cast<double>(*v));
    }
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

class NetdevCollector final : public Collector {
 public:
  explicit NetdevCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes), filter_(cfg.netdev) {}
  std::string_view Name() const override { return "netdev"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto devs = ParseNetDev(*text);
    if (!devs.ok()) return devs.error();
    const size_t first = out.size();
    size_t nohandler = SIZE_MAX;
    for (const auto& d : *devs) {
      if (filter_.Ignored(d.device)) continue;
      if (out.size() == first) {  // families in the header's order, created once
        for (const auto& [name, v] : d.values) {
          AddFamily(out, "node_network_" + name + "_total",
                    "Network device statistic " + name + ".", MetricType::kCounter);
        }
      }
      for (size_t j = 0; j < d.values.size(); ++j) {
        AddSample(out[first + j], d.values[j].second, {{"device", d.device}});
      }
      auto nh = NohandlerFile(d.device).Read(64);
      if (!nh.ok()) continue;
      auto v = ParseU64(TrimSpace(*nh));
      if (!v) continue;
      if (nohandler == SIZE_MAX) {
        nohandler = out.size();
        AddFamily(out, "node_network_receive_nohandler_total",
                  "Network device statistic receive_nohandler.", MetricType::kCounter);
      }
      AddSample(out[nohandler], static_cast<double>(*v), {{"device", d.device}});
    }
    return Ok{};
  }

 private:
  // rx_nohandler files kept open per device; the map is reset if it ever grows past any real
  // host's interface count (veth churn).
  CachedFile& NohandlerFile(const std::string& device) {
    std::lock_guard lock(nohandler_mu_);
    auto it = nohandler_.find(device);
    if (it == nohandler_.end()) {
      if (nohandler_.size() >= 4096) nohandler_.clear();
      it = nohandler_
               .emplace(device, std::make_unique<CachedFile>(
                                    paths_.Sys("class/net/" + device + "/statistics/rx_nohandler")))
               .first;
    }
    return *it->second;
  }

  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("net/dev")};
  DeviceFilter filter_;
  std::mutex nohandler_mu_;
  std::map<std::string, std::unique_ptr<CachedFile>> nohandler_;  // guarded by nohandler_mu_
};

}  // namespace

std::unique_ptr<Collector> NewNetdevCollector(const NodeOptions& cfg) {
  return std::make_unique<NetdevCollector>(cfg);
}

std::vector<Option<NodeOptions>> NetdevOptionRows() {
  return DeviceFilterOptions(&NodeOptions::netdev, "", "", "interfaces to skip");
}

}  // namespace lookout
