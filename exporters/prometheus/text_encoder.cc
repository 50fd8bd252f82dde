#include "exporters/prometheus/text_encoder.h"

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
    case MetricType::kInfo:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

void AppendSampleLine(std::string& out, std::string_view name, std::string_view suffix,
                      const Labels& labels, double value, const Sample& s,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  AppendLabels(out, labels, extra_name, extra_value);
  out += ' ';
  AppendDouble(out, value);
  if (s.timestamp_ms) {
    out += ' ';
    detail::AppendInt(out, *s.timestamp_ms);
  }
  out += '\n';
}

}  // namespace

void EncodeTextHeader(const MetricFamily& f, std::string& out) {
  if (!f.help.empty()) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    detail::AppendHelp(out, f.help, /*escape_quote=*/false);
    out += '\n';
  }
  out += "# TYPE ";
  out += f.name;
  out += ' ';
  out += TypeName(f.type);
  out += '\n';
}

void EncodeTextSamples(const MetricFamily& f, const std::vector<Sample>& samples,
                       std::string& out) {
  std::string bound;
  for (const auto& s : samples) {
    switch (f.type) {
      case MetricType::kHistogram:
        for (const auto& b : s.buckets) {
          bound.clear();
          if (b.le.empty()) detail::AppendBoundLabel(bound, b.upper_bound);
          AppendSampleLine(out, f.name, "_bucket", s.labels,
                           static_cast<double>(b.cumulative_count), s, "le",
                           b.le.empty() ? std::string_view(bound) : std::string_view(b.le));
        }
        AppendSampleLine(out, f.name, "_sum", s.labels, s.sum, s);
        AppendSampleLine(out, f.name, "_count", s.labels, static_cast<double>(s.count), s);
        break;
      case MetricType::kSummary:
        for (const auto& q : s.quantiles) {
          bound.clear();
          if (q.text.empty()) detail::AppendBoundLabel(bound, q.quantile);
          AppendSampleLine(out, f.name, "", s.labels, q.value, s, "quantile",
                           q.text.empty() ? std::string_view(bound) : std::string_view(q.text));
        }
        AppendSampleLine(out, f.name, "_sum", s.labels, s.sum, s);
        AppendSampleLine(out, f.name, "_count", s.labels, static_cast<double>(s.count), s);
        break;
      default:
        AppendSampleLine(out, f.name, "", s.labels, s.value, s);
    }
  }
}

void EncodeText(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& f : families) {
    if (f.samples.empty()) continue;
    EncodeTextHeader(f, out);
    EncodeTextSamples(f, f.samples, out);
  }
}

}  // namespace lookout::prometheus
