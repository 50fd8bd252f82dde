#include "exporters/prometheus/format.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace lookout::prometheus {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Calls fn(token, q) for each comma-separated element "token;param=..;q=0.5".
template <typename Fn>
void ForEachElement(std::string_view header, Fn fn) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view elem = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const size_t semi = elem.find(';');
    std::string_view token = Trim(elem.substr(0, semi));
    double q = 1.0;
    std::string_view params = semi == std::string_view::npos ? "" : elem.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      std::string_view p = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
        std::string v(p.substr(2));
        char* end = nullptr;
        q = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || !(q >= 0) || q > 1) q = 0;
      }
    }
    if (!token.empty()) fn(token, q);
  }
}

}  // namespace

Format NegotiateFormat(std::string_view accept) {
  double best_om = -1, best_text = -1;
  ForEachElement(accept, [&](std::string_view token, double q) {
    if (IEquals(token, "application/openmetrics-text")) {
      if (q > best_om) best_om = q;
    } else if (IEquals(token, "text/plain") || IEquals(token, "text/*") || token == "*/*") {
      if (q > best_text) best_text = q;
    }
  });
  return best_om > 0 && best_om >= best_text ? Format::kOpenMetrics100 : Format::kText004;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  double explicit_q = -1, star_q = -1;  // an explicit "gzip;q=0" beats "*"
  ForEachElement(accept_encoding, [&](std::string_view token, double q) {
    if (IEquals(token, "gzip") || IEquals(token, "x-gzip")) {
      explicit_q = std::max(explicit_q, q);
    } else if (token == "*") {
      star_q = std::max(star_q, q);
    }
  });
  return explicit_q >= 0 ? explicit_q > 0 : star_q > 0;
}

std::string_view ContentType(Format f) {
  return f == Format::kOpenMetrics100 ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                      : "text/plain; version=0.0.4; charset=utf-8";
}

}  // namespace lookout::prometheus
