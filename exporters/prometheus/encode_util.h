#pragma once
// Pieces shared by the text and OpenMetrics encoders. detail: not for use outside encoders.

#include <string>
#include <string_view>

#include "agent/common/number_format.h"
#include "lookout/metrics/metric.h"

namespace lookout::prometheus::detail {

// Number formatting lives in agent/common/number_format.h (the SLO read and OTLP attributes
// format numbers too); the encoders use it through these names.
using ::lookout::AppendBoundLabel;
using ::lookout::AppendDouble;
using ::lookout::AppendInt;
using ::lookout::AppendUint;

// Label value escaping (both formats): backslash, double quote, line feed.
void AppendLabelValue(std::string& out, std::string_view v);
// HELP escaping: text 0.0.4 escapes backslash and line feed; OpenMetrics also double quote.
void AppendHelp(std::string& out, std::string_view help, bool escape_quote);

// `{a="x",b="y",extra_name="extra_value"}`; nothing when there are no labels at all.
void AppendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {});

}  // namespace lookout::prometheus::detail
