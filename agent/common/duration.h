#pragma once
// Durations in config and spec files, written as Prometheus writes them ("30s", "1h30m", "500ms",
// "28d"). Pure; thread-safe.

#include <chrono>
#include <string>
#include <string_view>

namespace lookout {

using Duration = std::chrono::milliseconds;

// One or more <integer><unit>, units ms, s, m, h, d (Prometheus's model.ParseDuration without
// y/w). False on anything else, leaving *out unchanged.
bool ParseDuration(std::string_view s, Duration* out);

// The inverse, as Prometheus's model.Duration.String() writes it without y and w: largest units
// first, zero units left out ("90000ms" -> "1m30s", "0ms" -> "0s", "172800000ms" -> "2d").
std::string FormatDuration(Duration d);

}  // namespace lookout
