// bonding: node_bonding_slaves{master} and node_bonding_active{master} (slaves whose MII status
// is "up"), from the files node_exporter 1.5 reads: <sysfs>/class/net/bonding_masters,
// <master>/bonding/slaves and <master>/lower_<slave>/bonding_slave/mii_status (slave_<slave>
// on older kernels). The master's own bonding/mii_status is not used, as in node_exporter.
//
// No bonding_masters (no bonding driver) is not a failure here: no series, success 1
// (node_exporter reports success 0). A master or slave removed between two reads drops that
// master for this scrape (node_exporter drops every master then).
#include "agent/collectors/node/bonding.h"

#include <algorithm>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::vector<std::string> ParseBondingList(std::string_view text) {
  std::vector<std::string_view> f;
  SplitGoFields(text, f);
  return std::vector<std::string>(f.begin(), f.end());
}

bool BondingSlaveUp(std::string_view mii_status) { return TrimGoSpace(mii_status) == "up"; }

namespace {

class BondingCollector final : public Collector {
 public:
  explicit BondingCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "bonding"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto masters_text = masters_.Read(max_);
    if (!masters_text.ok()) {
      if (IsMissing(masters_text.error(), masters_.path())) return Ok{};  // no bonding driver
      return masters_text.error();
    }
    const auto masters = ParseBondingList(*masters_text);
    MetricFamily slaves_f{"node_bonding_slaves",
                          "Number of configured slaves per bonding interface.",
                          MetricType::kGauge,
                          "",
                          {}};
    MetricFamily active_f{"node_bonding_active",
                          "Number of active slaves per bonding interface.",
                          MetricType::kGauge,
                          "",
                          {}};
    for (size_t m = 0; m < masters.size(); ++m) {
      const std::string& master = masters[m];
      // Listed twice: one series (node_exporter keys its result by master name).
      if (std::find(masters.begin(), masters.begin() + static_cast<ptrdiff_t>(m), master) !=
          masters.begin() + static_cast<ptrdiff_t>(m)) {
        continue;
      }
      const std::string dir = paths_.Sys("class/net/" + master);
      auto slaves_text = ReadFileLimited(dir + "/bonding/slaves", max_);
      if (!slaves_text.ok()) {
        if (IsMissing(slaves_text.error(), dir + "/bonding/slaves")) continue;  // master gone
        return slaves_text.error();
      }
      int configured = 0, active = 0;
      bool gone = false;
      for (const auto& slave : ParseBondingList(*slaves_text)) {
        std::string path = dir + "/lower_" + slave + "/bonding_slave/mii_status";
        auto state = ReadFileLimited(path, max_);
        if (!state.ok() && IsMissing(state.error(), path)) {
          path = dir + "/slave_" + slave + "/bonding_slave/mii_status";
          state = ReadFileLimited(path, max_);
        }
        if (!state.ok()) {
          if (IsMissing(state.error(), path)) {
            gone = true;  // the slave left the bond (or the bond went) since `slaves` was read
            break;
          }
          return state.error();
        }
        ++configured;
        if (BondingSlaveUp(*state)) ++active;
      }
      if (gone) continue;
      AddSample(slaves_f, configured, {{"master", master}});
      AddSample(active_f, active, {{"master", master}});
    }
    if (!slaves_f.samples.empty()) {
      out.push_back(std::move(slaves_f));
      out.push_back(std::move(active_f));
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile masters_{paths_.Sys("class/net/bonding_masters")};
};

}  // namespace

std::unique_ptr<Collector> NewBondingCollector(const NodeOptions& cfg) {
  return std::make_unique<BondingCollector>(cfg);
}

}  // namespace lookout
