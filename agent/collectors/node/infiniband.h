#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/common/file_util.h"
#include "lookout/result.h"

namespace lookout {

// procfs 0.8's parseState over /sys/class/infiniband/<device>/ports/<n>/state or phys_state,
// which the kernel writes as "<id>: <name>" ("4: ACTIVE", "5: LinkUp"): the file split on ':'
// into exactly two parts, the first (white space trimmed) read with Go's
// strconv.ParseUint(s, 10, 32). Only the id is exposed. nullopt: not two parts, or not a decimal
// number below 2^32 ("+4", "-1", "0x4", "" all fail, as in procfs, which then fails the whole
// class).
std::optional<uint32_t> ParseInfinibandState(std::string_view text);

// procfs 0.8's parseRate over ports/<n>/rate ("100 Gb/sec (4X EDR)", "2.5 Gb/sec (1X)"), in
// bytes per second. `text` is the file as read (os.ReadFile, not trimmed): the part before the
// first space, trimmed, is Go's strconv.ParseFloat(s, 32) in Gb/s (so rounded to float32:
// "0.1" gives 12500000), times 125000000, converted to uint64 as Go does on amd64 (Debian's
// build): a negative rate wraps modulo 2^64 and NaN, +-Inf or anything from 2^64 up gives
// 2^63. nullopt: no space in the file (" 100 Gb/sec" has an empty first part, so it fails too),
// or a number that is not a float32 ("fast", "0x10", "1e39").
std::optional<uint64_t> ParseInfinibandRate(std::string_view text);

// A port counter node_exporter 1.5 exposes: the file ports/<n>/counters/<file> (or, on kernels
// before 4.5, ports/<n>/counters_ext/<file>) becomes the counter node_infiniband_<metric>
// {device,port} with this HELP text.
struct InfinibandCounter {
  std::string_view metric;
  std::string_view help;
  bool times4;  // a data counter in 4-octet words: procfs multiplies it by 4 (modulo 2^64)
};
// nullptr: a file procfs ignores whatever it holds (hw_counters are not read by procfs 0.8).
const InfinibandCounter* InfinibandCounterFor(bool counters_ext, std::string_view file);

// procfs 0.8's parseInfiniBandCounters for one known counter file read with SysReadFile: Go's
// strconv.ParseUint(s, 0, 64) ("0x10", "0o17", "1_000" are read too), times 4 when `times4`.
// nullopt, the series left out as procfs leaves it: the file is absent or its read was refused
// with EACCES, EPERM, EOPNOTSUPP or EINVAL, or the value does not parse but contains
// "N/A (no PMA)" (what old kernels print for a port without a performance management agent).
// Error ("read" or "parse"): anything else, where procfs fails the whole class.
Result<std::optional<uint64_t>> ParseInfinibandCounter(const SysfsValue& file, bool times4);

}  // namespace lookout
