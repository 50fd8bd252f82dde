#pragma once
// Go's uint64(f) for a float64 `f`, as Go compiles it on amd64 (CVTTSD2SQ), which node_exporter
// 1.5 relies on in several parsers (textfile counts, bcache sizes, InfiniBand rates): values in
// [0, 2^64) truncate toward zero (from 2^63 by subtracting 2^63 first); a negative value in
// [-2^63, 0) wraps as two's complement ("-5" gives 2^64-5); anything else (below -2^63, 2^64 and
// above, ±Inf, NaN) gives 2^63, the instruction's "integer indefinite".

#include <cstdint>

namespace lookout {

inline uint64_t GoFloat64ToUint64(double f) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  constexpr uint64_t kIndefinite = uint64_t{1} << 63;
  const auto cvt = [](double v) -> uint64_t {  // false for NaN: indefinite
    if (v >= -kTwoTo63 && v < kTwoTo63) return static_cast<uint64_t>(static_cast<int64_t>(v));
    return kIndefinite;
  };
  if (f < kTwoTo63) return cvt(f);
  return cvt(f - kTwoTo63) | kIndefinite;
}

}  // namespace lookout
