// time: node_time_seconds, node_time_zone_offset_seconds{time_zone} and the clock sources from
// sysfs (node_time_clocksource_{available,current}_info{clocksource,device}).
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/clock.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

class TimeCollector final : public Collector {
 public:
  TimeCollector(const NodeOptions& cfg, std::shared_ptr<const Clock> clock)
      : paths_(cfg.paths), clock_(std::move(clock)) {}
  std::string_view Name() const override { return "time"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto now = clock_->Now();
    const double secs = std::chrono::duration<double>(now.time_since_epoch()).count();
    AddSample(AddFamily(out, "node_time_seconds", "System time in seconds since epoch (1970).",
                        MetricType::kGauge),
              secs);
    const time_t t = std::chrono::system_clock::to_time_t(now);
    struct tm local {};
    localtime_r(&t, &local);
    AddSample(AddFamily(out, "node_time_zone_offset_seconds", "System time zone offset in seconds.",
                        MetricType::kGauge),
              static_cast<double>(local.tm_gmtoff),
              {{"time_zone", local.tm_zone != nullptr ? local.tm_zone : ""}});
    CollectClocksources(out);
    return Ok{};
  }

 private:
  void CollectClocksources(std::vector<MetricFamily>& out) {
    const std::string dir = paths_.Sys("devices/system/clocksource");
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> devices;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n.starts_with("clocksource")) devices.emplace_back(n.substr(11));
    }
    ::closedir(d);
    std::sort(devices.begin(), devices.end());
    if (devices.empty()) return;
    MetricFamily avail{"node_time_clocksource_available_info",
                       "Available clocksources read from '/sys/devices/system/clocksource'.",
                       MetricType::kGauge,
                       "",
                       {}};
    MetricFamily cur{"node_time_clocksource_current_info",
                     "Current clocksource read from '/sys/devices/system/clocksource'.",
                     MetricType::kGauge,
                     "",
                     {}};
    std::vector<std::string_view> f;
    for (const auto& dev : devices) {
      const std::string base = dir + "/clocksource" + dev;
      if (auto a = ReadFileLimited(base + "/available_clocksource", 4096); a.ok()) {
        SplitFields(TrimSpace(*a), f);
        for (auto cs : f) AddSample(avail, 1, {{"clocksource", std::string(cs)}, {"device", dev}});
      }
      if (auto c = ReadFileLimited(base + "/current_clocksource", 4096); c.ok()) {
        AddSample(cur, 1, {{"clocksource", std::string(TrimSpace(*c))}, {"device", dev}});
      }
    }
    out.push_back(std::move(avail));
    out.push_back(std::move(cur));
  }

  HostPaths paths_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace

std::unique_ptr<Collector> NewTimeCollector(const NodeOptions& cfg,
                                            std::shared_ptr<const Clock> clock) {
  return std::make_unique<TimeCollector>(cfg, std::move(clock));
}

std::unique_ptr<Collector> NewTimeCollector(const NodeOptions& cfg) {
  return NewTimeCollector(cfg, std::make_shared<SystemClock>());
}

}  // namespace lookout
