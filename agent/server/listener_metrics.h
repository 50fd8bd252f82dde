#pragma once
// One listener's connection metrics, shared by the HTTP listeners (metrics endpoint,
// OTLP/HTTP) and the OTLP/gRPC accept guard. `prefix` names the listener: lookout_http,
// lookout_otlp_http, lookout_otlp_grpc.
//
//   <prefix>_connections                      gauge    open connections
//   <prefix>_connections_limit                gauge    the cap in force (after the descriptor
//                                                      budget, open_file_limit.h)
//   <prefix>_connections_rejected_total{reason}  counter  newcomers closed at once:
//                                                      max_connections, peer_limit (nothing
//                                                      idle to evict), accept_error (EMFILE...)
//   <prefix>_connections_closed_total{reason}    counter  connections the server closed:
//                                                      evicted_max_connections,
//                                                      evicted_peer_limit, first_byte_timeout,
//                                                      idle_timeout
//   <prefix>_errors_total{reason}             counter  requests that failed before a handler
//                                                      (HTTP listeners only)
//
// Thread-safety: the instruments are prometheus-cpp's (atomic); the references stay valid as
// long as the registry lives.

#include <string>

#include "lookout/metrics/self_metrics.h"

namespace lookout {

struct ListenerMetrics {
  // `with_errors`: register <prefix>_errors_total (listeners that parse requests themselves).
  ListenerMetrics(SelfMetrics& registry, const std::string& prefix, size_t limit,
                  bool with_errors = true);

  ::prometheus::Gauge& connections;
  ::prometheus::Gauge& limit;
  Family<::prometheus::Counter>& rejected;
  Family<::prometheus::Counter>& closed;
  Family<::prometheus::Counter>* errors;  // null without with_errors
};

}  // namespace lookout
