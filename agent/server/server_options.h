#pragma once
// The metrics endpoint's HTTP server options (`server:` in the config) and their table.

#include <string>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"

namespace lookout {

// Values come from the option table's defaults (the embedded default config); these members
// have none of their own.
struct ServerOptions {
  std::string listen_address;
  int threads = 0;
  int max_connections = 0;           // at the cap the longest-idle connection is evicted
  int max_connections_per_peer = 0;  // per client address; 0: no per-peer cap
  int reserved_files = 0;            // descriptors no listener may take (open_file_limit.h)
  size_t max_header_bytes = 0;
  size_t max_body_bytes = 0;
  Duration request_timeout{};     // whole request: headers, body, handler, response
  Duration first_byte_timeout{};  // new connection with no request byte yet
  Duration idle_timeout{};        // keep-alive connection with no request
  Duration shutdown_timeout{};
};

const OptionTable<ServerOptions>& ServerOptionTable();

}  // namespace lookout
