#include "agent/trace/traces_options.h"

#include <cmath>

#include "agent/common/file_util.h"

namespace lookout {
namespace {

using O = TracesOptions;

OptionTable<O::SpanMetrics> SpanMetricsTable() {
  using S = O::SpanMetrics;
  return OptionTable<S>{{
      option::Bool<S>("enabled", &S::enabled, "true", "RED metrics from spans (see Traces below)"),
      option::StrList<S>("dimensions", &S::dimensions, "[]",
                         "extra labels from span attributes, else resource attributes as "
                         "forwarded, lookout's own included (`http.method` → label "
                         "`http_method`, `k8s.pod.name` → `k8s_pod_name`); missing = label "
                         "absent. `deploy/` sets `[k8s.namespace.name, k8s.pod.name]`"),
      option::Custom<S>("unit", "ms", "ms | s",
                        "duration unit: `ms` (`traces_span_metrics_duration_milliseconds`, the "
                        "connector's default) or `s` (`_seconds`)",
                        [](YamlMapReader& r, std::string_view k, S& m) {
                          std::string unit = m.seconds ? "s" : "ms";
                          r.Str(k, &unit);
                          if (unit != "ms" && unit != "s") r.Fail(r.Get(k), r.Key(k), "ms or s");
                          m.seconds = unit == "s";
                        }),
      option::Custom<S>(
          "buckets",
          "[2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]",
          "increasing positive numbers", "bucket bounds, in `unit`",
          [](YamlMapReader& r, std::string_view k, S& m) {
            YAML::Node b = r.Get(k);
            if (!b.IsDefined() || b.IsNull()) return;
            if (!b.IsSequence()) r.Fail(b, r.Key(k), "a list of increasing numbers");
            m.buckets.clear();
            for (const auto& item : b) {
              const auto d = item.IsScalar() ? ParseDouble(item.Scalar()) : std::nullopt;
              if (!d || !std::isfinite(*d) || *d <= 0 ||
                  (!m.buckets.empty() && *d <= m.buckets.back())) {
                r.Fail(item, r.Key(k), "a list of increasing positive numbers");
              }
              m.buckets.push_back(*d);
            }
          }),
      option::Int<S>("max_series", &S::max_series, 1, 10'000'000, "10000",
                     "label sets held; spans of further ones are counted in one series labelled "
                     "`otel_metric_overflow=\"true\"`"),
      option::Dur<S>("series_expiry", &S::series_expiry, Duration(1000), Duration(7 * 86'400'000LL),
                     "5m", "label sets with no span for this long are removed"),
      option::Bool<S>("exemplars", &S::exemplars, "true",
                      "`trace_id`/`span_id` exemplars on duration buckets and the calls counter "
                      "(OpenMetrics)"),
  }};
}

OptionTable<O::Export> ExportTable() {
  using E = O::Export;
  return OptionTable<E>{{
      option::Bool<E>("enabled", &E::enabled, "true",
                      "forward spans; off = they queue until the queue is full"),
      option::Enum<E>("protocol", &E::protocol,
                      {{"grpc", E::Protocol::kGrpc}, {"http", E::Protocol::kHttp}}, "grpc",
                      "`grpc` (TraceService/Export) or `http` (protobuf `POST`, libcurl)"),
      option::Str<E>("endpoint", &E::endpoint, "${LOOKOUT_TRACES_ENDPOINT:-jaeger-collector:4317}",
                     "gRPC: `host:port`; HTTP: the full URL, e.g. "
                     "`http://jaeger-collector:4318/v1/traces`"),
      option::StrMap<E>("headers", &E::headers, "{}",
                        "sent with every export (gRPC metadata / HTTP headers), `${VAR}` expanded"),
      option::Enum<E>("compression", &E::gzip, {{"gzip", true}, {"none", false}}, "gzip",
                      "compression of export requests"),
      option::Dur<E>("timeout", &E::timeout, Duration(100), Duration(600'000), "10s",
                     "per export request"),
      option::Bool<E>("tls", &E::tls, "false",
                      "gRPC: TLS (system roots unless `ca_file`); HTTP uses the URL's scheme"),
      option::Str<E>("ca_file", &E::ca_file, "",
                     "CA bundle the backend's certificate must chain to"),
      option::Str<E>("cert_file", &E::cert_file, "", "client certificate (mTLS)"),
      option::Str<E>("key_file", &E::key_file, "", "client certificate's key (mTLS)"),
      option::Bool<E>("insecure_skip_verify", &E::insecure_skip_verify, "false",
                      "HTTP only: skip certificate verification"),
      option::Int<E>("max_batch_spans", &E::max_batch_spans, 1, 1'000'000, "8192",
                     "a batch is sent when it has this many spans, ..."),
      option::Int<E>("max_batch_bytes", &E::max_batch_bytes, 1024, int64_t{1} << 30, "4194304",
                     "... or this many bytes, ..."),
      option::Dur<E>("batch_timeout", &E::batch_timeout, Duration(1), Duration(60'000), "200ms",
                     "... or its oldest span waited this long"),
      option::Dur<E>("initial_backoff", &E::initial_backoff, Duration(1), Duration(3'600'000), "1s",
                     "retryable failures (HTTP 429/502/503/504 and dropped connections; gRPC "
                     "UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, ABORTED, OUT_OF_RANGE, "
                     "DATA_LOSS, and RESOURCE_EXHAUSTED with RetryInfo) back off exponentially "
                     "(×2) from this, with ±50% jitter; a `Retry-After` / `RetryInfo` from the "
                     "backend is used instead. Anything else drops the batch, counted by reason; "
                     "`partial_success` is final"),
      option::Dur<E>("max_backoff", &E::max_backoff, Duration(1), Duration(3'600'000), "30s",
                     "the longest backoff"),
      option::Dur<E>("max_elapsed", &E::max_elapsed, Duration(0), Duration(30 * 86'400'000LL), "0s",
                     "give a batch up after retrying this long (counted as "
                     "`retry_time_exhausted`); `0s` = never: the batch waits, the queue fills, "
                     "senders get 429 and keep their spans"),
  }};
}

OptionTable<O::Queue> QueueTable() {
  using Q = O::Queue;
  return OptionTable<Q>{{
      option::Int<Q>("memory_max_bytes", &Q::memory_max_bytes, 1024, int64_t{1} << 40, "33554432",
                     "the in-memory queue (disk queue off), counted as received: requests "
                     "beyond it get 429; with gzip export the batches waiting in it are held "
                     "compressed (about a fifth), all but the one being filled"),
      option::Double<Q>("fair_share_threshold", &Q::fair_share_threshold, 0.0, 1.0, "0.75",
                        "fraction of the queue above which a sender holding at least its fair "
                        "share (queued bytes / senders) is refused with 429 / "
                        "RESOURCE_EXHAUSTED, so quieter senders keep getting in; 1 = off"),
      option::Int<Q>("max_source_labels", &Q::max_source_labels, 0, 10'000, "32",
                     "senders given their own `source` label in "
                     "`lookout_trace_spans_refused_by_source_total`; later ones count as "
                     "`other`"),
      option::Bool<Q>("disk.enabled", &Q::disk_enabled, "false",
                      "the write-ahead log: accepted spans survive backend outages and agent "
                      "restarts, `kill -9` included. One process per directory (flock)"),
      option::Str<Q>("disk.directory", &Q::disk_directory, "",
                     "its directory (required when enabled), e.g. `/var/lib/lookout/spans`"),
      option::Int<Q>("disk.max_bytes", &Q::disk_max_bytes, 1 << 20, int64_t{1} << 44, "1073741824",
                     "undelivered bytes on disk (beyond: 429)"),
      option::Int<Q>("disk.segment_bytes", &Q::disk_segment_bytes, 4096, int64_t{1} << 30,
                     "16777216", "segment file size (delivered segments are deleted)"),
      option::Enum<Q>("disk.fsync", &Q::disk_fsync,
                      {{"never", Q::Fsync::kNever},
                       {"interval", Q::Fsync::kInterval},
                       {"always", Q::Fsync::kAlways}},
                      "interval",
                      "`never`: `write()` before the 200 — survives a crash or `kill -9` of the "
                      "agent (the kernel holds the bytes), not a power loss; `interval`: plus "
                      "`fdatasync` at most every `fsync_interval` (a power loss loses at most "
                      "that); `always`: `fdatasync` before each 200"),
      option::Dur<Q>("disk.fsync_interval", &Q::disk_fsync_interval, Duration(1),
                     Duration(3'600'000), "1s", "see `fsync`"),
  }};
}

}  // namespace

const OptionTable<TracesOptions>& TracesOptionTable() {
  static const OptionTable<O> kTable = [] {
    OptionTable<O> t{{
        option::Bool<O>("enabled", &O::enabled, "true", "accept spans on the OTLP listeners"),
        option::Bool<O>(
            "kubernetes_attributes", &O::kubernetes_attributes, "true",
            "add `k8s.pod.name`, `k8s.pod.uid`, `k8s.namespace.name`, `k8s.node.name` (and "
            "`k8s.container.name` when the pod has one app container) to each resource; the pod "
            "is found from the resource's `k8s.pod.uid`, else `k8s.pod.ip`, else the sender's "
            "address, through the pod index. Existing attributes are never overwritten. Without "
            "Kubernetes metadata only `k8s.node.name` is added"),
        option::StrMap<O>("resource_attributes", &O::resource_attributes, "{}",
                          "static attributes added to every resource (`${VAR}` expanded), never "
                          "overwriting"),
        option::Double<O>("sampling_ratio", &O::sampling_ratio, 0, 1, "1.0",
                          "head sampling, consistent by trace ID (kept when the ID's rightmost "
                          "56 bits ≥ (1 − ratio)·2⁵⁶, the OpenTelemetry threshold rule), so every "
                          "agent keeps the same traces. Span metrics count every span, sampled "
                          "or not"),
        option::Custom<O>("retry_after", "5s", "1s–1h",
                          "`Retry-After` / `RetryInfo` sent with 429 / RESOURCE_EXHAUSTED",
                          [](YamlMapReader& r, std::string_view k, O& o) {
                            Duration ra{o.retry_after};
                            r.Dur(k, &ra, Duration(1000), Duration(3'600'000));
                            o.retry_after = std::chrono::duration_cast<std::chrono::seconds>(ra);
                          }),
        option::Dur<O>("shutdown_timeout", &O::shutdown_timeout, Duration(0), Duration(3'600'000),
                       "5s",
                       "on SIGTERM, after the receivers close, queued spans get this long to be "
                       "delivered (a disk queue keeps the rest)"),
    }};
    AppendOptions(t, option::Nest<O>("span_metrics", &O::span_metrics, SpanMetricsTable()));
    AppendOptions(t, option::Nest<O>("export", &O::exporter, ExportTable()));
    AppendOptions(t, option::Nest<O>("queue", &O::queue, QueueTable()));
    t.check = [](YamlMapReader& r, O& o) {
      if (o.queue.disk_enabled && o.queue.disk_directory.empty()) {
        YamlMapReader q(r.Get("queue"), r.Key("queue"), r.file());
        YamlMapReader d(q.Get("disk"), q.Key("disk"), r.file());
        d.Fail(d.Get("directory"), d.Key("directory"), "a directory when the disk queue is on");
      }
    };
    return t;
  }();
  return kTable;
}

}  // namespace lookout
