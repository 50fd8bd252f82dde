// powersupplyclass: batteries, mains adapters and USB power ports from /sys/class/power_supply,
// as node_exporter 1.5: node_power_supply_<attribute>{power_supply} for 49 numeric attributes
// (micro-units as amperes, volts, watts, watt-hours; temperatures in Celsius) and
// node_power_supply_info{power_supply,type,status,...} for the text ones.
//
// Which series exist: every supply (ignored_supplies excluded) and each attribute file it has.
// A supply driver answers EIO, ENODATA or EINVAL for what it cannot measure at the moment, and
// some write "N/A": that attribute is left out and counted (partial error, reason "read" or
// "parse") and the rest kept. node_exporter 1.5 fails the whole collector on a value that does
// not parse (a deliberate difference, README). No power_supply class: no series, no failure.
#include "agent/collectors/node/powersupplyclass.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

struct Row {
  std::string_view file;
  PowerSupplyAttribute attribute;
};

constexpr double kMicro = 1e6;
constexpr double kTenths = 10;

// node_exporter 1.5's three maps (×1, /1e6, /10) and its info labels, by sysfs file name.
constexpr std::array<Row, 60> kRows = {{
    {"authentic", {"authentic", 1, false}},
    {"calibrate", {"calibrate", 1, false}},
    {"capacity", {"capacity", 1, false}},
    {"capacity_alert_max", {"capacity_alert_max", 1, false}},
    {"capacity_alert_min", {"capacity_alert_min", 1, false}},
    {"cycle_count", {"cyclecount", 1, false}},
    {"online", {"online", 1, false}},
    {"present", {"present", 1, false}},
    {"time_to_empty_now", {"time_to_empty_seconds", 1, false}},
    {"time_to_full_now", {"time_to_full_seconds", 1, false}},
    {"current_boot", {"current_boot", kMicro, false}},
    {"current_max", {"current_max", kMicro, false}},
    {"current_now", {"current_ampere", kMicro, false}},
    {"energy_empty", {"energy_empty", kMicro, false}},
    {"energy_empty_design", {"energy_empty_design", kMicro, false}},
    {"energy_full", {"energy_full", kMicro, false}},
    {"energy_full_design", {"energy_full_design", kMicro, false}},
    {"energy_now", {"energy_watthour", kMicro, false}},
    {"voltage_boot", {"voltage_boot", kMicro, false}},
    {"voltage_max", {"voltage_max", kMicro, false}},
    {"voltage_max_design", {"voltage_max_design", kMicro, false}},
    {"voltage_min", {"voltage_min", kMicro, false}},
    {"voltage_min_design", {"voltage_min_design", kMicro, false}},
    {"voltage_now", {"voltage_volt", kMicro, false}},
    {"voltage_ocv", {"voltage_ocv", kMicro, false}},
    {"charge_control_limit", {"charge_control_limit", kMicro, false}},
    {"charge_control_limit_max", {"charge_control_limit_max", kMicro, false}},
    {"charge_counter", {"charge_counter", kMicro, false}},
    {"charge_empty", {"charge_empty", kMicro, false}},
    {"charge_empty_design", {"charge_empty_design", kMicro, false}},
    {"charge_full", {"charge_full", kMicro, false}},
    {"charge_full_design", {"charge_full_design", kMicro, false}},
    {"charge_now", {"charge_ampere", kMicro, false}},
    {"charge_term_current", {"charge_term_current", kMicro, false}},
    {"constant_charge_current", {"constant_charge_current", kMicro, false}},
    {"constant_charge_current_max", {"constant_charge_current_max", kMicro, false}},
    {"constant_charge_voltage", {"constant_charge_voltage", kMicro, false}},
    {"constant_charge_voltage_max", {"constant_charge_voltage_max", kMicro, false}},
    {"precharge_current", {"precharge_current", kMicro, false}},
    {"input_current_limit", {"input_current_limit", kMicro, false}},
    {"power_now", {"power_watt", kMicro, false}},
    {"temp", {"temp_celsius", kTenths, false}},
    {"temp_alert_max", {"temp_alert_max_celsius", kTenths, false}},
    {"temp_alert_min", {"temp_alert_min_celsius", kTenths, false}},
    {"temp_ambient", {"temp_ambient_celsius", kTenths, false}},
    {"temp_ambient_max", {"temp_ambient_max_celsius", kTenths, false}},
    {"temp_ambient_min", {"temp_ambient_min_celsius", kTenths, false}},
    {"temp_max", {"temp_max_celsius", kTenths, false}},
    {"temp_min", {"temp_min_celsius", kTenths, false}},
    {"capacity_level", {"capacity_level", 1, true}},
    {"charge_type", {"charge_type", 1, true}},
    {"health", {"health", 1, true}},
    {"manufacturer", {"manufacturer", 1, true}},
    {"model_name", {"model_name", 1, true}},
    {"serial_number", {"serial_number", 1, true}},
    {"status", {"status", 1, true}},
    {"technology", {"technology", 1, true}},
    {"type", {"type", 1, true}},
    {"usb_type", {"usb_type", 1, true}},
    {"scope", {"scope", 1, true}},
}};

}  // namespace

std::optional<PowerSupplyAttribute> PowerSupplyAttributeFor(std::string_view file) {
  for (const Row& r : kRows) {
    if (r.file == file) return r.attribute;
  }
  return std::nullopt;
}

std::optional<int64_t> ParsePowerSupplyValue(std::string_view text) { return ParseGoInt(text, 0); }

namespace {

class PowerSupplyClassCollector final : public Collector {
 public:
  explicit PowerSupplyClassCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("class/power_supply")), ignored_(cfg.powersupply_ignored) {}
  std::string_view Name() const override { return "powersupplyclass"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const auto supplies = ReadDirNames(dir_);
    if (!supplies) return Ok{};                   // no power_supply class: no series, no failure
    std::map<std::string, MetricFamily> numeric;  // sorted by name, as node_exporter's output
    MetricFamily info{"node_power_supply_info",
                      "info of /sys/class/power_supply/<power_supply>.",
                      MetricType::kGauge,
                      {},
                      {}};
    SkippedEntries skipped;
    for (const std::string& supply : *supplies) {
      if (ignored_.Matches(supply)) continue;
      const std::string d = dir_ + "/" + supply;
      DIR* dir = opendir(d.c_str());
      if (dir == nullptr) {
        skipped.Add(MakeError("read", d + ": " + std::strerror(errno)));
        continue;
      }
      std::vector<std::string> files;
      while (const dirent* e = readdir(dir)) {
        if (e->d_type == DT_REG || (e->d_type == DT_UNKNOWN && IsRegular(d + "/" + e->d_name))) {
          files.emplace_back(e->d_name);
        }
      }
      closedir(dir);
      const std::string name = ToValidUtf8(supply);
      Labels info_labels = {{"power_supply", name}};
      for (const std::string& file : files) {
        const auto attr = PowerSupplyAttributeFor(file);
        if (!attr) continue;
        const SysfsValue v = kept_.SysReadFile(d + "/" + file);
        if (v.err != 0) {
          skipped.Add(SysfsError(d + "/" + file, v));
          continue;
        }
        if (attr->info_label) {
          if (!v.text.empty())
            info_labels.push_back({std::string(attr->metric), ToValidUtf8(v.text)});
          continue;
        }
        const auto n = ParsePowerSupplyValue(v.text);
        if (!n) {
          skipped.Add(MakeError(
              "parse", d + "/" + file + ": \"" + ToValidUtf8(v.text) + "\" is not an integer"));
          continue;
        }
        const std::string metric(attr->metric);
        auto [it, added] = numeric.try_emplace(metric);
        if (added) {
          it->second = {"node_power_supply_" + metric,
                        metric + " value of /sys/class/power_supply/<power_supply>.",
                        MetricType::kGauge,
                        {},
                        {}};
        }
        AddSample(it->second, static_cast<double>(*n) / attr->divisor, {{"power_supply", name}});
      }
      std::sort(info_labels.begin(), info_labels.end(),
                [](const Label& a, const Label& b) { return a.name < b.name; });
      AddSample(info, 1.0, std::move(info_labels));
    }
    for (auto& [name, family] : numeric) out.push_back(std::move(family));
    if (!info.samples.empty()) out.push_back(std::move(info));
    return skipped.ToStatus();
  }

 private:
  static bool IsRegular(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }

  const std::string dir_;
  const Pattern ignored_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<Collector> NewPowerSupplyClassCollector(const NodeOptions& cfg) {
  return std::make_unique<PowerSupplyClassCollector>(cfg);
}

std::vector<Option<NodeOptions>> PowerSupplyClassOptionRows() {
  return {option::Regex<NodeOptions>(
      "ignored_supplies", &NodeOptions::powersupply_ignored, "^$",
      "`--collector.powersupply.ignored-supplies`: power supplies not reported (a regular "
      "expression searched in the supply's name, as node_exporter's)")};
}

}  // namespace lookout
