// Fuzzes the Prometheus text / OpenMetrics parser that reads scraped application bodies. The
// first byte picks the format. Beyond "never crash": whatever parses must survive the round trip
// through our own encoders (the agent re-exposes it), so the re-encoded text parses again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/collectors/app/exposition_parser.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace lookout;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto format =
      data[0] % 2 ? app::ExpositionFormat::kOpenMetrics : app::ExpositionFormat::kText;
  app::ParseOptions opt;
  opt.limits.max_samples = 10000;
  opt.target_labels = {{"job", "fuzz"}, {"instance", "x:1"}};
  auto parsed = app::ParseExposition(in, format, opt);
  if (!parsed.ok()) return 0;
  // Reusing an earlier result's memory (as the scrape manager does) must give the same output:
  // parse again recycling a copy of the first result, and compare the renderings.
  {
    auto again = app::ParseExposition(in, format, opt, nullptr, *parsed);
    std::string a, b;
    prometheus::EncodeOpenMetrics(*parsed, a);
    if (again.ok()) prometheus::EncodeOpenMetrics(*again, b);
    if (!again.ok() || a != b) {
      fprintf(stderr, "recycled parse differs:\n%s\n---\n%s\n", a.c_str(), b.c_str());
      abort();
    }
  }
  std::string text;
  prometheus::EncodeText(*parsed, text);
  std::string om;
  prometheus::EncodeOpenMetrics(*parsed, om);
  app::ParseOptions plain;
  plain.limits.max_samples = 1 << 20;
  plain.limits.max_labels = 1 << 10;
  auto again = app::ParseExposition(text, app::ExpositionFormat::kText, plain);
  if (!again.ok()) {
    fprintf(stderr, "re-encoded text does not parse: %s\n%s\n", again.error().detail.c_str(),
            text.c_str());
    abort();
  }
  auto again_om = app::ParseExposition(om, app::ExpositionFormat::kOpenMetrics, plain);
  if (!again_om.ok()) {
    fprintf(stderr, "re-encoded OpenMetrics does not parse: %s\n%s\n",
            again_om.error().detail.c_str(), om.c_str());
    abort();
  }
  return 0;
}
