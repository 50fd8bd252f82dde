// CPU cost of parsing one scrape of an application target with 100,000 series (the issue's
// benchmark body, generated the same way as app_scrape_bench.py serves it), with the target
// labels lookout adds to every series.
#include <benchmark/benchmark.h>

#include <string>

#include "agent/collectors/app/exposition_parser.h"
#include "agent/collectors/app/steady_shape.h"
#include "agent/common/malloc_tuning.h"

namespace {

std::string Body(int series, int shift = 0) {
  std::string b;
  b.reserve(static_cast<size_t>(series) * 110);
  b += "# HELP app_requests_total Requests handled.\n# TYPE app_requests_total counter\n";
  for (int i = 0; i < series; ++i) {
    b += "app_requests_total{method=\"";
    b += (i % 3 == 0 ? "GET" : i % 3 == 1 ? "POST" : "PUT");
    b += "\",route=\"/api/v1/items/" + std::to_string(i % 500) + "\",code=\"";
    b += (i % 10 == 0 ? "500" : "200");
    b += "\",shard=\"" + std::to_string(i) + "\"} " + std::to_string(i * 7 + shift) + "\n";
  }
  return b;
}

void BM_Parse100kSeries(benchmark::State& state) {
  const std::string body = Body(100000);
  lookout::app::ParseOptions opt;
  opt.target_labels = {{"job", "kubernetes-pods"},
                       {"instance", "10.244.1.17:8080"},
                       {"namespace", "shop"},
                       {"pod", "cart-7d9f8b6c4-x2x9z"},
                       {"container", "cart"}};
  opt.attach_target_labels = false;  // as the scrape manager parses (labels added on exposure)
  // As the scrape manager does: each parse may reuse the result before the previous one.
  const bool recycle = state.range(0) != 0;
  std::vector<lookout::MetricFamily> previous, spare;
  for (auto _ : state) {
    auto r = lookout::app::ParseExposition(body, lookout::app::ExpositionFormat::kText, opt,
                                           nullptr, recycle ? std::move(spare) : decltype(spare){});
    if (!r.ok()) state.SkipWithError(r.error().detail.c_str());
    spare = std::move(previous);
    previous = std::move(r).value();
    benchmark::DoNotOptimize(previous);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["series"] = 100000;
}
// Arg 0: a fresh result each time; arg 1: the scrape manager's reuse of an earlier result.
BENCHMARK(BM_Parse100kSeries)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// What a scrape of the same series with new values costs instead (steady_shape.h): the body
// read against the shape learned from the one before, into a copy of its compact result. Each
// iteration alternates between two bodies whose values differ.
void BM_SteadyShape100kSeries(benchmark::State& state) {
  const std::string bodies[2] = {Body(100000, 0), Body(100000, 1)};
  lookout::app::ParseOptions opt;
  opt.target_labels = {{"job", "kubernetes-pods"}, {"instance", "10.244.1.17:8080"}};
  opt.attach_target_labels = false;
  lookout::app::LineTrace trace;
  auto parsed = lookout::app::ParseExposition(bodies[0], lookout::app::ExpositionFormat::kText, opt,
                                              nullptr, {}, &trace);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().detail.c_str());
    return;
  }
  auto base = lookout::CompactFamilies::Make(*parsed, opt.target_labels, 0);
  auto shape = lookout::app::SteadyShape::Learn(bodies[0], lookout::app::ExpositionFormat::kText,
                                                opt.target_labels, trace, *base);
  if (!shape) {
    state.SkipWithError("no shape learned");
    return;
  }
  size_t n = 0;
  for (auto _ : state) {
    ++n;
    auto next = shape->Apply(bodies[n % 2], lookout::app::ExpositionFormat::kText,
                             opt.target_labels, *base, static_cast<int64_t>(n));
    if (!next) state.SkipWithError("the shape did not apply");
    benchmark::DoNotOptimize(next);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bodies[0].size()));
  state.counters["series"] = 100000;
}
BENCHMARK(BM_SteadyShape100kSeries)->Unit(benchmark::kMillisecond);

}  // namespace

// As the agent runs: main() tunes the allocator first (agent/common/malloc_tuning.h).
int main(int argc, char** argv) {
  lookout::TuneAllocator();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
