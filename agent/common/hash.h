#pragma once
// Bit mixing for hash tables keyed by 64-bit hashes, and string-keyed maps looked up by
// std::string_view.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

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

// Heterogeneous look-up: find by string_view without building a std::string per look-up.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace lookout
