#pragma once
// The node collectors, registered in one explicit list (no static initialisers, which a static
// library may drop): one row per collector with its name (config key, log tag, `collector`
// label), node_exporter 1.5's default on/off, its factory and its option rows. Each factory and
// each option-row function lives in its collector's file.

#include <memory>
#include <vector>

#include "agent/collectors/node/node_options.h"
#include "lookout/clock.h"
#include "lookout/collector.h"

namespace lookout {

std::unique_ptr<Collector> NewCpuCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewMeminfoCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewLoadavgCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewDiskstatsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewFilesystemCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNetdevCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewStatCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewVmstatCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewPressureCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewUnameCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewTimeCollector(const NodeOptions& cfg);
// With an injected clock (tests).
std::unique_ptr<Collector> NewTimeCollector(const NodeOptions& cfg,
                                            std::shared_ptr<const Clock> clock);
std::unique_ptr<Collector> NewFilefdCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewSockstatCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNetstatCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewOsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewTimexCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewConntrackCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNetclassCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewTextfileCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewMdadmCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewBondingCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewArpCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewCpufreqCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewEntropyCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewSchedstatCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewSoftnetCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewUdpQueuesCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewThermalZoneCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewDmiCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewEdacCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNvmeCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewRaplCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewHwmonCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewPowerSupplyClassCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewTapestatsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNfsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewNfsdCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewXfsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewBtrfsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewInfinibandCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewFibreChannelCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewZfsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewIpvsCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewSelinuxCollector(const NodeOptions& cfg);
std::unique_ptr<Collector> NewBcacheCollector(const NodeOptions& cfg);

// Option rows (keys relative to node.collectors.<name>) of the collectors that have options.
std::vector<Option<NodeOptions>> FilesystemOptionRows();
std::vector<Option<NodeOptions>> DiskstatsOptionRows();
std::vector<Option<NodeOptions>> NetdevOptionRows();
std::vector<Option<NodeOptions>> NetclassOptionRows();
std::vector<Option<NodeOptions>> TextfileOptionRows();
std::vector<Option<NodeOptions>> NetstatOptionRows();
std::vector<Option<NodeOptions>> VmstatOptionRows();
std::vector<Option<NodeOptions>> ArpOptionRows();
std::vector<Option<NodeOptions>> RaplOptionRows();
std::vector<Option<NodeOptions>> PowerSupplyClassOptionRows();
std::vector<Option<NodeOptions>> TapestatsOptionRows();
std::vector<Option<NodeOptions>> IpvsOptionRows();
std::vector<Option<NodeOptions>> BcacheOptionRows();

struct NodeCollectorRegistration {
  std::string_view name;
  bool default_enabled;
  std::string_view description;
  std::unique_ptr<Collector> (*factory)(const NodeOptions&);
  std::vector<Option<NodeOptions>> (*options)();  // nullptr: only `enabled`
};

// Every node collector, in registration (and collection) order.
const std::vector<NodeCollectorRegistration>& NodeCollectorRegistry();

// The enabled collectors, in registration order.
std::vector<std::unique_ptr<Collector>> MakeNodeCollectors(const NodeOptions& cfg);

}  // namespace lookout
