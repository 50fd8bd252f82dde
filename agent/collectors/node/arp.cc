// arp: node_arp_entries{device} from /proc/net/arp (node_exporter 1.5, which reads the file
// rather than netlink in that version), with its device include/exclude filter. Linux allows
// any byte but '/' and white space in an interface name: a name that is not UTF-8 has the bad
// bytes replaced by U+FFFD (node_exporter 1.5 panics on it), so the exposition stays valid.
#include "agent/collectors/node/arp.h"

#include <memory>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::map<std::string, uint32_t, std::less<>>> ParseArpEntries(std::string_view text) {
  std::map<std::string, uint32_t, std::less<>> entries;
  std::vector<std::string_view> f;
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (f.size() < 6) return MakeError("parse", "unexpected ARP table format");
    if (f[0] == "IP") continue;
    auto it = entries.find(f.back());
    if (it == entries.end()) it = entries.emplace(std::string(f.back()), 0).first;
    ++it->second;  // a uint32 that wraps, as node_exporter's
  }
  if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
  return entries;
}

namespace {

class ArpCollector final : public Collector {
 public:
  explicit ArpCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), filter_(cfg.arp), file_(cfg.paths.Proc("net/arp")) {}
  std::string_view Name() const override { return "arp"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto entries = ParseArpEntries(*text);
    if (!entries.ok()) return entries.error();
    auto& f = AddFamily(out, "node_arp_entries", "ARP entries by device", MetricType::kGauge);
    for (const auto& [device, n] : *entries) {
      if (filter_.Ignored(device)) continue;
      AddSample(f, n, {{"device", ToValidUtf8(device)}});
    }
    return Ok{};
  }

 private:
  size_t max_;
  DeviceFilter filter_;
  CachedFile file_;
};

}  // namespace

std::unique_ptr<Collector> NewArpCollector(const NodeOptions& cfg) {
  return std::make_unique<ArpCollector>(cfg);
}

std::vector<Option<NodeOptions>> ArpOptionRows() {
  return DeviceFilterOptions(&NodeOptions::arp, "", "", "devices whose entries are not counted");
}

}  // namespace lookout
