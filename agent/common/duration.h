#pragma once
// Durations in config and spec files, written as Prometheus writes them ("30s", "1h30m", "500ms",
// "28d"). Pure; thread-safe.

#include <chrono>
#include <string_view>

namespace lookout {

using Duration = std::chrono::milliseconds;

// One or more <integer><unit>, units ms, s, m, h, d (Prometheus's model.ParseDuration without
// y/w). False on anything else, leaving *out unchanged.
bool ParseDuration(std::string_view s, Duration* out);

}  // namespace lookout
