#include "exporters/remote_write/write_request.h"

#include <snappy.h>

#include <algorithm>
#include <cmath>

#include "agent/common/number_format.h"
#include "prometheus/remote.pb.h"

namespace lookout::remote_write {
namespace {

void SortLabels(Labels& l) {
  std::sort(l.begin(), l.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
}

// One series: the sample's labels, `extra` (le / quantile) when given, and __name__.
WriteSeries& Add(std::vector<WriteSeries>& out, const std::string& name, std::string_view suffix,
                 const Sample& s, double value, int64_t now_ms, std::string_view extra_name = {},
                 std::string_view extra_value = {}) {
  WriteSeries& w = out.emplace_back();
  w.labels.reserve(s.labels.size() + 2);
  w.labels.push_back(Label{"__name__", name + std::string(suffix)});
  for (const auto& l : s.labels) {
    if (!l.value.empty()) w.labels.push_back(l);
  }
  if (!extra_name.empty())
    w.labels.push_back(Label{std::string(extra_name), std::string(extra_value)});
  SortLabels(w.labels);
  w.value = value;
  w.timestamp_ms = s.timestamp_ms.value_or(now_ms);
  return w;
}

::prometheus::MetricMetadata::MetricType MetadataType(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return ::prometheus::MetricMetadata::COUNTER;
    case MetricType::kGauge:
    case MetricType::kInfo:  // the text exposition says gauge
      return ::prometheus::MetricMetadata::GAUGE;
    case MetricType::kHistogram:
      return ::prometheus::MetricMetadata::HISTOGRAM;
    case MetricType::kSummary:
      return ::prometheus::MetricMetadata::SUMMARY;
    case MetricType::kUntyped:
      break;
  }
  return ::prometheus::MetricMetadata::UNKNOWN;
}

int64_t Millis(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000)); }

}  // namespace

void AppendSeries(const MetricFamily& f, int64_t now_ms, std::vector<WriteSeries>& out) {
  std::string bound;
  for (const Sample& s : f.samples) {
    switch (f.type) {
      case MetricType::kHistogram:
        for (const Bucket& b : s.buckets) {
          bound.clear();
          if (b.le.empty()) AppendBoundLabel(bound, b.upper_bound);
          WriteSeries& w = Add(out, f.name, "_bucket", s, static_cast<double>(b.cumulative_count),
                               now_ms, "le", b.le.empty() ? bound : b.le);
          w.exemplar = b.exemplar;
        }
        Add(out, f.name, "_sum", s, s.sum, now_ms);
        Add(out, f.name, "_count", s, static_cast<double>(s.count), now_ms);
        break;
      case MetricType::kSummary:
        for (const Quantile& q : s.quantiles) {
          bound.clear();
          if (q.text.empty()) AppendBoundLabel(bound, q.quantile);
          Add(out, f.name, "", s, q.value, now_ms, "quantile", q.text.empty() ? bound : q.text);
        }
        Add(out, f.name, "_sum", s, s.sum, now_ms);
        Add(out, f.name, "_count", s, static_cast<double>(s.count), now_ms);
        break;
      default: {
        WriteSeries& w = Add(out, f.name, "", s, s.value, now_ms);
        if (f.type == MetricType::kCounter) w.exemplar = s.exemplar;
      }
    }
  }
}

std::string SerializeWriteRequest(const std::vector<WriteSeries>& series, size_t begin, size_t end,
                                  const std::vector<MetricFamily>* metadata, bool send_exemplars) {
  ::prometheus::WriteRequest req;
  req.mutable_timeseries()->Reserve(static_cast<int>(end - begin));
  for (size_t i = begin; i < end; ++i) {
    const WriteSeries& w = series[i];
    ::prometheus::TimeSeries* ts = req.add_timeseries();
    for (const auto& l : w.labels) {
      ::prometheus::Label* pl = ts->add_labels();
      pl->set_name(l.name);
      pl->set_value(l.value);
    }
    ::prometheus::Sample* sample = ts->add_samples();
    sample->set_value(w.value);
    sample->set_timestamp(w.timestamp_ms);
    if (send_exemplars && w.exemplar) {
      ::prometheus::Exemplar* e = ts->add_exemplars();
      for (const auto& l : w.exemplar->labels) {
        ::prometheus::Label* pl = e->add_labels();
        pl->set_name(l.name);
        pl->set_value(l.value);
      }
      e->set_value(w.exemplar->value);
      // An exemplar without its own time is taken at the sample's (Prometheus does the same).
      e->set_timestamp(w.exemplar->timestamp ? Millis(*w.exemplar->timestamp) : w.timestamp_ms);
    }
  }
  if (metadata != nullptr) {
    for (const MetricFamily& f : *metadata) {
      ::prometheus::MetricMetadata* m = req.add_metadata();
      m->set_type(MetadataType(f.type));
      m->set_metric_family_name(f.name);
      m->set_help(f.help);
      m->set_unit(f.unit);
    }
  }
  return req.SerializeAsString();
}

std::string CompressBody(std::string_view serialized) {
  std::string out;
  snappy::Compress(serialized.data(), serialized.size(), &out);
  return out;
}

std::string EncodeWriteRequest(const std::vector<WriteSeries>& series, size_t begin, size_t end,
                               const std::vector<MetricFamily>* metadata, bool send_exemplars) {
  return CompressBody(SerializeWriteRequest(series, begin, end, metadata, send_exemplars));
}

std::optional<DecodedWriteRequest> DecodeWriteRequest(const std::string& body) {
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) return std::nullopt;
  ::prometheus::WriteRequest req;
  if (!req.ParseFromString(raw)) return std::nullopt;
  DecodedWriteRequest out;
  for (const auto& ts : req.timeseries()) {
    for (const auto& s : ts.samples()) {
      WriteSeries& w = out.series.emplace_back();
      for (const auto& l : ts.labels()) w.labels.push_back(Label{l.name(), l.value()});
      w.value = s.value();
      w.timestamp_ms = s.timestamp();
      if (!ts.exemplars().empty()) {
        Exemplar e;
        for (const auto& l : ts.exemplars(0).labels()) {
          e.labels.push_back(Label{l.name(), l.value()});
        }
        e.value = ts.exemplars(0).value();
        e.timestamp = static_cast<double>(ts.exemplars(0).timestamp()) / 1000;
        w.exemplar = std::move(e);
      }
    }
  }
  for (const auto& m : req.metadata()) {
    MetricFamily& f = out.metadata.emplace_back();
    f.name = m.metric_family_name();
    f.help = m.help();
    f.unit = m.unit();
    switch (m.type()) {
      case ::prometheus::MetricMetadata::COUNTER:
        f.type = MetricType::kCounter;
        break;
      case ::prometheus::MetricMetadata::GAUGE:
        f.type = MetricType::kGauge;
        break;
      case ::prometheus::MetricMetadata::HISTOGRAM:
        f.type = MetricType::kHistogram;
        break;
      case ::prometheus::MetricMetadata::SUMMARY:
        f.type = MetricType::kSummary;
        break;
      default:
        f.type = MetricType::kUntyped;
    }
  }
  return out;
}

}  // namespace lookout::remote_write
