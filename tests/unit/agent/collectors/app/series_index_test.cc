// SeriesIndex: a flat open-addressing table from a series' 64-bit hash to its sample index. What
// matters is that two series are never taken for one unless all 64 bits agree, and that a
// repeat finds the first index, through every growth of the table.
#include "agent/collectors/app/series_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

namespace lookout::app::detail {
namespace {

TEST(SeriesIndex, FindsEverySeriesAndTheFirstIndexOfARepeat) {
  SeriesIndex index;
  std::mt19937_64 rng(42);
  std::vector<uint64_t> hashes(100000);
  for (size_t i = 0; i < hashes.size(); ++i) {
    hashes[i] = rng();
    const auto [at, inserted] = index.FindOrInsert(hashes[i], static_cast<uint32_t>(i));
    ASSERT_TRUE(inserted) << i;  // grows many times on the way
    ASSERT_EQ(at, i);
  }
  for (size_t i = 0; i < hashes.size(); ++i) {
    const auto [at, inserted] = index.FindOrInsert(hashes[i], 999999);
    ASSERT_FALSE(inserted) << i;
    ASSERT_EQ(at, i);
  }
}

// Hashes sharing their top half, or differing only in the top bit, are different series (a
// table keeping part of the hash as a tag must still compare all of it).
TEST(SeriesIndex, SameTopHalfDifferentSeries) {
  SeriesIndex index;
  const uint64_t top = 0xdeadbeef00000000ULL;
  for (uint32_t i = 0; i < 1000; ++i) {
    const auto [at, inserted] = index.FindOrInsert(top | i, i);
    ASSERT_TRUE(inserted) << i;
    ASSERT_EQ(at, i);
  }
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(index.FindOrInsert(top | i, 5000).first, i);
  SeriesIndex other;
  EXPECT_TRUE(other.FindOrInsert(0x0000000100000007ULL, 0).second);
  EXPECT_TRUE(other.FindOrInsert(0x8000000100000007ULL, 1).second);
  EXPECT_EQ(other.FindOrInsert(0x0000000100000007ULL, 2).first, 0u);
  EXPECT_EQ(other.FindOrInsert(0x8000000100000007ULL, 2).first, 1u);
  // 0 is a hash like any other.
  EXPECT_TRUE(other.FindOrInsert(0, 2).second);
  EXPECT_EQ(other.FindOrInsert(0, 3).first, 2u);
}

TEST(SeriesIndex, IndexesWithGapsAndReserve) {
  SeriesIndex index;
  index.Reserve(10);
  for (uint32_t i = 0; i < 100; ++i)
    ASSERT_TRUE(index.FindOrInsert(uint64_t{i} * 7919, i * 3).second);
  for (uint32_t i = 0; i < 100; ++i)
    EXPECT_EQ(index.FindOrInsert(uint64_t{i} * 7919, 0).first, i * 3);
}

// FindRepeats against the obvious map, on hashes with repeats scattered, in runs, and colliding
// in every 8-bit digit but one.
TEST(FindRepeats, EqualsTheLineByLineAnswer) {
  std::mt19937_64 rng(7);
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}, size_t{50000}}) {
    std::vector<uint64_t> hashes;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t r = rng();
      if (i > 0 && r % 5 == 0) {
        hashes.push_back(hashes[r % i]);  // a repeat of an earlier line
      } else if (r % 7 == 0) {
        hashes.push_back(r & 0xff00000000000000ULL);  // differs from others in the top digit only
      } else {
        hashes.push_back(r);
      }
    }
    std::vector<std::pair<uint32_t, uint32_t>> want;
    std::unordered_map<uint64_t, uint32_t> first;
    for (size_t i = 0; i < hashes.size(); ++i) {
      auto [it, fresh] = first.try_emplace(hashes[i], static_cast<uint32_t>(i));
      if (!fresh) want.emplace_back(it->second, static_cast<uint32_t>(i));
    }
    EXPECT_EQ(FindRepeats(hashes), want) << n;
  }
}

// One series on every line (a broken exporter): linear, not a scan back per repeat.
TEST(FindRepeats, OneSeriesOnEveryLine) {
  const std::vector<uint64_t> hashes(200000, 42);
  const auto repeats = FindRepeats(hashes);
  ASSERT_EQ(repeats.size(), hashes.size() - 1);
  for (size_t i = 0; i < repeats.size(); ++i) {
    ASSERT_EQ(repeats[i].first, 0u);
    ASSERT_EQ(repeats[i].second, i + 1);
  }
}

}  // namespace
}  // namespace lookout::app::detail
