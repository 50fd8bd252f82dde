// selinux: node_selinux_enabled, node_selinux_config_mode and node_selinux_current_mode
// (node_exporter 1.5, which reads them through opencontainers/selinux).
//
// Read from files, not libselinux: the agent runs in a container and must report the host, so
// it reads `<paths.sysfs>/fs/selinux/enforce` and `<paths.rootfs>/etc/selinux/config`;
// libselinux (and node_exporter's go-selinux) always look at the process's own /sys/fs/selinux
// and /etc/selinux/config, the container's. SELinux counts as enabled when the host's
// selinuxfs has an `enforce` file and this process's label (`<paths.procfs>/self/attr/current`)
// is not "kernel" (policy not loaded). go-selinux also wants selinuxfs writable, which a
// DaemonSet's read-only /host/sys never is, and finds it by filesystem magic; neither check
// can hold here (README).
//
// Which series exist: node_selinux_enabled always; the two modes only when enabled, as
// node_exporter. Never fails: a file that cannot be read gives the value go-selinux gives (-1).
#include "agent/collectors/node/selinux.h"

#include <climits>
#include <memory>
#include <string>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

int ParseSelinuxConfigMode(std::string_view config) {
  int mode = kSelinuxDisabled;
  bool found = false;
  ForEachLine(config, [&](std::string_view raw) {
    // go-selinux 1.10 (node_exporter 1.5): the trimmed line split at its first '=', the key
    // compared as is ("SELINUX =" does not count), quotes stripped from the value.
    const std::string_view line = TrimGoSpace(raw);
    if (found || line.empty() || line[0] == '#' || line[0] == ';') return;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || line.substr(0, eq) != "SELINUX") return;
    std::string_view value = line.substr(eq + 1);
    while (!value.empty() && value.front() == '"') value.remove_prefix(1);
    while (!value.empty() && value.back() == '"') value.remove_suffix(1);
    found = true;
    if (value == "enforcing") mode = kSelinuxEnforcing;
    if (value == "permissive") mode = kSelinuxPermissive;
  });
  return mode;
}

int ParseSelinuxEnforce(std::string_view enforce) {
  // Go's Atoi: one optional sign, then decimal digits only, within int64.
  const auto v = ParseGoInt(enforce, 10);
  if (!v || *v < INT_MIN || *v > INT_MAX) return kSelinuxDisabled;
  return static_cast<int>(*v);
}

namespace {

class SelinuxCollector final : public Collector {
 public:
  explicit SelinuxCollector(const NodeOptions& cfg)
      : enforce_(cfg.paths.Sys("fs/selinux/enforce")),
        config_(cfg.paths.Root("etc/selinux/config")),
        label_(cfg.paths.Proc("self/attr/current")) {}
  std::string_view Name() const override { return "selinux"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const SysfsValue enforce = ReadSysfsWhole(enforce_, kMaxBytes);
    const SysfsValue label = ReadSysfsWhole(label_, kMaxBytes);
    std::string_view context = label.text;
    while (!context.empty() && context.back() == '\0') context.remove_suffix(1);
    const bool enabled = enforce.err != ENOENT && enforce.err != ENOTDIR && context != "kernel";
    AddSample(AddFamily(out, "node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false",
                        MetricType::kGauge),
              enabled ? 1 : 0);
    if (!enabled) return Ok{};
    const SysfsValue config = ReadSysfsWhole(config_, kMaxBytes);
    AddSample(AddFamily(out, "node_selinux_config_mode", "Configured SELinux enforcement mode",
                        MetricType::kGauge),
              config.err == 0 ? ParseSelinuxConfigMode(config.text) : kSelinuxDisabled);
    // ReadSysfsWhole trims white space; go-selinux's Atoi does not, but the kernel writes none.
    AddSample(AddFamily(out, "node_selinux_current_mode", "Current SELinux enforcement mode",
                        MetricType::kGauge),
              enforce.err == 0 ? ParseSelinuxEnforce(enforce.text) : kSelinuxDisabled);
    return Ok{};
  }

 private:
  static constexpr size_t kMaxBytes =
      size_t{64} * 1024;  // a config file; the others are a few bytes
  const std::string enforce_;
  const std::string config_;
  const std::string label_;
};

}  // namespace

std::unique_ptr<Collector> NewSelinuxCollector(const NodeOptions& cfg) {
  return std::make_unique<SelinuxCollector>(cfg);
}

}  // namespace lookout
