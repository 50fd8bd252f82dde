#include "exporters/prometheus/openmetrics_encoder.h"

#include <cmath>

#include "exporters/prometheus/encode_util.h"

namespace lookout::prometheus {
namespace {

using detail::AppendDouble;
using detail::AppendLabels;

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kUntyped:
      break;
  }
  return "unknown";
}

// The OpenMetrics family name: counters and infos drop the suffix their samples carry.
std::string_view FamilyName(const MetricFamily& f) {
  std::string_view n = f.name;
  if (f.type == MetricType::kCounter && n.ends_with("_total")) n.remove_suffix(6);
  if (f.type == MetricType::kInfo && n.ends_with("_info")) n.remove_suffix(5);
  return n;
}

// Seconds that Prometheus reads back as the same milliseconds: it computes int64(seconds *
// 1000), truncating, so ms / 1000.0 can come back one millisecond short (1700000000.123 *
// 1000 = 1700000000122.99...). The next doubles up are tried until the product is right.
void AppendTimestamp(std::string& out, const Sample& s) {
  if (!s.timestamp_ms) return;
  out += ' ';
  const int64_t ms = *s.timestamp_ms;
  double seconds = static_cast<double>(ms) / 1000.0;
  for (int i = 0; i < 4 && static_cast<int64_t>(seconds * 1000.0) != ms; ++i) {
    seconds = std::nextafter(seconds, ms > 0 ? HUGE_VAL : -HUGE_VAL);
  }
  AppendDouble(out, seconds);
}

void AppendExemplar(std::string& out, const std::optional<Exemplar>& e) {
  if (!e) return;
  out += " # ";
  if (e->labels.empty()) {
    out += "{}";
  } else {
    AppendLabels(out, e->labels);
  }
  out += ' ';
  AppendDouble(out, e->value);
  if (e->timestamp) {
    out += ' ';
    AppendDouble(out, *e->timestamp);
  }
}

void AppendLine(std::string& out, std::string_view family, std::string_view suffix, const Sample& s,
                double value, const std::optional<Exemplar>& exemplar = {},
                std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += family;
  out += suffix;
  AppendLabels(out, s.labels, extra_name, extra_value);
  out += ' ';
  AppendDouble(out, value);
  AppendTimestamp(out, s);
  AppendExemplar(out, exemplar);
  out += '\n';
}

void AppendCreated(std::string& out, std::string_view family, const Sample& s) {
  if (!s.created) return;
  out += family;
  out += "_created";
  AppendLabels(out, s.labels);
  out += ' ';
  AppendDouble(out, *s.created);
  AppendTimestamp(out, s);
  out += '\n';
}

}  // namespace

namespace {

// How a family is named and typed in OpenMetrics. A counter sample cannot be named without
// _total (nor an info without _info): a text-format counter such as `foo` (scraped from an app)
// keeps its series name, as unknown.
struct OmShape {
  std::string_view name;
  MetricType type;
  bool renamed;  // kept its series name as unknown: no UNIT line either
};
OmShape ShapeOf(const MetricFamily& f) {
  const bool keep_name = (f.type == MetricType::kCounter && !f.name.ends_with("_total")) ||
                         (f.type == MetricType::kInfo && !f.name.ends_with("_info"));
  if (keep_name) return {f.name, MetricType::kUntyped, true};
  return {FamilyName(f), f.type, false};
}

}  // namespace

void EncodeOpenMetricsHeader(const MetricFamily& f, std::string& out) {
  const auto [name, type, renamed] = ShapeOf(f);
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
  if (!renamed && !f.unit.empty() && name.size() > f.unit.size() && name.ends_with(f.unit) &&
      name[name.size() - f.unit.size() - 1] == '_') {
    out += "# UNIT ";
    out += name;
    out += ' ';
    out += f.unit;
    out += '\n';
  }
  if (!f.help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    detail::AppendHelp(out, f.help, /*escape_quote=*/true);
    out += '\n';
  }
}

void EncodeOpenMetricsSamples(const MetricFamily& f, const std::vector<Sample>& samples,
                              std::string& out) {
  const auto [name, type, renamed] = ShapeOf(f);
  std::string bound;
  for (const auto& s : samples) {
    switch (type) {
      case MetricType::kCounter:
        AppendLine(out, name, "_total", s, s.value, s.exemplar);
        AppendCreated(out, name, s);
        break;
      case MetricType::kInfo:
        AppendLine(out, name, "_info", s, 1);
        break;
      case MetricType::kHistogram:
        for (const auto& b : s.buckets) {
          bound.clear();
          if (b.le.empty()) detail::AppendBoundLabel(bound, b.upper_bound, /*om_canonical=*/true);
          AppendLine(out, name, "_bucket", s, static_cast<double>(b.cumulative_count), b.exemplar,
                     "le", b.le.empty() ? std::string_view(bound) : std::string_view(b.le));
        }
        AppendLine(out, name, "_count", s, static_cast<double>(s.count));
        AppendLine(out, name, "_sum", s, s.sum);
        AppendCreated(out, name, s);
        break;
      case MetricType::kSummary:
        for (const auto& q : s.quantiles) {
          bound.clear();
          if (q.text.empty()) detail::AppendBoundLabel(bound, q.quantile, /*om_canonical=*/true);
          AppendLine(out, name, "", s, q.value, {}, "quantile",
                     q.text.empty() ? std::string_view(bound) : std::string_view(q.text));
        }
        AppendLine(out, name, "_count", s, static_cast<double>(s.count));
        AppendLine(out, name, "_sum", s, s.sum);
        AppendCreated(out, name, s);
        break;
      default:
        AppendLine(out, name, "", s, s.value);
    }
  }
}

void EncodeOpenMetrics(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& f : families) {
    if (f.samples.empty()) continue;
    EncodeOpenMetricsHeader(f, out);
    EncodeOpenMetricsSamples(f, f.samples, out);
  }
  out += "# EOF\n";
}

}  // namespace lookout::prometheus
