// Fuzzes the OTLP metrics path with untrusted request bodies: protobuf and JSON decoding,
// request decompression, and the store's translation into Prometheus series. The first byte
// picks the path. Whatever is accepted must re-expose as valid text: encoding the store's
// families and parsing them back with our exposition parser must succeed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/collectors/app/exposition_parser.h"
#include "agent/common/compression.h"
#include "agent/otlp/metric_store.h"
#include "agent/otlp/otlp_codec.h"
#include "exporters/prometheus/text_encoder.h"
#include "lookout/clock.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace lookout;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 3 == 2) {
    (void)Inflate(in, 1 << 20);
    return 0;
  }
  static SystemClock clock;
  OtlpOptions cfg;
  cfg.metrics_series_ttl = std::chrono::minutes(5);
  cfg.metrics_max_series = 1000;
  otlp::OtlpMetricStore store(cfg, clock);
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
  const auto enc = data[0] % 3 == 0 ? otlp::Encoding::kJson : otlp::Encoding::kProtobuf;
  if (!otlp::Decode(in, enc, &req).ok()) return 0;
  store.Ingest(req);
  store.Ingest(req);  // twice: delta accumulation and existing-series paths
  std::vector<MetricFamily> families;
  store.Collect(families);
  std::string text;
  prometheus::EncodeText(families, text);
  app::ParseOptions opt;
  opt.limits.max_samples = 1 << 24;
  opt.limits.max_labels = 1 << 16;
  opt.limits.max_label_name_length = 1 << 24;
  opt.limits.max_label_value_length = 1 << 24;
  auto back = app::ParseExposition(text, app::ExpositionFormat::kText, opt);
  if (!back.ok()) {
    fprintf(stderr, "re-exposed OTLP metrics do not parse: %s\n%s\n", back.error().detail.c_str(),
            text.c_str());
    abort();
  }
  return 0;
}
