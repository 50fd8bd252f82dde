#include "agent/server/server_options.h"

namespace lookout {

const OptionTable<ServerOptions>& ServerOptionTable() {
  using O = ServerOptions;
  static const OptionTable<O> kTable{{
      option::ListenAddress<O>("listen_address", &O::listen_address, "0.0.0.0:9464",
                               "host:port of the metrics endpoint (`[::]:9464` for IPv6)"),
      option::Int<O>("threads", &O::threads, 1, 64, "2", "I/O threads serving HTTP and scrapes"),
      option::Int<O>("max_connections", &O::max_connections, 1, 1'000'000, "512",
                     "open connections; a newcomer beyond it evicts the longest-idle connection "
                     "of the client holding the most (lowered to fit the descriptor budget)"),
      option::Int<O>("max_connections_per_peer", &O::max_connections_per_peer, 0, 1'000'000, "64",
                     "open connections per client address; beyond it the client's own "
                     "longest-idle one is evicted (0: no cap)"),
      option::Int<O>("reserved_files", &O::reserved_files, 16, 1'000'000, "256",
                     "descriptors kept for the agent's own work (collectors, WAL segments, "
                     "kubelet and scrape clients): listener caps are lowered so that they, the "
                     "kept files and this fit under RLIMIT_NOFILE"),
      option::Int<O>("max_header_bytes", &O::max_header_bytes, 1024, 1 << 20, "16384",
                     "request header limit (431 beyond)"),
      option::Int<O>("max_body_bytes", &O::max_body_bytes, 0, int64_t{1} << 30, "1048576",
                     "request body limit (413 beyond)"),
      option::Dur<O>("request_timeout", &O::request_timeout, Duration(100), Duration(3'600'000),
                     "10s", "a request must be read, handled and answered within this"),
      option::Dur<O>("first_byte_timeout", &O::first_byte_timeout, Duration(100),
                     Duration(3'600'000), "5s",
                     "a new connection that sends no request byte within this is closed"),
      option::Dur<O>("idle_timeout", &O::idle_timeout, Duration(100), Duration(86'400'000), "120s",
                     "idle keep-alive connections are closed after this"),
      option::Dur<O>("shutdown_timeout", &O::shutdown_timeout, Duration(0), Duration(600'000), "5s",
                     "grace period for requests in flight on SIGTERM/SIGINT"),
  }};
  return kTable;
}

}  // namespace lookout
