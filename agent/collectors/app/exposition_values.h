#pragma once
// The exposition formats' name characters and numbers, shared by the full parser
// (exposition_parser.cc) and the steady-shape path (steady_shape.cc), so both read a sample's
// name end and value by the same rules.
//
// Source: Prometheus 2.42 model/textparse (promlex.l, openmetricslex.l, parseFloat).
// Pure functions; thread-safe.

#include <string_view>

namespace lookout::app::detail {

// [a-zA-Z_:] and [a-zA-Z0-9_:], as the lexers define a metric name.
inline bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

// Prometheus's parseFloat: Go's strconv.ParseFloat(s, 64) with 'p', 'P' and '_' refused. So:
// [+-]decimal with an optional exponent; [+-]inf / infinity and nan in any case (no sign on
// nan); out of range (1e400) is an error (false), underflow (1e-400) is 0; no hex, no nan(...).
bool ParseGoFloat(std::string_view s, double& out);

// A value that a histogram's cumulative count (uint64) holds and renders back unchanged.
bool IsCount(double v);

}  // namespace lookout::app::detail
