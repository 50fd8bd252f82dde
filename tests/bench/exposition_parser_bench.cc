// CPU cost of parsing one scrape of an application target with 100,000 series (the issue's
// benchmark body, generated the same way as app_scrape_bench.py serves it), with the target
// labels lookout adds to every series.
#include <benchmark/benchmark.h>

#include <string>

#include "agent/collectors/app/exposition_parser.h"
#include "agent/common/malloc_tuning.h"

namespace {

std::string Body(int series) {
  std::string b;
  b.reserve(static_cast<size_t>(series) * 110);
  b += "# HELP app_requests_total Requests handled.\n# TYPE app_requests_total counter\n";
  for (int i = 0; i < series; ++i) {
    b += "app_requests_total{method=\"";
    b += (i % 3 == 0 ? "GET" : i % 3 == 1 ? "POST" : "PUT");
    b += "\",route=\"/api/v1/items/" + std::to_string(i % 500) + "\",code=\"";
    b += (i % 10 == 0 ? "500" : "200");
    b += "\",shard=\"" + std::to_string(i) + "\"} " + std::to_string(i * 7) + "\n";
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

}  // namespace

// As the agent runs: main() tunes the allocator first (agent/common/malloc_tuning.h).
int main(int argc, char** argv) {
  lookout::TuneAllocator();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
