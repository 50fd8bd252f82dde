#pragma once
// Remote write (`remote_write:` in the config): the endpoints the agent pushes its /metrics to,
// each written as a Prometheus `remote_write` entry is (same field names and meanings), and how
// often. The options and their table.

#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"
#include "exporters/remote_write/remote_writer.h"

namespace lookout {

struct RemoteWriteOptions {
  Duration interval{};
  std::vector<remote_write::EndpointOptions> endpoints;
};

const OptionTable<RemoteWriteOptions>& RemoteWriteOptionTable();

}  // namespace lookout
