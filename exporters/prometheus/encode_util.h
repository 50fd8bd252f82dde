#pragma once
// Pieces shared by the text and OpenMetrics encoders. detail: not for use outside encoders.

#include <string>
#include <string_view>

#include "lookout/metrics/metric.h"

namespace lookout::prometheus::detail {

// Shortest round-trip representation; integers without exponent up to 2^53; "+Inf", "-Inf",
// "NaN". With `om_canonical`, integral values get ".0" (OpenMetrics canonical form for le and
// quantile label values).
void AppendDouble(std::string& out, double v, bool om_canonical = false);
void AppendInt(std::string& out, int64_t v);
void AppendUint(std::string& out, uint64_t v);

// Label value escaping (both formats): backslash, double quote, line feed.
void AppendLabelValue(std::string& out, std::string_view v);
// HELP escaping: text 0.0.4 escapes backslash and line feed; OpenMetrics also double quote.
void AppendHelp(std::string& out, std::string_view help, bool escape_quote);

// `{a="x",b="y",extra_name="extra_value"}`; nothing when there are no labels at all.
void AppendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {});

}  // namespace lookout::prometheus::detail
