// nvme: node_nvme_info{device,firmware_revision,model,serial,state} = 1 for each NVMe controller
// in /sys/class/nvme (node_exporter 1.5). `state` is the controller's state ("live",
// "resetting", "connecting", "dead", ...), which is what alerts use.
//
// Which series exist: every entry of class/nvme (sorted); none and no failure when the class is
// absent. A controller with a file that cannot be read (one that vanished mid-scrape, a driver
// answering EIO) is left out and the others kept, with a partial error; node_exporter drops
// every controller then (a deliberate difference, README). Values that are not UTF-8 get U+FFFD.
#include "agent/collectors/node/nvme.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<NvmeDevice> ParseNvmeDevice(const NvmeDeviceFiles& f) {
  if (f.firmware_rev.err != 0) return SysfsError("firmware_rev", f.firmware_rev);
  if (f.model.err != 0) return SysfsError("model", f.model);
  if (f.serial.err != 0) return SysfsError("serial", f.serial);
  if (f.state.err != 0) return SysfsError("state", f.state);
  return NvmeDevice{ToValidUtf8(f.firmware_rev.text), ToValidUtf8(f.model.text),
                    ToValidUtf8(f.serial.text), ToValidUtf8(f.state.text)};
}

namespace {

class NvmeCollector final : public Collector {
 public:
  explicit NvmeCollector(const NodeOptions& cfg) : dir_(cfg.paths.Sys("class/nvme")) {}
  std::string_view Name() const override { return "nvme"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const std::vector<std::string> devices = ReadDirNames(dir_).value_or(kNone);
    MetricFamily info{"node_nvme_info",
                      "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
                      MetricType::kGauge,
                      {},
                      {}};
    SkippedEntries skipped;
    for (const std::string& name : devices) {
      const std::string d = dir_ + "/" + name + "/";
      auto dev =
          ParseNvmeDevice({kept_.SysReadFile(d + "firmware_rev"), kept_.SysReadFile(d + "model"),
                           kept_.SysReadFile(d + "serial"), kept_.SysReadFile(d + "state")});
      if (!dev.ok()) {
        skipped.Add(MakeError(dev.error().reason, d + dev.error().detail));
        continue;
      }
      AddSample(info, 1.0,
                {{"device", ToValidUtf8(name)},
                 {"firmware_revision", dev->firmware_revision},
                 {"model", dev->model},
                 {"serial", dev->serial},
                 {"state", dev->state}});
    }
    if (!info.samples.empty()) out.push_back(std::move(info));
    return skipped.ToStatus();
  }

 private:
  inline static const std::vector<std::string> kNone;
  std::string dir_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<Collector> NewNvmeCollector(const NodeOptions& cfg) {
  return std::make_unique<NvmeCollector>(cfg);
}

}  // namespace lookout
