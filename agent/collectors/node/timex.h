#pragma once
#include <sys/timex.h>

#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

// node_exporter 1.5's timex families from one adjtimex(2) read: `tx` as the call filled it and
// `state` its return value (TIME_OK ... TIME_ERROR). Offsets and PPS jitter are in nanoseconds
// when tx.status has STA_NANO, else microseconds; frequencies are ppm with 16-bit fractions.
// Pure; thread-safe.
std::vector<MetricFamily> TimexFamilies(const struct timex& tx, int state);

}  // namespace lookout
