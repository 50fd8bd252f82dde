#pragma once
// Content negotiation for the Prometheus endpoint: which exposition format and encoding a
// scraper asked for.

#include <string_view>

namespace lookout::prometheus {

enum class Format { kText004, kOpenMetrics100 };

// Picks the format from an HTTP Accept header by q-value (RFC 9110): OpenMetrics 1.0.0 when
// `application/openmetrics-text` is acceptable with a higher (or equal, earlier) q than text,
// else text 0.0.4. A missing or unparseable header means text.
Format NegotiateFormat(std::string_view accept);

// True when Accept-Encoding allows gzip (q > 0, explicitly or through `*`).
bool AcceptsGzip(std::string_view accept_encoding);

std::string_view ContentType(Format f);

}  // namespace lookout::prometheus
