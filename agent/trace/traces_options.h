#pragma once
// Traces (`traces:` in the config): received on the OTLP listeners, enriched, turned into span
// metrics, forwarded to Jaeger. The options and their table. String fields of `export` and
// `resource_attributes` values may hold ${VAR} (expanded at start).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"

namespace lookout {

// Values come from the option table's defaults; these members have none of their own.
struct TracesOptions {
  bool enabled = false;
  bool kubernetes_attributes = false;  // k8s.* from the pod index (needs kubernetes metadata)
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // static, never overwrite
  double sampling_ratio = 1;
  std::chrono::seconds retry_after{};  // told to senders when the queue is full
  struct SpanMetrics {
    bool enabled = false;
    std::vector<std::string> dimensions;
    bool seconds = false;  // unit: ms (connector default) or s
    std::vector<double> buckets;
    size_t max_series = 0;
    Duration series_expiry{};
    bool exemplars = false;
  } span_metrics;
  struct Export {
    bool enabled = false;
    enum class Protocol { kGrpc, kHttp };
    Protocol protocol = Protocol::kGrpc;
    std::string endpoint;
    std::vector<std::pair<std::string, std::string>> headers;
    bool gzip = false;  // compression: gzip | none
    Duration timeout{};
    bool tls = false;  // grpc only; http uses the URL's scheme
    std::string ca_file, cert_file, key_file;
    bool insecure_skip_verify = false;  // http only
    uint64_t max_batch_spans = 0;
    size_t max_batch_bytes = 0;
    Duration batch_timeout{};
    Duration initial_backoff{}, max_backoff{}, max_elapsed{};
  } exporter;
  struct Queue {
    size_t memory_max_bytes = 0;
    bool disk_enabled = false;
    std::string disk_directory;
    size_t disk_max_bytes = 0;
    size_t disk_segment_bytes = 0;
    enum class Fsync { kNever, kInterval, kAlways };
    Fsync disk_fsync = Fsync::kInterval;
    Duration disk_fsync_interval{};
    double fair_share_threshold = 0;  // fair_share.h
    size_t max_source_labels = 0;
  } queue;
  Duration shutdown_timeout{};  // the exporter's drain on SIGTERM
};

const OptionTable<TracesOptions>& TracesOptionTable();

}  // namespace lookout
