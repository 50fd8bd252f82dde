#include "agent/collectors/collector_set.h"

#include <chrono>
#include <string>

#include "lookout/metrics/family_builder.h"

namespace lookout {

CollectorSet::CollectorSet(std::vector<std::unique_ptr<Collector>> collectors)
    : collectors_(std::move(collectors)),
      errors_(errors_registry_.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_collector_errors_total")
              .Help("Collector runs that failed, by collector and reason."),
          {"collector", "reason"})) {}

void CollectorSet::Collect(std::vector<MetricFamily>& out) {
  MetricFamily duration{"lookout_collector_duration_seconds",
                        "Time the collector took during the last scrape.",
                        MetricType::kGauge,
                        "seconds",
                        {}};
  MetricFamily success{"lookout_collector_success",
                       "Whether the collector succeeded during the last scrape (1) or not (0).",
                       MetricType::kGauge,
                       "",
                       {}};
  for (const auto& c : collectors_) {
    const size_t mark = out.size();
    const auto start = std::chrono::steady_clock::now();
    Status st = Ok{};
    try {
      st = c->Collect(out);
    } catch (const std::exception& e) {
      st = MakeError("exception", e.what());
    } catch (...) {
      st = MakeError("exception", "a non-standard exception");
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string name(c->Name());
    if (!st.ok()) {
      // A failed collector shows no partial data, unless it kept only what it could read.
      if (!st.error().partial) out.resize(mark);
      errors_.WithLabels({name, st.error().reason}).Increment();
      uint64_t suppressed = 0;
      if (log_limiter_.Allow(name + "/" + st.error().reason, &suppressed)) {
        Log(LogLevel::kWarn, "collector failed",
            {{"collector", name},
             {"reason", st.error().reason},
             {"err", st.error().detail},
             {"suppressed", std::to_string(suppressed)}});
      }
    }
    AddSample(duration, secs, {{"collector", name}});
    // A partial error is a success with entries left out: the errors counter says which.
    AddSample(success, st.ok() || st.error().partial ? 1 : 0, {{"collector", name}});
  }
  out.push_back(std::move(duration));
  out.push_back(std::move(success));
  errors_registry_.Collect(out);
}

}  // namespace lookout
