// Fuzzes the SLO spec parser (lookout format, OpenSLO v1, the PromQL unwrapper) and what runs on
// its output: any input either parses or raises ConfigError with a location; parsed specs must
// generate rules that are valid YAML and drive an engine through ticks and a Collect without
// crashing. Nothing else may escape.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/config.h"
#include "agent/slo/rule_generator.h"
#include "agent/slo/slo_engine.h"
#include "agent/slo/spec_parser.h"

namespace {

class Clock final : public lookout::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(mono_.time_since_epoch());
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void Advance(std::chrono::milliseconds d) { mono_ += d; }

 private:
  std::chrono::steady_clock::time_point mono_{std::chrono::hours(1000)};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)lookout::slo::UnwrapQuery(text);
  std::vector<lookout::SloSpec> specs;
  try {
    specs = lookout::slo::ParseSloSpecs(text, "fuzz.yaml");
  } catch (const lookout::ConfigError&) {
    return 0;  // the expected way to reject input
  }
  const std::string rules = lookout::slo::GenerateRules(specs, {});
  (void)YAML::Load(rules);  // throws (and so crashes the fuzzer) if it is not YAML
  // Counters the specs may select, and an engine over them (a 1m tick fits every window
  // that is a whole number of minutes; others are a ConfigError).
  auto store = std::make_shared<lookout::MetricViewSource>();
  Clock clock;
  try {
    lookout::slo::EngineOptions o;
    o.tick = std::chrono::minutes(1);
    lookout::slo::SloEngine engine(o, specs, {}, store, clock);
    std::vector<lookout::MetricFamily> fams;
    for (const auto& s : specs) {
      lookout::MetricFamily f;
      f.name = s.sli.total.metric;
      f.type = lookout::MetricType::kCounter;
      lookout::Sample x;
      x.value = static_cast<double>(size);
      for (const auto& g : s.sli.group_by) x.labels.push_back({g, "v"});
      f.samples.push_back(x);
      fams.push_back(f);
    }
    const lookout::MetricView view(fams);
    for (int i = 0; i < 3; ++i) {
      engine.Tick(view);
      clock.Advance(std::chrono::minutes(1));
    }
    std::vector<lookout::MetricFamily> out;
    engine.Collect(out);
  } catch (const lookout::ConfigError&) {
  }
  return 0;
}
