#include "agent/common/number_format.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace lookout {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendDouble(std::string& out, double v, bool om_canonical) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Integral values (the common case: counters of events and bytes) print as integers; 2^53 is
  // where doubles stop representing every integer.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    if (v == 0 && std::signbit(v)) out += '-';  // -0 is a value of its own for Prometheus
    AppendInt(out, static_cast<int64_t>(v));
    if (om_canonical) out += ".0";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendBoundLabel(std::string& out, double v, bool om_canonical) {
  if (std::isnan(v) || std::isinf(v)) return AppendDouble(out, v);
  // Shortest round-trip digits in scientific form ("-1.2345e-07"), then laid out as Go does.
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e = sci.find('e');
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exp);
  const bool neg = sci[0] == '-';
  std::string digits;  // significant digits, no sign or point
  for (char c : sci.substr(neg, e - neg)) {
    if (c != '.') digits += c;
  }
  if (neg) out += '-';
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';  // Go writes at least two exponent digits
    AppendInt(out, a);
    return;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
    return;
  }
  const size_t int_digits = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    if (om_canonical) out += ".0";
  } else {
    out.append(digits, 0, int_digits);
    out += '.';
    out.append(digits, int_digits);
  }
}

}  // namespace lookout
