#pragma once
// OpenTelemetry → Prometheus names, following the OpenTelemetry "Prometheus and OpenMetrics
// compatibility" rules as the Collector's normalizer applies them, so dashboards written against
// a Collector's Prometheus exporter find the same names here:
//   http.server.request.duration, unit "s", histogram → http_server_request_duration_seconds
//   requests, unit "{request}", monotonic sum      → requests_total
//   memory.utilization, unit "1", gauge            → memory_utilization_ratio
// Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace lookout::otlp {

enum class InstrumentKind { kGauge, kMonotonicSum, kNonMonotonicSum, kHistogram, kSummary };

std::string PrometheusMetricName(std::string_view name, std::string_view unit, InstrumentKind kind);

// Attribute key → label name: invalid characters become '_', a leading digit gets "key_", a
// leading underscore gets "key" (names starting with "__" are reserved).
std::string PrometheusLabelName(std::string_view key);

}  // namespace lookout::otlp
