#include "lookout/slo/slo_spec.h"

#include <algorithm>

namespace lookout {

using std::chrono::hours;
using std::chrono::minutes;

std::vector<BurnRateWindow> DefaultPageWindows() {
  return {{hours(1), minutes(5), 14.4}, {hours(6), minutes(30), 6}};
}

std::vector<BurnRateWindow> DefaultTicketWindows() {
  return {{hours(24), hours(2), 3}, {hours(72), hours(6), 1}};
}

std::vector<SloDuration> SloSpec::Windows() const {
  std::vector<SloDuration> w;
  for (const auto* set : {&page, &ticket}) {
    for (const auto& b : *set) {
      w.push_back(b.long_window);
      w.push_back(b.short_window);
    }
  }
  w.push_back(period);
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  return w;
}

SloSpec PaymentsSpec::AvailabilitySlo() const {
  SloSpec s;
  s.name = availability_name;
  s.service = "payments";
  s.description =
      "Payments that did not fail on our side: errors over attempts (declines are not failures).";
  s.objective = availability_objective;
  s.period = period;
  s.sli.kind = SliSpec::Kind::kRatio;
  s.sli.events = errors;
  s.sli.events_are_bad = true;
  s.sli.total = attempts;
  s.sli.group_by = group_by;
  s.sli.description = "payments: errors / attempts";
  s.page = page;
  s.ticket = ticket;
  s.min_bad_events = availability_min_bad_events;
  s.source = "slo.payments";
  return s;
}

std::string FormatSloDuration(SloDuration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  // The largest unit that divides exactly, as Prometheus prints a single-unit duration.
  for (const auto& u : kUnits) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace lookout
