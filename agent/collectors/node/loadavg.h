#pragma once
#include <array>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

Result<std::array<double, 3>> ParseLoadavg(std::string_view text);

}  // namespace lookout
