#include "agent/collectors/node/node_collectors.h"

#include <stdexcept>
#include <string>

namespace lookout {

std::vector<std::unique_ptr<Collector>> MakeNodeCollectors(const NodeConfig& cfg) {
  using Factory = std::unique_ptr<Collector> (*)(const NodeConfig&);
  struct Entry {
    std::string_view name;
    Factory make;
  };
  static const Entry kFactories[] = {
      {"cpu", NewCpuCollector},
      {"meminfo", NewMeminfoCollector},
      {"loadavg", NewLoadavgCollector},
      {"diskstats", NewDiskstatsCollector},
      {"filesystem", NewFilesystemCollector},
      {"netdev", NewNetdevCollector},
      {"stat", NewStatCollector},
      {"vmstat", NewVmstatCollector},
      {"pressure", NewPressureCollector},
      {"uname", NewUnameCollector},
      {"time", NewTimeCollector},
      {"filefd", NewFilefdCollector},
      {"sockstat", NewSockstatCollector},
      {"netstat", NewNetstatCollector},
      {"os", NewOsCollector},
      {"timex", NewTimexCollector},
      {"conntrack", NewConntrackCollector},
      {"netclass", NewNetclassCollector},
      {"textfile", NewTextfileCollector},
      {"mdadm", NewMdadmCollector},
      {"bonding", NewBondingCollector},
  };
  std::vector<std::unique_ptr<Collector>> out;
  for (const auto& info : NodeCollectorInfos()) {
    auto it = cfg.enabled.find(info.name);
    if (it == cfg.enabled.end() || !it->second) continue;
    const Entry* entry = nullptr;
    for (const auto& e : kFactories) {
      if (e.name == info.name) entry = &e;
    }
    if (entry == nullptr)
      throw std::logic_error("no factory for collector " + std::string(info.name));
    out.push_back(entry->make(cfg));
  }
  return out;
}

}  // namespace lookout
