#pragma once
// The agent's own instruments (lookout_*), built with prometheus-cpp, and the ONE adapter that
// exposes them as a lookout Collectable (prometheus::MetricFamily -> lookout's MetricFamily).
//
// Call sites build families with prometheus-cpp's builders and update prometheus-cpp's
// Counter/Gauge/Histogram directly:
//
//   auto& errors = metrics.AddCounter(
//       ::prometheus::BuildCounter().Name("lookout_x_errors_total").Help("..."), {"reason"});
//   ::prometheus::Counter& timeouts = errors.WithLabels({"timeout"});  // keep on hot paths
//   timeouts.Increment();
//
// Why a thin lookout layer around the builders rather than prometheus-cpp alone: prometheus-cpp
// has no notion of a family's variable label names (children take any label map), nor of units,
// and its families list children in hash order with labels sorted by name. lookout's contract
// (README "Self-metrics") is that bad metric names, bad label names, counters without `_total`,
// histograms using `le` and bad bucket bounds are programming errors that throw at
// registration, that a child's label values must match the declared names, and that the
// exposition is unchanged: labels in declared order, series ordered by label values, UNIT
// metadata where it is declared. So registration declares label names and unit here, children
// are looked up by values (Family<T>::WithLabels), and Collect restores that order. Everything
// else (storage, atomicity, bucket counting, name validation, duplicate detection) is
// prometheus-cpp's.
//
// Names: prometheus-cpp 1.0.1 keeps a counter family's name as given and its text serializer
// writes it as is, so counters are registered with their `_total` suffix, which is also what
// lookout's MetricFamily expects for counters (metric.h).
//
// Thread-safety: everything here is safe to use from any thread (prometheus-cpp's registry,
// families and instruments are). Looking a child up takes its family's mutex, so hot paths look
// it up once and keep the reference: children live as long as the SelfMetrics.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lookout/metrics/collectable.h"
#include "lookout/metrics/metric.h"

namespace lookout {

// A prometheus-cpp family with its declared variable label names.
template <typename T>
class Family {
 public:
  // Returns the child for these label values (created on first use). The number of values must
  // equal the number of label names given at registration, else std::invalid_argument.
  T& WithLabels(const std::vector<std::string>& values);
  T& Get() { return WithLabels({}); }

 private:
  friend class SelfMetrics;
  Family(::prometheus::Family<T>& family, std::vector<std::string> label_names,
         std::vector<double> bounds)
      : family_(family), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

  ::prometheus::Family<T>& family_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
};

class SelfMetrics final : public Collectable {
 public:
  SelfMetrics();
  ~SelfMetrics() override;

  // Registration validates the name, label names, (counters) the `_total` suffix and
  // (histograms) the bounds, and throws std::invalid_argument on a bad or duplicate name:
  // these are programming errors. `builder` sets Name and Help (and rarely constant Labels).
  Family<::prometheus::Counter>& AddCounter(
      ::prometheus::detail::Builder<::prometheus::Counter>& builder,
      std::vector<std::string> label_names = {});
  Family<::prometheus::Gauge>& AddGauge(::prometheus::detail::Builder<::prometheus::Gauge>& builder,
                                        std::vector<std::string> label_names = {},
                                        std::string unit = "");
  // `bounds`: strictly increasing upper bounds; a trailing +Inf is implied and may be left out.
  Family<::prometheus::Histogram>& AddHistogram(
      ::prometheus::detail::Builder<::prometheus::Histogram>& builder, std::vector<double> bounds,
      std::vector<std::string> label_names = {}, std::string unit = "");

  void Collect(std::vector<MetricFamily>& out) override;

 private:
  struct Meta {
    MetricType type;
    std::string unit;
    std::vector<std::string> label_names;
  };
  template <typename T>
  Family<T>& Register(::prometheus::detail::Builder<T>& builder, MetricType type,
                      std::vector<std::string> label_names, std::string unit,
                      std::vector<double> bounds);

  std::mutex mu_;
  const std::unique_ptr<::prometheus::Registry> registry_;
  std::map<std::string, Meta> meta_;  // by family name; guarded by mu_
  // The facades handed out (stable addresses); guarded by mu_.
  std::vector<std::unique_ptr<Family<::prometheus::Counter>>> counters_;
  std::vector<std::unique_ptr<Family<::prometheus::Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<::prometheus::Histogram>>> histograms_;
};

}  // namespace lookout
