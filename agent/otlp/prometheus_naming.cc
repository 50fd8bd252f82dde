#include "agent/otlp/prometheus_naming.h"

#include <algorithm>
#include <vector>

namespace lookout::otlp {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view MainUnit(std::string_view u) {
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"d", "days"},
      {"h", "hours"},
      {"min", "minutes"},
      {"s", "seconds"},
      {"ms", "milliseconds"},
      {"us", "microseconds"},
      {"ns", "nanoseconds"},
      {"By", "bytes"},
      {"KiBy", "kibibytes"},
      {"MiBy", "mebibytes"},
      {"GiBy", "gibibytes"},
      {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},
      {"MBy", "megabytes"},
      {"GBy", "gigabytes"},
      {"TBy", "terabytes"},
      {"m", "meters"},
      {"V", "volts"},
      {"A", "amperes"},
      {"J", "joules"},
      {"W", "watts"},
      {"g", "grams"},
      {"Cel", "celsius"},
      {"Hz", "hertz"},
      {"1", ""},
      {"%", "percent"},
  };
  for (const auto& [k, v] : kUnits)
    if (k == u) return v;
  return {};
}

std::string_view PerUnit(std::string_view u) {
  static constexpr std::pair<std::string_view, std::string_view> kPer[] = {
      {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
      {"w", "week"},   {"mo", "month"}, {"y", "year"},
  };
  for (const auto& [k, v] : kPer)
    if (k == u) return v;
  return {};
}

// A unit not in the tables: only its alphanumerics survive.
std::string Sanitized(std::string_view u) {
  std::string out;
  for (char c : u)
    if (IsAlnum(c)) out += c;
  return out;
}

std::vector<std::string> Tokens(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : name) {
    if (IsAlnum(c)) {
      cur += c;
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

// Built by appending: GCC 12 reports a false -Wrestrict on `"key_" + out` here.
std::string Prefixed(std::string_view prefix, const std::string& s) {
  std::string r;
  r.reserve(prefix.size() + s.size());
  r.append(prefix);
  r.append(s);
  return r;
}

}  // namespace

std::string PrometheusMetricName(std::string_view name, std::string_view unit,
                                 InstrumentKind kind) {
  std::vector<std::string> tokens = Tokens(name);
  // Annotations in braces ({request}, {packets}) are not units.
  std::string u;
  for (size_t i = 0; i < unit.size(); ++i) {
    if (unit[i] == '{') {
      const size_t close = unit.find('}', i);
      if (close == std::string_view::npos) break;
      i = close;
      continue;
    }
    u += unit[i];
  }
  while (!u.empty() && u.back() == ' ') u.pop_back();
  while (!u.empty() && u.front() == ' ') u.erase(0, 1);
  if (!u.empty()) {
    const size_t slash = u.find('/');
    const std::string main = u.substr(0, slash);
    const std::string per = slash == std::string::npos ? "" : u.substr(slash + 1);
    std::string main_name(MainUnit(main));
    if (main_name.empty() && main != "1") main_name = Sanitized(main);
    if (!main_name.empty() && !Contains(tokens, main_name)) tokens.push_back(main_name);
    if (!per.empty()) {
      std::string per_name(PerUnit(per));
      if (per_name.empty()) per_name = Sanitized(per);
      if (!per_name.empty() && !Contains(tokens, per_name)) {
        tokens.push_back("per");
        tokens.push_back(per_name);
      }
    }
  }
  if (kind == InstrumentKind::kMonotonicSum) {
    std::erase(tokens, "total");
    tokens.push_back("total");
  }
  if (u == "1" && kind == InstrumentKind::kGauge) {
    std::erase(tokens, "ratio");
    tokens.push_back("ratio");
  }
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += '_';
    out += t;
  }
  if (out.empty()) return "_";
  if (out[0] >= '0' && out[0] <= '9') return Prefixed("_", out);
  return out;
}

std::string PrometheusLabelName(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  for (char c : key) out += (IsAlnum(c) || c == '_') ? c : '_';
  if (out.empty()) return "key_";
  if (out[0] >= '0' && out[0] <= '9') return Prefixed("key_", out);
  if (out[0] == '_') return Prefixed("key", out);
  return out;
}

}  // namespace lookout::otlp
