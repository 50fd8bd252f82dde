// Fuzzes the SLO state file reader: the first byte picks whether the rest is the whole file
// (header, CRC and payload as read from disk) or a payload wrapped in a valid header, so
// mutations reach the payload decoder past the CRC. An engine with the fixture's specs restores
// it (or refuses it with a reason) and must then tick and collect; nothing may crash, leak or
// read out of bounds. Seeded with tests/fixtures/slo/slo-state, a real file.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/slo/slo_engine.h"
#include "agent/slo/spec_parser.h"
#include "agent/slo/state_file.h"
#include "tests/fixtures/slo/state_fixture.h"

namespace {

class Clock final : public lookout::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(mono_.time_since_epoch());
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void Advance(std::chrono::milliseconds d) { mono_ += d; }

 private:
  std::chrono::steady_clock::time_point mono_{std::chrono::hours(1100)};
};

const std::string& Dir() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slo-state-fuzz-XXXXXX").string();
    return std::string(::mkdtemp(tmpl.data()));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string dir = Dir() + "/state";
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/slo-state", std::ios::binary | std::ios::trunc);
    out << (data[0] & 1 ? lookout::slo::StateDirectory::EncodeFile(rest) : rest);
  }
  static const auto specs =
      lookout::slo::ParseSloSpecs(lookout::testing::kStateFixtureSpecs, "fuzz.yaml");
  auto store = std::make_shared<lookout::MetricViewSource>();
  Clock clock;
  lookout::slo::EngineOptions o;
  o.state.directory = dir;
  o.state.node_name = lookout::testing::kStateFixtureNode;
  o.state.max_bytes = 1 << 20;
  {
    lookout::slo::SloEngine engine(o, specs, {}, store, clock);
    for (int i = 0; i < 3; ++i) {
      clock.Advance(std::chrono::seconds(10));
      engine.Tick();
    }
    std::vector<lookout::MetricFamily> out;
    engine.Collect(out);
    // Stop() saves at destruction: remove the directory first so the save fails at open(),
    // costing no fsync per input (a failed save is counted, as the agent counts it).
    std::filesystem::remove_all(dir);
  }
  return 0;
}
