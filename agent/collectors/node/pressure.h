#pragma once
#include <optional>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// Totals (microseconds) of one /proc/pressure/<resource> file.
struct PressureTotals {
  std::optional<double> some_us;
  std::optional<double> full_us;
};

Result<PressureTotals> ParsePressure(std::string_view text);

}  // namespace lookout
