#include "agent/collectors/pod/pods_options.h"

#include "agent/collectors/pod/pod_collectors.h"

namespace lookout {

const OptionTable<PodsOptions>& PodsOptionTable() {
  using O = PodsOptions;
  static const OptionTable<O> kTable = [] {
    OptionTable<O> t{{
        option::Str<O>("cgroupfs", &O::cgroupfs, "",
                       "the host's cgroup mount: v2 (unified) or v1 (the directory holding "
                       "`cpu,cpuacct`, `memory`, `blkio`, `pids`); `\"\"` = "
                       "`<node.paths.sysfs>/fs/cgroup`"),
        option::Custom<O>(
            "kubepods_cgroups", "[]", "list of cgroup paths",
            "kubepods cgroups to walk; `[]` = auto: `/kubepods.slice` (systemd driver), "
            "`/kubepods` (cgroupfs driver), `/kubelet.slice/kubelet-kubepods.slice` (kind)",
            [](YamlMapReader& r, std::string_view k, O& o) {
              YAML::Node n = r.Get(k);
              if (!n.IsDefined() || n.IsNull()) return;
              if (!n.IsSequence()) r.Fail(n, r.Key(k), "a list of cgroup paths");
              o.kubepods_cgroups.clear();
              for (const auto& item : n) {
                if (!item.IsScalar() || item.Scalar().empty()) {
                  r.Fail(item, r.Key(k), "a cgroup path like /kubepods.slice");
                }
                o.kubepods_cgroups.push_back(item.Scalar());
              }
            }),
        option::Dur<O>(
            "cgroup_recheck", &O::cgroup_recheck, Duration(0), Duration(86'400'000), "5m",
            "how long the containers collector keeps what it learnt about a cgroup directory "
            "before looking again: the files it lacks (a failed open costs more than half a "
            "read) and, between inotify events, its limits. A controller enabled or disabled "
            "later shows within this time; 0 = look on every scrape"),
    }};
    for (const auto& entry : PodCollectorRegistry()) {
      t.options.push_back(option::CollectorSwitch<O>(&O::enabled, entry.name, entry.default_enabled,
                                                     entry.description));
    }
    return t;
  }();
  return kTable;
}

}  // namespace lookout
