#pragma once
// Prometheus remote write 1.0 bodies (https://prometheus.io/docs/specs/remote_write_spec/):
// the metrics model's families as the series Prometheus would store from lookout's text
// exposition, and those series as a snappy-compressed protobuf WriteRequest.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout::remote_write {

// One series and its sample. `labels` are sorted by name, unique, `__name__` included, no empty
// value (what the specification requires of a sender).
struct WriteSeries {
  Labels labels;
  double value = 0;
  int64_t timestamp_ms = 0;
  std::optional<Exemplar> exemplar;
};

// The series of `f`, named as the text exposition writes its lines (a counter keeps its
// `_total`; a histogram's `_bucket` with `le` as written, `_sum`, `_count`; a summary's
// quantiles, `_sum`, `_count`), handed one at a time to `fn` in `scratch`, which is reused (its
// strings keep their capacity: the writer's hot path allocates almost nothing per series). A
// sample's own timestamp is kept; the others get `now_ms`. Exemplars ride on the series the
// OpenMetrics exposition puts them on (a counter's, a bucket's). `fn` may change the labels.
void ForEachSeries(const MetricFamily& f, int64_t now_ms, WriteSeries& scratch,
                   const std::function<void(WriteSeries&)>& fn);
// The same, appended to `out`.
void AppendSeries(const MetricFamily& f, int64_t now_ms, std::vector<WriteSeries>& out);

// Protobuf wire encoding, written directly: one WriteRequest.timeseries entry for `w` (its
// exemplar only when `send_exemplars`), and one WriteRequest.metadata entry for `f`'s name,
// type, help and unit, appended to `out`. Concatenated entries are a serialized WriteRequest,
// and two serialized requests concatenated are one holding both. (Building the generated
// message objects cost a heap allocation per label; the tests parse what this writes with the
// protobuf library.)
void AppendTimeSeries(const WriteSeries& w, bool send_exemplars, std::string& out);
void AppendMetadata(const MetricFamily& f, std::string& out);

// A WriteRequest with series[begin, end) (and one MetricMetadata per family in `metadata`, when
// not null), serialized, not compressed. `send_exemplars` false leaves exemplars out.
std::string SerializeWriteRequest(const std::vector<WriteSeries>& series, size_t begin, size_t end,
                                  const std::vector<MetricFamily>* metadata, bool send_exemplars);
// A serialized request compressed with snappy's block format: the body the spec sends.
std::string CompressBody(std::string_view serialized);
// Both: the body for series[begin, end).
std::string EncodeWriteRequest(const std::vector<WriteSeries>& series, size_t begin, size_t end,
                               const std::vector<MetricFamily>* metadata, bool send_exemplars);

// The body decoded back (tests): nullopt when it is no snappy block or no WriteRequest.
struct DecodedWriteRequest {
  std::vector<WriteSeries> series;
  std::vector<MetricFamily> metadata;  // name, help, type, unit; no samples
};
std::optional<DecodedWriteRequest> DecodeWriteRequest(const std::string& body);

}  // namespace lookout::remote_write
