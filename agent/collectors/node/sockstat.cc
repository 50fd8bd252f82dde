// sockstat: node_sockstat_* from /proc/net/sockstat and /proc/net/sockstat6 (absent when IPv6 is
// off), with TCP_mem_bytes/UDP_mem_bytes in bytes (pages * page size) like node_exporter.
#include "agent/collectors/node/sockstat.h"

#include <unistd.h>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<SockstatValues> ParseSockstat(std::string_view text) {
  SockstatValues out;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    // "TCP: inuse 5 orphan 0 ..." : protocol, then key/value pairs.
    if (f.size() < 3 || f.size() % 2 != 1 || !f[0].ends_with(':')) {
      bad = true;
      return;
    }
    const std::string_view proto = f[0].substr(0, f[0].size() - 1);
    for (size_t i = 1; i + 1 < f.size(); i += 2) {
      auto v = ParseI64(f[i + 1]);
      if (!v) {
        bad = true;
        return;
      }
      out.emplace_back(std::string(proto) + "_" + std::string(f[i]), static_cast<double>(*v));
    }
  });
  if (bad) return MakeError("parse", "malformed sockstat line");
  if (out.empty()) return MakeError("parse", "sockstat is empty");
  return out;
}

namespace {

class SockstatCollector final : public Collector {
 public:
  explicit SockstatCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {
    const long ps = sysconf(_SC_PAGESIZE);
    page_size_ = ps > 0 ? static_cast<double>(ps) : 4096;
  }
  std::string_view Name() const override { return "sockstat"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto v4 = sockstat_.Read(max_);
    if (!v4.ok()) return v4.error();
    auto values = ParseSockstat(*v4);
    if (!values.ok()) return values.error();
    if (auto v6 = sockstat6_.Read(max_); v6.ok()) {
      auto values6 = ParseSockstat(*v6);
      if (!values6.ok()) return values6.error();
      values->insert(values->end(), values6->begin(), values6->end());
    }
    for (const auto& [key, v] : *values) {
      Emit(out, key, v);
      if (key == "TCP_mem" || key == "UDP_mem") Emit(out, key + "_bytes", v * page_size_);
    }
    return Ok{};
  }

 private:
  static void Emit(std::vector<MetricFamily>& out, const std::string& key, double v) {
    std::string name = "node_sockstat_" + key;
    if (!IsValidMetricName(name)) return;
    AddSample(AddFamily(out, std::move(name), "Number of " + key + " sockets in state " + key + ".",
                        MetricType::kGauge),
              v);
  }

  HostPaths paths_;
  size_t max_;
  double page_size_;
  CachedFile sockstat_{paths_.Proc("net/sockstat")};
  CachedFile sockstat6_{paths_.Proc("net/sockstat6")};
};

}  // namespace

std::unique_ptr<Collector> NewSockstatCollector(const NodeOptions& cfg) {
  return std::make_unique<SockstatCollector>(cfg);
}

}  // namespace lookout
