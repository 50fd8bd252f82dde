#include "agent/common/duration.h"

#include <cstdint>
#include <utility>

#include "agent/common/file_util.h"

namespace lookout {

bool ParseDuration(std::string_view s, Duration* out) {
  // Prometheus-style: one or more <number><unit>, units ms, s, m, h, d.
  if (s.empty()) return false;
  int64_t total_ms = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == 0 || i > 12) return false;
    const auto n = ParseI64(s.substr(0, i));
    if (!n) return false;
    s.remove_prefix(i);
    int64_t unit_ms = 0;
    if (s.starts_with("ms")) {
      unit_ms = 1;
      s.remove_prefix(2);
    } else if (!s.empty() && (s[0] == 's' || s[0] == 'm' || s[0] == 'h' || s[0] == 'd')) {
      unit_ms = s[0] == 's' ? 1000 : s[0] == 'm' ? 60'000 : s[0] == 'h' ? 3'600'000 : 86'400'000;
      s.remove_prefix(1);
    } else {
      return false;
    }
    total_ms += *n * unit_ms;
  }
  *out = Duration(total_ms);
  return true;
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [unit_ms, suffix] : kUnits) {
    if (ms >= unit_ms) {
      out += std::to_string(ms / unit_ms) + suffix;
      ms %= unit_ms;
    }
  }
  return out;
}

}  // namespace lookout
