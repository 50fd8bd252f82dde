// dmi: node_dmi_info, a constant 1 labelled with the firmware's identity strings from
// /sys/class/dmi/id (BIOS, board, chassis, product, vendor), as node_exporter 1.5.
//
// node_exporter reads the files once, at start-up: they cannot change before a reboot. lookout
// reads them at the first scrape that succeeds and keeps the labels, so a failed read is tried
// again. The serial numbers and product_uuid are readable by root only: without root they are
// left out of the labels, as node_exporter does. No DMI (ARM boards, most VMs' /sys here): no
// series and no failure. Only regular files are read (power/ and subsystem are not). A file
// that fails otherwise (EIO) leaves its label out with a partial error; node_exporter refuses to
// start then. Label values that are not UTF-8 get U+FFFD.
#include "agent/collectors/node/dmi.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::string_view DmiLabelForFile(std::string_view file) {
  static constexpr std::array<std::string_view, 20> kFiles = {
      "bios_date",      "bios_release",   "bios_vendor",     "bios_version",    "board_asset_tag",
      "board_name",     "board_serial",   "board_vendor",    "board_version",   "chassis_asset_tag",
      "chassis_serial", "chassis_vendor", "chassis_version", "product_family",  "product_name",
      "product_serial", "product_sku",    "product_uuid",    "product_version", "sys_vendor"};
  if (file == "sys_vendor") return "system_vendor";
  for (std::string_view f : kFiles) {
    if (f == file) return f;
  }
  return {};
}

namespace {

class DmiCollector final : public Collector {
 public:
  explicit DmiCollector(const NodeOptions& cfg) : dir_(cfg.paths.Sys("class/dmi/id")) {}
  std::string_view Name() const override { return "dmi"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    std::lock_guard lock(mu_);
    if (!read_) {
      SkippedEntries skipped;
      labels_ = Read(skipped);
      status_ = skipped.ToStatus();
      read_ = status_.ok();
    }
    if (!labels_.empty()) {
      AddSample(AddFamily(out, "node_dmi_info", kHelp, MetricType::kGauge), 1.0, labels_);
    }
    return status_;
  }

 private:
  static constexpr const char* kHelp =
      "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, "
      "bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, "
      "chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, "
      "product_name, product_serial, product_sku, product_uuid, product_version, system_vendor "
      "if provided by DMI.";

  Labels Read(SkippedEntries& skipped) const {
    Labels labels;
    DIR* d = opendir(dir_.c_str());
    if (d == nullptr) return labels;  // no DMI: no series, no failure
    std::vector<std::pair<std::string, unsigned char>> entries;
    while (const dirent* e = readdir(d)) entries.emplace_back(e->d_name, e->d_type);
    closedir(d);
    for (const auto& [name, type] : entries) {
      const std::string_view label = DmiLabelForFile(name);
      if (label.empty()) continue;
      const std::string path = dir_ + "/" + name;
      if (!IsRegular(path, type)) continue;
      SysfsValue v = SysReadFile(path);
      if (v.err == EACCES || v.err == EPERM) continue;  // serials and the UUID: root only
      if (v.err != 0) {
        skipped.Add(SysfsError(path, v));
        continue;
      }
      labels.push_back({std::string(label), ToValidUtf8(v.text)});
    }
    std::sort(labels.begin(), labels.end(),
              [](const Label& a, const Label& b) { return a.name < b.name; });
    return labels;
  }

  static bool IsRegular(const std::string& path, unsigned char type) {
    if (type != DT_UNKNOWN) return type == DT_REG;
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }

  const std::string dir_;
  std::mutex mu_;
  bool read_ = false;     // guarded by mu_: the labels are final
  Labels labels_;         // guarded by mu_
  Status status_ = Ok{};  // guarded by mu_
};

}  // namespace

std::unique_ptr<Collector> NewDmiCollector(const NodeOptions& cfg) {
  return std::make_unique<DmiCollector>(cfg);
}

}  // namespace lookout
