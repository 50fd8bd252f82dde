#include "agent/server/listener_metrics.h"

namespace lookout {

ListenerMetrics::ListenerMetrics(SelfMetrics& registry, const std::string& prefix, size_t cap,
                                 bool with_errors)
    : connections(registry
                      .AddGauge(::prometheus::BuildGauge()
                                    .Name(prefix + "_connections")
                                    .Help("Open connections to this listener."))
                      .Get()),
      limit(registry
                .AddGauge(::prometheus::BuildGauge()
                              .Name(prefix + "_connections_limit")
                              .Help("The listener's connection cap in force, after the "
                                    "descriptor budget."))
                .Get()),
      rejected(registry.AddCounter(
          ::prometheus::BuildCounter()
              .Name(prefix + "_connections_rejected_total")
              .Help("New connections closed at once, by reason: max_connections or peer_limit "
                    "with no idle connection to evict, accept_error."),
          {"reason"})),
      closed(registry.AddCounter(
          ::prometheus::BuildCounter()
              .Name(prefix + "_connections_closed_total")
              .Help("Connections the listener closed, by reason: evicted_max_connections, "
                    "evicted_peer_limit, first_byte_timeout, idle_timeout."),
          {"reason"})),
      errors(with_errors ? &registry.AddCounter(
                               ::prometheus::BuildCounter()
                                   .Name(prefix + "_errors_total")
                                   .Help("Requests that failed before reaching a handler, by "
                                         "reason."),
                               {"reason"})
                         : nullptr) {
  limit.Set(static_cast<double>(cap));
  // Every reason exists at 0 from the start: a series born with its first event hides that
  // event from rate() and increase().
  for (const char* reason : {"max_connections", "peer_limit", "accept_error"}) {
    rejected.WithLabels({reason});
  }
  for (const char* reason :
       {"evicted_max_connections", "evicted_peer_limit", "first_byte_timeout", "idle_timeout"}) {
    closed.WithLabels({reason});
  }
}

}  // namespace lookout
