#pragma once
// The node collectors, registered in one explicit list (no static initialisers, which a static
// library may drop). Each factory lives in its collector's file.

#include <memory>
#include <vector>

#include "agent/config/config.h"
#include "lookout/clock.h"
#include "lookout/collector.h"

namespace lookout {

std::unique_ptr<Collector> NewCpuCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewMeminfoCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewLoadavgCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewDiskstatsCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewFilesystemCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewNetdevCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewStatCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewVmstatCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewPressureCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewUnameCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewTimeCollector(const NodeConfig& cfg);
// With an injected clock (tests).
std::unique_ptr<Collector> NewTimeCollector(const NodeConfig& cfg,
                                            std::shared_ptr<const Clock> clock);
std::unique_ptr<Collector> NewFilefdCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewSockstatCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewNetstatCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewOsCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewTimexCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewConntrackCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewNetclassCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewTextfileCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewMdadmCollector(const NodeConfig& cfg);
std::unique_ptr<Collector> NewBondingCollector(const NodeConfig& cfg);

// The enabled collectors, in NodeCollectorInfos() order.
std::vector<std::unique_ptr<Collector>> MakeNodeCollectors(const NodeConfig& cfg);

}  // namespace lookout
