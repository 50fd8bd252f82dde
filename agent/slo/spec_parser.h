#pragma once
// SLO spec files: lookout's own format and OpenSLO v1 (`SLO` and `SLI` documents with a
// `ratioMetric` and a rolling `timeWindow`). A file may hold several YAML documents; a
// directory is read file by file (*.yaml, *.yml, sorted), and an OpenSLO `indicatorRef` may
// name an SLI in any of its files. Errors throw ConfigError with file:line:column.
//
// lookout format:
//
//   slos:
//     - name: checkout-availability          # unique; [A-Za-z0-9][A-Za-z0-9_.-]*
//       service: checkout                    # default: the name
//       description: Checkout requests that did not fail
//       objective: 99.9                      # percent
//       period: 30d                          # default 30d
//       labels: {team: payments}
//       sli:                                 # exactly one of:
//         ratio:                             #   good (or bad) over total counters
//           good: 'http_requests_total{job="checkout",code!~"5.."}'
//           total: 'http_requests_total{job="checkout"}'
//           group_by: [namespace]
//         latency:                           #   share of a histogram at or under le
//           histogram: 'http_request_duration_seconds{job="checkout"}'
//           le: 0.3
//         span_metrics:                      #   span metrics: errors = status ERROR
//           service: checkout                #   default: the SLO's service
//           span_kind: SERVER                #   optional, as span_name
//       alerting:                            # default: the SRE workbook's four windows
//         page: [{long: 1h, short: 5m, burn_rate: 14.4}, {long: 6h, short: 30m, burn_rate: 6}]
//         ticket: [{long: 1d, short: 2h, burn_rate: 3}, {long: 3d, short: 6h, burn_rate: 1}]
//         min_bad_events: 10                 # a burn alert also needs this many bad events in
//                                            # its long window (low traffic); 0 = off

#include <string>
#include <vector>

#include "lookout/result.h"
#include "lookout/slo/slo_spec.h"

namespace lookout::slo {

// The span-metrics counter (the OpenTelemetry Collector spanmetrics connector's name as
// Prometheus sees it) and its error status value.
inline constexpr char kSpanMetricsCallsMetric[] = "traces_span_metrics_calls_total";
inline constexpr char kSpanStatusError[] = "STATUS_CODE_ERROR";

std::vector<SloSpec> ParseSloSpecs(const std::string& yaml_text, const std::string& source_name);
// A file, or every *.yaml / *.yml file of a directory.
std::vector<SloSpec> LoadSloSpecs(const std::string& path);

// A PromQL query reduced to what the engine evaluates: a selector, optionally inside rate() /
// increase() / irate(), optionally inside sum() or sum by (labels) () (the labels become the
// group_by). Anything else is refused with reason "query".
struct UnwrappedQuery {
  Selector selector;
  std::vector<std::string> group_by;
  bool has_group_by = false;
};
Result<UnwrappedQuery> UnwrapQuery(std::string_view query);

// Label names an SLO's group_by or labels may not use (the engine's own labels).
bool IsReservedSloLabel(std::string_view name);

}  // namespace lookout::slo
