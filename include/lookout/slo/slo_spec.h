#pragma once
// SLO specifications: what the SLO engine measures and the rule generator writes rules for.
// Plain value types, built by the spec parser (lookout's own YAML or OpenSLO v1) and by the
// payments config (the ready-made payment-availability SLO).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "lookout/metrics/metric_view.h"

namespace lookout {

using SloDuration = std::chrono::milliseconds;

// One multi-window burn-rate condition: burn over `long_window` AND over `short_window` both
// above `burn_rate` (the SRE workbook's multi-window, multi-burn-rate alert).
struct BurnRateWindow {
  SloDuration long_window{};
  SloDuration short_window{};
  double burn_rate = 0;
};

// The SRE workbook's defaults: page 1h&5m at 14.4x, 6h&30m at 6x; ticket 1d&2h at 3x,
// 3d&6h at 1x.
std::vector<BurnRateWindow> DefaultPageWindows();
std::vector<BurnRateWindow> DefaultTicketWindows();

struct SliSpec {
  enum class Kind {
    kRatio,    // good/total or bad/total counters
    kLatency,  // share of a histogram's observations at or under `le`
  };
  Kind kind = Kind::kRatio;
  // Ratio: `events` is the good or bad counter (see `events_are_bad`), `total` all events.
  // Latency: `events` selects the histogram's `_bucket` series (le is matched apart, by value),
  // `total` its `_count` series.
  Selector events;
  bool events_are_bad = false;
  Selector total;
  double le = 0;  // latency only
  // Series are summed per distinct value of these labels (empty: one group for the SLO).
  std::vector<std::string> group_by;
  // Human-readable origin, e.g. "span_metrics service=checkout", for logs and the rules file.
  std::string description;
};

struct SloSpec {
  std::string name;     // unique; the `slo` label
  std::string service;  // the `service` label
  std::string description;
  double objective = 0;                                     // a fraction: 0.999 for 99.9%
  SloDuration period{};                                     // the error-budget window (default 30d)
  std::vector<std::pair<std::string, std::string>> labels;  // e.g. team=payments
  SliSpec sli;
  std::vector<BurnRateWindow> page;
  std::vector<BurnRateWindow> ticket;
  // A burn-rate condition holds only when its long window also has at least this many bad
  // events: with little traffic one failure is a huge burn (the SRE workbook's low-traffic
  // caveat), and a fresh agent's first minutes are little traffic. 0 = no guard.
  int64_t min_bad_events = 10;
  std::string source;  // file:line where it was defined

  // Every window the engine keeps for this SLO: the alert windows (long and short) and the
  // period, sorted ascending, without duplicates.
  std::vector<SloDuration> Windows() const;
};

// Payment success ratio: attempts, successes, declines (the customer's bank said no) and errors
// (our system failed), per `group_by` (default provider and method).
struct PaymentsSpec {
  bool enabled = false;
  Selector attempts;
  Selector success;
  Selector declines;  // metric empty: attempts - success - errors
  Selector errors;    // metric empty: attempts - success - declines
  std::vector<std::string> group_by;
  // The ready-made payment-availability SLO: bad = errors (declines are not failures),
  // total = attempts, grouped like the payments.
  bool availability_slo = false;
  std::string availability_name;
  double availability_objective = 0;
  SloDuration period{};
  std::vector<BurnRateWindow> page;
  std::vector<BurnRateWindow> ticket;
  int64_t availability_min_bad_events = 10;

  SloSpec AvailabilitySlo() const;
  std::vector<SloDuration> Windows() const { return AvailabilitySlo().Windows(); }
};

// "5m", "1h", "30d" as Prometheus writes durations (largest exact unit).
std::string FormatSloDuration(SloDuration d);

}  // namespace lookout
