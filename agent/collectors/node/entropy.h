#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// One /proc/sys/kernel/random/<file>: a decimal unsigned number with white space around it, as
// procfs's util.ReadUintFromFile reads it (Go's strings.TrimSpace, then ParseUint base 10).
Result<uint64_t> ParseKernelRandomValue(std::string_view text);

}  // namespace lookout
