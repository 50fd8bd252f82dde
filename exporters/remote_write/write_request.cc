#include "exporters/remote_write/write_request.h"

#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "agent/common/number_format.h"
#include "prometheus/remote.pb.h"

namespace lookout::remote_write {
namespace {

// Sorted by name. Most series arrive nearly sorted (the exposition's order plus __name__ and
// le / quantile), so an insertion sort moves few labels; swapping Labels swaps string buffers.
void SortLabels(Labels& l) {
  for (size_t i = 1; i < l.size(); ++i) {
    for (size_t j = i; j > 0 && l[j].name < l[j - 1].name; --j) std::swap(l[j], l[j - 1]);
  }
}

// Sets w's labels to the sample's (empty values left out), `extra` (le / quantile) when given,
// and __name__, reusing the strings w already holds.
void Fill(WriteSeries& w, const std::string& name, std::string_view suffix, const Sample& s,
          double value, int64_t now_ms, std::string_view extra_name = {},
          std::string_view extra_value = {}) {
  size_t n = 0;
  auto next = [&]() -> Label& {
    if (n == w.labels.size()) w.labels.emplace_back();
    return w.labels[n++];
  };
  Label& name_label = next();
  name_label.name = "__name__";
  name_label.value.assign(name).append(suffix);
  for (const auto& l : s.labels) {
    if (l.value.empty()) continue;
    Label& x = next();
    x.name = l.name;
    x.value = l.value;
  }
  if (!extra_name.empty()) {
    Label& x = next();
    x.name = extra_name;
    x.value = extra_value;
  }
  w.labels.resize(n);
  SortLabels(w.labels);
  w.value = value;
  w.timestamp_ms = s.timestamp_ms.value_or(now_ms);
  w.exemplar.reset();
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

void ForEachSeries(const MetricFamily& f, int64_t now_ms, WriteSeries& w,
                   const std::function<void(WriteSeries&)>& fn) {
  std::string bound;
  for (const Sample& s : f.samples) {
    switch (f.type) {
      case MetricType::kHistogram:
        for (const Bucket& b : s.buckets) {
          bound.clear();
          if (b.le.empty()) AppendBoundLabel(bound, b.upper_bound);
          Fill(w, f.name, "_bucket", s, static_cast<double>(b.cumulative_count), now_ms, "le",
               b.le.empty() ? bound : b.le);
          w.exemplar = b.exemplar;
          fn(w);
        }
        Fill(w, f.name, "_sum", s, s.sum, now_ms);
        fn(w);
        Fill(w, f.name, "_count", s, static_cast<double>(s.count), now_ms);
        fn(w);
        break;
      case MetricType::kSummary:
        for (const Quantile& q : s.quantiles) {
          bound.clear();
          if (q.text.empty()) AppendBoundLabel(bound, q.quantile);
          Fill(w, f.name, "", s, q.value, now_ms, "quantile", q.text.empty() ? bound : q.text);
          fn(w);
        }
        Fill(w, f.name, "_sum", s, s.sum, now_ms);
        fn(w);
        Fill(w, f.name, "_count", s, static_cast<double>(s.count), now_ms);
        fn(w);
        break;
      default:
        Fill(w, f.name, "", s, s.value, now_ms);
        if (f.type == MetricType::kCounter) w.exemplar = s.exemplar;
        fn(w);
    }
  }
}

void AppendSeries(const MetricFamily& f, int64_t now_ms, std::vector<WriteSeries>& out) {
  WriteSeries scratch;
  ForEachSeries(f, now_ms, scratch, [&](WriteSeries& w) { out.push_back(w); });
}

namespace {

// Wire types (protobuf encoding): varint, 64-bit, length-delimited.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLen = 2;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void PutTag(std::string& out, uint32_t field, uint32_t wire) { PutVarint(out, field << 3 | wire); }
size_t StringFieldSize(size_t len) { return 1 + VarintSize(len) + len; }
void PutString(std::string& out, uint32_t field, std::string_view v) {
  PutTag(out, field, kLen);
  PutVarint(out, v.size());
  out.append(v);
}
void PutDouble(std::string& out, uint32_t field, double v) {
  PutTag(out, field, kFixed64);
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian, as the wire format is (x86-64, arm64)
  out.append(b, 8);
}
void PutInt64(std::string& out, uint32_t field, int64_t v) {
  PutTag(out, field, kVarint);
  PutVarint(out, static_cast<uint64_t>(v));  // int64: two's complement, 10 bytes if negative
}
size_t LabelSize(const Label& l) {
  return StringFieldSize(l.name.size()) + StringFieldSize(l.value.size());
}
size_t LabelsSize(const Labels& labels) {
  size_t n = 0;
  for (const auto& l : labels) {
    const size_t inner = LabelSize(l);
    n += 1 + VarintSize(inner) + inner;
  }
  return n;
}
void PutLabels(std::string& out, const Labels& labels) {
  for (const auto& l : labels) {
    PutTag(out, 1, kLen);
    PutVarint(out, LabelSize(l));
    PutString(out, 1, l.name);
    PutString(out, 2, l.value);
  }
}
// A Sample or an Exemplar's value and timestamp: tag + 8 bytes, tag + varint.
size_t ValueAndTimeSize(int64_t ts) { return 1 + 8 + 1 + VarintSize(static_cast<uint64_t>(ts)); }

}  // namespace

void AppendTimeSeries(const WriteSeries& w, bool send_exemplars, std::string& out) {
  size_t size = LabelsSize(w.labels);
  const size_t sample = ValueAndTimeSize(w.timestamp_ms);
  size += 1 + VarintSize(sample) + sample;
  size_t exemplar = 0;
  int64_t exemplar_ts = 0;
  const bool with_exemplar = send_exemplars && w.exemplar;
  if (with_exemplar) {
    // An exemplar without its own time is taken at the sample's (Prometheus does the same).
    exemplar_ts = w.exemplar->timestamp ? Millis(*w.exemplar->timestamp) : w.timestamp_ms;
    exemplar = LabelsSize(w.exemplar->labels) + ValueAndTimeSize(exemplar_ts);
    size += 1 + VarintSize(exemplar) + exemplar;
  }
  PutTag(out, 1, kLen);  // WriteRequest.timeseries
  PutVarint(out, size);
  PutLabels(out, w.labels);
  PutTag(out, 2, kLen);  // TimeSeries.samples
  PutVarint(out, sample);
  PutDouble(out, 1, w.value);
  PutInt64(out, 2, w.timestamp_ms);
  if (with_exemplar) {
    PutTag(out, 3, kLen);  // TimeSeries.exemplars
    PutVarint(out, exemplar);
    PutLabels(out, w.exemplar->labels);
    PutDouble(out, 2, w.exemplar->value);
    PutInt64(out, 3, exemplar_ts);
  }
}

void AppendMetadata(const MetricFamily& f, std::string& out) {
  const auto type = static_cast<uint64_t>(MetadataType(f.type));
  const size_t size = 1 + VarintSize(type) + StringFieldSize(f.name.size()) +
                      StringFieldSize(f.help.size()) + StringFieldSize(f.unit.size());
  PutTag(out, 3, kLen);  // WriteRequest.metadata
  PutVarint(out, size);
  PutTag(out, 1, kVarint);
  PutVarint(out, type);
  PutString(out, 2, f.name);
  PutString(out, 4, f.help);
  PutString(out, 5, f.unit);
}

std::string SerializeWriteRequest(const std::vector<WriteSeries>& series, size_t begin, size_t end,
                                  const std::vector<MetricFamily>* metadata, bool send_exemplars) {
  std::string out;
  for (size_t i = begin; i < end; ++i) AppendTimeSeries(series[i], send_exemplars, out);
  if (metadata != nullptr) {
    for (const MetricFamily& f : *metadata) AppendMetadata(f, out);
  }
  return out;
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
