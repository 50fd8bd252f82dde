// softnet: node_softnet_{processed,dropped,times_squeezed}_total per CPU from
// /proc/net/softnet_stat (node_exporter 1.5).
#include "agent/collectors/node/softnet.h"

#include <charconv>
#include <memory>
#include <string>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

bool ParseHex32(std::string_view s, uint32_t& out) {
  // Go's strconv.ParseUint(s, 16, 32): hex digits only, no prefix or sign, at most 32 bits.
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v > UINT32_MAX) {
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

Result<std::vector<SoftnetLine>> ParseSoftnetStat(std::string_view text) {
  std::vector<SoftnetLine> out;
  std::vector<std::string_view> f;
  // A line over 64 KiB ends the scan quietly (procfs does not check the scanner's error).
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (f.size() < 9) {
      return MakeError("parse", std::to_string(f.size()) +
                                    " columns were detected, but at least 9 were expected");
    }
    SoftnetLine l;
    if (!ParseHex32(f[0], l.processed) || !ParseHex32(f[1], l.dropped) ||
        !ParseHex32(f[2], l.time_squeezed)) {
      return MakeError("parse", "bad hexadecimal uint32 in softnet_stat");
    }
    out.push_back(l);
  }
  return out;
}

namespace {

class SoftnetCollector final : public Collector {
 public:
  explicit SoftnetCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), file_(cfg.paths.Proc("net/softnet_stat")) {}
  std::string_view Name() const override { return "softnet"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto lines = ParseSoftnetStat(*text);
    if (!lines.ok()) return lines.error();
    // Built apart and appended at the end: AddFamily's references dangle once `out` grows.
    MetricFamily processed{"node_softnet_processed_total",
                           "Number of processed packets",
                           MetricType::kCounter,
                           {},
                           {}};
    MetricFamily dropped{
        "node_softnet_dropped_total", "Number of dropped packets", MetricType::kCounter, {}, {}};
    MetricFamily squeezed{"node_softnet_times_squeezed_total",
                          "Number of times processing packets ran out of quota",
                          MetricType::kCounter,
                          {},
                          {}};
    for (size_t i = 0; i < lines->size(); ++i) {
      const std::string cpu = std::to_string(i);
      const SoftnetLine& l = (*lines)[i];
      AddSample(processed, l.processed, {{"cpu", cpu}});
      AddSample(dropped, l.dropped, {{"cpu", cpu}});
      AddSample(squeezed, l.time_squeezed, {{"cpu", cpu}});
    }
    out.push_back(std::move(processed));
    out.push_back(std::move(dropped));
    out.push_back(std::move(squeezed));
    return Ok{};
  }

 private:
  size_t max_;
  CachedFile file_;
};

}  // namespace

std::unique_ptr<Collector> NewSoftnetCollector(const NodeOptions& cfg) {
  return std::make_unique<SoftnetCollector>(cfg);
}

}  // namespace lookout
