// Fuzzes HTTP header parsing of the /metrics handler (Accept, Accept-Encoding) and the
// encoders' escaping of arbitrary label values and help text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporters/prometheus/format.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  using namespace lookout;
  (void)prometheus::NegotiateFormat(s);
  (void)prometheus::AcceptsGzip(s);
  MetricFamily f{"fuzz_total", s, MetricType::kCounter, "", {}};
  Sample sample;
  sample.labels = {{"l", s}};
  sample.value = size;
  f.samples.push_back(sample);
  std::string text, om;
  prometheus::EncodeText({f}, text);
  prometheus::EncodeOpenMetrics({f}, om);
  // Escaping must leave no raw newline inside a sample line: exactly the lines we wrote.
  size_t newlines = 0;
  for (char c : text) newlines += c == '\n';
  if (newlines != (s.empty() ? 2u : 3u)) __builtin_trap();  // [HELP,] TYPE, sample
  return 0;
}
