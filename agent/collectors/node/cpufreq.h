#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// The numeric files of /sys/devices/system/cpu/cpuN/cpufreq that procfs 0.8 reads, in kHz
// (cpuinfo_transition_latency in ns), in this order.
inline constexpr std::array<std::string_view, 7> kCpufreqFiles = {
    "cpuinfo_cur_freq", "cpuinfo_max_freq", "cpuinfo_min_freq", "cpuinfo_transition_latency",
    "scaling_cur_freq", "scaling_max_freq", "scaling_min_freq"};
enum CpufreqFile : size_t {
  kCpuinfoCurFreq,
  kCpuinfoMaxFreq,
  kCpuinfoMinFreq,
  kCpuinfoTransitionLatency,
  kScalingCurFreq,
  kScalingMaxFreq,
  kScalingMinFreq,
};

using CpufreqContents = std::array<std::optional<std::string>, kCpufreqFiles.size()>;
using CpufreqValues = std::array<std::optional<uint64_t>, kCpufreqFiles.size()>;

// One CPU's files as procfs's parseCpufreqCpuinfo judges them: a file that is absent or not
// readable by this user (nullopt here: cpuinfo_cur_freq is root-only) has no value; one that is
// there must hold a decimal unsigned number (Go's strings.TrimSpace around it), or the whole
// collector fails, as node_exporter's does.
Result<CpufreqValues> ParseCpufreqValues(const CpufreqContents& contents);

}  // namespace lookout
