#pragma once
// Remote write (`remote_write:` in the config): the endpoints the agent pushes its /metrics to,
// each written as a Prometheus `remote_write` entry is (same field names and meanings), and how
// often. The options and their table.

#include <string>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"
#include "exporters/remote_write/remote_writer.h"

namespace lookout {

struct RemoteWriteOptions {
  Duration interval{};
  // The target labels a Prometheus scraping the agent would add, on series without them.
  std::string job;
  std::string instance;  // "" = the node's name (kubernetes.node_name), else the host name
  std::vector<remote_write::EndpointOptions> endpoints;
  // The write-ahead log: one subdirectory per endpoint under `directory`.
  struct Wal {
    bool enabled = false;
    std::string directory;
    size_t max_bytes = 0;  // per endpoint
    size_t segment_bytes = 0;
    otlp::DiskQueueOptions::Fsync fsync = otlp::DiskQueueOptions::Fsync::kInterval;
    Duration fsync_interval{};
  } wal;
};

// The WAL options of one endpoint: its own subdirectory, named from its remote_name and a hash
// of its url and name, so a reordered config finds each endpoint's WAL again.
otlp::DiskQueueOptions EndpointWal(const RemoteWriteOptions::Wal& wal,
                                   const remote_write::EndpointOptions& e);

const OptionTable<RemoteWriteOptions>& RemoteWriteOptionTable();

}  // namespace lookout
