// SeriesIndex: a flat open-addressing table from a series' 64-bit hash to its sample index. What
// matters is that two series are never taken for one unless all 64 bits agree, and that a
// repeat finds the first index, through every growth of the table.
#include "agent/collectors/app/series_index.h"

#include <gtest/gtest.h>

#include <random>
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

}  // namespace
}  // namespace lookout::app::detail
