#pragma once
// The OTLP receivers (`otlp:` in the config) and what they keep: options and their table.

#include <string>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"

namespace lookout {

// Values come from the option table's defaults; these members have none of their own.
struct OtlpOptions {
  bool http_enabled = false;
  std::string http_listen_address;
  bool grpc_enabled = false;
  std::string grpc_listen_address;
  size_t max_request_bytes = 0;  // after decompression; larger is refused (413 / gRPC limit)
  int max_connections = 0;       // per listener; as ServerOptions::max_connections
  int max_connections_per_peer = 0;
  Duration first_byte_timeout{};
  Duration idle_timeout{};
  bool metrics_enabled = false;
  Duration metrics_series_ttl{};  // series not updated this long disappear
  size_t metrics_max_series = 0;  // new series beyond this are dropped and counted
};

const OptionTable<OtlpOptions>& OtlpOptionTable();

}  // namespace lookout
