#include "agent/collectors/app/exposition_values.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace lookout::app::detail {

namespace {

bool EqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

}  // namespace

bool ParseGoFloat(std::string_view s, double& out) {
  if (s.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  const std::string_view r = s.substr(i);
  if (r.empty()) return false;
  if ((r[0] | 0x20) == 'i') {
    if (!EqualsIgnoreCase(r, "inf") && !EqualsIgnoreCase(r, "infinity")) return false;
    out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if ((r[0] | 0x20) == 'n') {
    if (i != 0 || !EqualsIgnoreCase(r, "nan")) return false;
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // from_chars also reads "inf", "nan(x)" and a sign we have already taken: only decimal
  // characters go to it.
  for (char c : r) {
    if (!IsDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return false;
  }
  if (r[0] == '+' || r[0] == '-') return false;
  const auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), out);
  if (p != r.data() + r.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error in Go; underflow gives 0 or a subnormal, as strtod does.
    const std::string copy(r);
    const double v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return false;
    out = v;
  } else if (ec != std::errc()) {
    return false;
  }
  if (neg) out = -out;
  return true;
}

bool IsCount(double v) {
  return v >= 0 && v <= 9007199254740992.0 && v == std::trunc(v) && !std::signbit(v);
}

}  // namespace lookout::app::detail
