#pragma once
// Prometheus recording and alert rules equivalent to the SLO engine, computed centrally from the
// event counters every agent exports (lookout_slo_good_events_total, lookout_slo_events_total,
// lookout_payment_*_total), so a central Prometheus sums all nodes before dividing:
//
//   lookout:slo_events:increase{window}        sum by (slo, service, group...) (increase(...[w]))
//   lookout:slo_good_events:increase{window}
//   lookout:slo_error_ratio{window}            1 - good / total (absent without events)
//   lookout:slo_burn_rate{window}              error ratio / (1 - objective)
//   lookout:slo_error_budget_remaining         1 - burn rate over the period
//   alert LookoutSLOErrorBudgetBurn            severity page / ticket, multi-window multi-burn
//   lookout:payment_{attempts,successes,declines,errors}:increase{window}
//   lookout:payment_{success,decline,error}_ratio{window}
//
// The period's records (30-day increases are heavy) live in their own group evaluated every
// 5m when the period is a day or more.

#include <string>
#include <vector>

#include "lookout/slo/slo_spec.h"

namespace lookout::slo {

// YAML for `promtool check rules` / Prometheus's rule_files. The payment-availability SLO is
// included when payments.availability_slo is on.
std::string GenerateRules(const std::vector<SloSpec>& slos, const PaymentsSpec& payments);

// Shortest decimal that reads back as the same double ("0.999", "14.4").
std::string FormatNumber(double v);

}  // namespace lookout::slo
