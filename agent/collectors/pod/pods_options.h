#pragma once
// The pod collectors' options (`pods:` in the config) and their table.

#include <map>
#include <string>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"

namespace lookout {

// Values come from the option table's defaults; these members have none of their own.
struct PodsOptions {
  std::string cgroupfs;  // the host's cgroup mount (v1: the dir holding cpu, memory, ...); "" =
                         // <sysfs>/fs/cgroup
  std::vector<std::string> kubepods_cgroups;  // relative; empty = auto-detect
  Duration cgroup_recheck{};                  // how long a cgroup directory is remembered
  std::map<std::string, bool, std::less<>> enabled;
};

// cgroupfs, kubepods_cgroups and collectors.<name>.enabled in registration order.
const OptionTable<PodsOptions>& PodsOptionTable();

}  // namespace lookout
