// Fuzzes the span path with untrusted request bodies. The first byte picks the path:
//   0: the wire scanner (SpanProcessor) with enrichment, dimensions and sampling, then span
//      metrics; whatever it forwards must scan again to the very same bytes (it is a valid
//      request that needs no more changes), and the span metrics must re-expose as valid text;
//   1: OTLP/JSON decoding into ExportTraceServiceRequest, then path 0 on its protobuf bytes;
//   2: the exporter's readers of backend answers (partial_success, RetryInfo).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/collectors/app/exposition_parser.h"
#include "agent/common/otlp_status.h"
#include "agent/otlp/otlp_codec.h"
#include "agent/trace/resource_enricher.h"
#include "agent/trace/span_metrics.h"
#include "agent/trace/span_processor.h"
#include "exporters/prometheus/text_encoder.h"
#include "lookout/clock.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace {

using namespace lookout;

void Scan(std::string_view body) {
  static SystemClock clock;
  static trace::ResourceEnricher enricher(nullptr, "node-a", {{"k8s.cluster.name", "c"}});
  static const std::vector<std::string> dims = {"http.method", "k"};
  static trace::SpanProcessor processor(&enricher, dims, 0.5, true);
  trace::ProcessedRequest out;
  if (!processor.Process(body, "10.0.0.1", out).ok()) return;
  if (out.forwarded > out.spans || out.facts.size() + out.invalid != out.spans) abort();
  trace::ProcessedRequest again;
  if (!processor.Process(out.forward, "10.0.0.1", again).ok()) {
    fprintf(stderr, "forwarded bytes do not scan\n");
    abort();
  }
  if (again.forward != out.forward || again.forwarded != out.forwarded || again.invalid != 0) {
    fprintf(stderr, "forwarded bytes changed on a second pass\n");
    abort();
  }
  trace::SpanMetricsOptions o;
  o.dimensions = dims;
  o.max_series = 50;
  trace::SpanMetrics metrics(o, clock);
  trace::RecordSpanMetrics(metrics, out);
  std::vector<MetricFamily> families;
  metrics.Collect(families);
  std::string text;
  prometheus::EncodeText(families, text);
  app::ParseOptions opt;
  opt.limits.max_samples = 1 << 24;
  opt.limits.max_labels = 1 << 16;
  opt.limits.max_label_name_length = 1 << 24;
  opt.limits.max_label_value_length = 1 << 24;
  auto back = app::ParseExposition(text, app::ExpositionFormat::kText, opt);
  if (!back.ok()) {
    fprintf(stderr, "span metrics do not parse: %s\n%s\n", back.error().detail.c_str(),
            text.c_str());
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      Scan(in);
      break;
    case 1: {
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
      if (otlp::Decode(in, otlp::Encoding::kJson, &req).ok()) Scan(req.SerializeAsString());
      break;
    }
    default:
      (void)otlp::ParsePartialSuccess(in);
      (void)otlp::ParseRetryInfo(in);
      break;
  }
  return 0;
}
