#pragma once
// Bit mixing for hash tables keyed by 64-bit hashes.

#include <cstdint>

namespace lookout {

// MurmurHash3's 64-bit finaliser: every output bit depends on every input bit, so the low bits
// that pick a slot (or the sum of several hashes) do not cluster.
inline uint64_t MixBits(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace lookout
