// thermal_zone: node_thermal_zone_temp{zone,type} (Celsius) and
// node_cooling_device_{cur,max}_state{name,type} from /sys/class/thermal (node_exporter 1.5).
//
// Which series exist: every thermal_zone[0-9]* and cooling_device[0-9]* entry, and the whole
// collector fails when one of them lacks a required file or holds a bad number, as
// node_exporter's does. A zone whose sensor answers ENODATA (a sensor that is gone, e.g. a
// Wi-Fi card's while its firmware is down) is left out, as later procfs releases do (fixtures
// cannot show what procfs 0.8 did there). A host with no thermal class has no series and no
// failure, as node_exporter. A type that is not UTF-8 (a driver's bytes, or a 128-byte read
// that cut a character) has the bad bytes replaced by U+FFFD, so the exposition stays valid;
// node_exporter 1.5 panics on it.
#include "agent/collectors/node/thermal_zone.h"

#include <cerrno>
#include <memory>
#include <string_view>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/go_path.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<ThermalZone> ParseThermalZone(const ThermalZoneFiles& f) {
  if (f.type.err != 0) return SysfsError("type", f.type);
  if (f.policy.err != 0) return SysfsError("policy", f.policy);
  if (f.temp.err != 0) return SysfsError("temp", f.temp);
  const auto temp = ParseGoInt(f.temp.text, 10);
  if (!temp) return MakeError("parse", "temp: not a decimal integer");
  if (f.mode.err != 0 && !AbsentOrForbidden(f.mode.err)) return SysfsError("mode", f.mode);
  if (f.passive.err != 0) {
    if (!AbsentOrForbidden(f.passive.err)) return SysfsError("passive", f.passive);
  } else if (!ParseGoUint(f.passive.text, 10)) {
    return MakeError("parse", "passive: not an unsigned decimal number");
  }
  return ThermalZone{f.type.text, *temp};
}

Result<CoolingDevice> ParseCoolingDevice(const CoolingDeviceFiles& f) {
  if (f.type.err != 0) return SysfsError("type", f.type);
  if (f.max_state.err != 0) return SysfsError("max_state", f.max_state);
  const auto max = ParseGoInt(f.max_state.text, 10);
  if (!max) return MakeError("parse", "max_state: not a decimal integer");
  if (f.cur_state.err != 0) return SysfsError("cur_state", f.cur_state);
  const auto cur = ParseGoInt(f.cur_state.text, 10);
  if (!cur) return MakeError("parse", "cur_state: not a decimal integer");
  return CoolingDevice{f.type.text, *max, *cur};
}

namespace {

class ThermalZoneCollector final : public Collector {
 public:
  explicit ThermalZoneCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), dir_(cfg.paths.Sys("class/thermal")) {}
  std::string_view Name() const override { return "thermal_zone"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    MetricFamily temp{
        "node_thermal_zone_temp", "Zone temperature in Celsius", MetricType::kGauge, {}, {}};
    // filepath.Glob, as procfs: sorted, nothing when the directory is absent or unreadable.
    for (const std::string& path : GoGlob(dir_ + "/thermal_zone[0-9]*").value_or(kNone)) {
      const std::string entry = path.substr(path.rfind('/') + 1);
      const std::string d = path + "/";
      // procfs reads type, policy and mode with one 128-byte read, temp and passive whole.
      ThermalZoneFiles f{kept_.SysReadFile(d + "type"), kept_.SysReadFile(d + "policy"),
                         kept_.ReadSysfsWhole(d + "temp", max_), kept_.SysReadFile(d + "mode"),
                         kept_.ReadSysfsWhole(d + "passive", max_)};
      if (f.temp.err == ENODATA) continue;  // the sensor is gone
      auto z = ParseThermalZone(f);
      if (!z.ok()) return MakeError(z.error().reason, d + z.error().detail);
      AddSample(temp, static_cast<double>(z->temp_millicelsius) / 1000.0,
                {{"zone", entry.substr(12)}, {"type", ToValidUtf8(z->type)}});
    }
    MetricFamily cur{"node_cooling_device_cur_state",
                     "Current throttle state of the cooling device",
                     MetricType::kGauge,
                     {},
                     {}};
    MetricFamily max{"node_cooling_device_max_state",
                     "Maximum throttle state of the cooling device",
                     MetricType::kGauge,
                     {},
                     {}};
    for (const std::string& path : GoGlob(dir_ + "/cooling_device[0-9]*").value_or(kNone)) {
      const std::string entry = path.substr(path.rfind('/') + 1);
      const std::string d = path + "/";
      auto c =
          ParseCoolingDevice({kept_.SysReadFile(d + "type"), kept_.SysReadFile(d + "max_state"),
                              kept_.SysReadFile(d + "cur_state")});
      if (!c.ok()) return MakeError(c.error().reason, d + c.error().detail);
      const std::string name = entry.substr(14);
      const std::string type = ToValidUtf8(c->type);
      AddSample(cur, static_cast<double>(c->cur_state), {{"name", name}, {"type", type}});
      AddSample(max, static_cast<double>(c->max_state), {{"name", name}, {"type", type}});
    }
    for (MetricFamily* f : {&temp, &cur, &max}) {
      if (!f->samples.empty()) out.push_back(std::move(*f));
    }
    return Ok{};
  }

 private:
  inline static const std::vector<std::string> kNone;
  size_t max_;
  std::string dir_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<Collector> NewThermalZoneCollector(const NodeOptions& cfg) {
  return std::make_unique<ThermalZoneCollector>(cfg);
}

}  // namespace lookout
