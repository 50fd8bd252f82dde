// entropy: node_entropy_available_bits and node_entropy_pool_size_bits from
// /proc/sys/kernel/random, as node_exporter 1.5 (procfs KernelRandom) reads them.
//
// procfs reads all five files of that directory and fails on any that exists but does not
// parse, even the three node_exporter does not expose; a missing file is skipped. Then a missing
// entropy_avail or poolsize is a failure.
#include "agent/collectors/node/entropy.h"

#include <array>
#include <memory>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<uint64_t> ParseKernelRandomValue(std::string_view text) {
  auto v = ParseU64(TrimGoSpace(text));
  if (!v) return MakeError("parse", "not an unsigned decimal number");
  return *v;
}

namespace {

class EntropyCollector final : public Collector {
 public:
  explicit EntropyCollector(const NodeOptions& cfg) : max_(cfg.max_file_bytes) {
    for (size_t i = 0; i < kFiles.size(); ++i) {
      files_[i] = std::make_unique<CachedFile>(
          cfg.paths.Proc(std::string("sys/kernel/random/") + kFiles[i]));
    }
  }
  std::string_view Name() const override { return "entropy"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    std::array<std::optional<uint64_t>, kFiles.size()> values;
    for (size_t i = 0; i < kFiles.size(); ++i) {
      auto text = files_[i]->Read(max_);
      if (!text.ok()) {
        // Absent: skipped, as procfs does (read_wakeup_threshold is gone since 5.18). Tried
        // again on every scrape: a /proc mounted late under paths.procfs fills in later.
        if (IsMissing(text.error(), files_[i]->path())) continue;
        return text.error();
      }
      auto v = ParseKernelRandomValue(*text);
      if (!v.ok()) return MakeError("parse", files_[i]->path() + ": " + v.error().detail);
      values[i] = *v;
    }
    if (!values[0]) return MakeError("open", "couldn't get entropy_avail");
    if (!values[1]) return MakeError("open", "couldn't get entropy poolsize");
    AddSample(AddFamily(out, "node_entropy_available_bits", "Bits of available entropy.",
                        MetricType::kGauge),
              static_cast<double>(*values[0]));
    AddSample(
        AddFamily(out, "node_entropy_pool_size_bits", "Bits of entropy pool.", MetricType::kGauge),
        static_cast<double>(*values[1]));
    return Ok{};
  }

 private:
  // The first two are exposed; procfs reads (and may fail on) the others too.
  static constexpr std::array<const char*, 5> kFiles = {
      "entropy_avail", "poolsize", "urandom_min_reseed_secs", "write_wakeup_threshold",
      "read_wakeup_threshold"};
  size_t max_;
  std::array<std::unique_ptr<CachedFile>, kFiles.size()> files_;
};

}  // namespace

std::unique_ptr<Collector> NewEntropyCollector(const NodeOptions& cfg) {
  return std::make_unique<EntropyCollector>(cfg);
}

}  // namespace lookout
