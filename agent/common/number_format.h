#pragma once
// Numbers as Prometheus exposition text: the encoders write sample values with these, the SLO
// read formats `le` / `quantile` values with them to match selectors, and OTLP double
// attributes become label values with them. Pure functions; thread-safe.

#include <cstdint>
#include <string>

namespace lookout {

// Shortest round-trip representation; integers without exponent up to 2^53; "+Inf", "-Inf",
// "NaN". With `om_canonical`, integral values get ".0" (OpenMetrics canonical form for le and
// quantile label values).
void AppendDouble(std::string& out, double v, bool om_canonical = false);
// A histogram bound (`le`) or quantile as a label value, written exactly as Go's
// strconv.FormatFloat(v, 'g', -1, 64), which client_golang (so node_exporter, cAdvisor and most
// exporters) uses: the shortest round-trip digits, in exponent form when the exponent is below
// -4 or at least 6 (0.0005, 1e-05, 123456, 1.234567e+06, 1e+06). A label value is part of the
// series' identity, so "5e-04" and "0.0005" would be two series to Prometheus 2.x. With
// `om_canonical`, ".0" is added when there is neither "." nor "e", as client_golang's
// OpenMetrics encoder does.
void AppendBoundLabel(std::string& out, double v, bool om_canonical = false);
void AppendInt(std::string& out, int64_t v);
void AppendUint(std::string& out, uint64_t v);

}  // namespace lookout
