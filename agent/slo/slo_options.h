#pragma once
// The SLO engine's options (`slo:` in the config): specs, the window math's knobs, state across
// restarts and the payments. The options and their table.

#include <string>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"
#include "lookout/slo/slo_spec.h"

namespace lookout {

// Values come from the option table's defaults; these members have none of their own.
struct SloOptions {
  bool enabled = false;
  std::string specs;  // file or directory of SLO specs (lookout or OpenSLO YAML); "" = none
  Duration tick{};
  int64_t buckets_per_window = 0;
  size_t max_groups_per_slo = 0;
  Duration series_retention{};  // a vanished series' last value is kept this long
  struct State {
    std::string directory;  // "" = off
    Duration save_interval{};
    size_t max_bytes = 0;
  } state;
  PaymentsSpec payments;
  std::vector<SloSpec> slos;  // loaded from `specs` when the config is parsed
};

const OptionTable<SloOptions>& SloOptionTable();

}  // namespace lookout
