#include "exporters/remote_write/shard_sizer.h"

#include <gtest/gtest.h>

namespace lookout::remote_write {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr auto kFresh = milliseconds(100);  // the last delivery's age: sends are working
constexpr auto kStaleAfter = seconds(60);

// One update interval's traffic: `in` samples queued, `out` delivered taking `send` in all.
void Traffic(ShardSizer& s, uint64_t in, uint64_t out, milliseconds send, uint64_t dropped = 0) {
  s.SamplesIn(in);
  s.SamplesOut(out);
  s.ShardTime(send);
  s.SamplesDropped(dropped);
}

TEST(ShardSizer, DesiredIsTimePerSampleTimesTheIncomingRate) {
  ShardSizer s(1, 200);
  // 10 s: 50,000 samples in and out, 25 s spent sending: 0.5 ms per sample, 5,000/s in.
  Traffic(s, 50000, 50000, milliseconds(25000));
  EXPECT_EQ(s.Update(1, 0, 0, kFresh, kStaleAfter), 3);  // 2.5, rounded up
  EXPECT_DOUBLE_EQ(s.desired(), 2.5);
}

TEST(ShardSizer, ChangesOnlyOutsideThirtyPercent) {
  ShardSizer s(1, 200);
  // 7.5 shards' worth, rounded up (as Prometheus does, before the check): 8, within 10 +- 30%.
  Traffic(s, 10000, 10000, milliseconds(75000));
  EXPECT_EQ(s.Update(10, 0, 0, kFresh, kStaleAfter), 10);
  ShardSizer t(1, 200);
  Traffic(t, 10000, 10000, milliseconds(11000));  // 1.1: rounded up to 2, outside 1 +- 30%
  EXPECT_EQ(t.Update(1, 0, 0, kFresh, kStaleAfter), 2);
  ShardSizer u(1, 200);
  Traffic(u, 10000, 10000, milliseconds(7000));  // 0.7 of 10 shards: far below
  EXPECT_EQ(u.Update(10, 0, 0, kFresh, kStaleAfter), 1);
}

TEST(ShardSizer, TheMovingAverageWeighsTheNewIntervalByAFifth) {
  ShardSizer s(1, 200);
  Traffic(s, 10000, 10000, milliseconds(40000));  // in 1,000/s, 4 ms per sample: 4
  EXPECT_EQ(s.Update(1, 0, 0, kFresh, kStaleAfter), 4);
  // Nothing comes in the next interval, the same goes out: in_rate 1000 + 0.2 (0 - 1000) = 800
  // per second; out and send time unchanged: 4 ms x 800 = 3.2, within 4 +- 30%.
  Traffic(s, 0, 10000, milliseconds(40000));
  EXPECT_EQ(s.Update(4, 0, 0, kFresh, kStaleAfter), 4);
  EXPECT_NEAR(s.desired(), 3.2, 1e-9);
}

TEST(ShardSizer, ABacklogAddsFivePercentOfItPerSecond) {
  ShardSizer s(1, 200);
  Traffic(s, 10000, 10000, milliseconds(10000));  // 1 ms per sample, 1,000/s in: 1
  // 100,000 samples pending; 5% of them per second more: 1 ms x 6,000 = 6.
  EXPECT_EQ(s.Update(1, 100, 100000, kFresh, kStaleAfter), 6);
  EXPECT_DOUBLE_EQ(s.desired(), 6);
}

TEST(ShardSizer, RefusedSamplesLowerTheKeptRatio) {
  ShardSizer s(1, 200);
  // Half the samples out are refused: only the other half is work for the shards.
  Traffic(s, 20000, 10000, milliseconds(40000), 10000);  // 4 ms x 2,000/s x 0.5 = 4
  EXPECT_EQ(s.Update(1, 0, 0, kFresh, kStaleAfter), 4);
}

TEST(ShardSizer, KeptWithinMinAndMaxAndNotDownWhileBehindOrWhileFailing) {
  ShardSizer s(2, 5);
  Traffic(s, 10000, 10000, milliseconds(100000));  // 10
  EXPECT_EQ(s.Update(2, 0, 0, kFresh, kStaleAfter), 5);
  ShardSizer t(2, 5);
  Traffic(t, 100, 100, milliseconds(1));  // about 0: min_shards
  EXPECT_EQ(t.Update(4, 0, 0, kFresh, kStaleAfter), 2);
  ShardSizer u(1, 200);
  Traffic(u, 100, 100, milliseconds(1));  // about 0, but 11 s behind: kept
  EXPECT_EQ(u.Update(4, 11, 0, kFresh, kStaleAfter), 4);
  ShardSizer v(1, 200);
  Traffic(v, 10000, 10000, milliseconds(100000));  // 10, but no delivery for too long
  EXPECT_EQ(v.Update(1, 0, 0, seconds(61), kStaleAfter), 1);
  ShardSizer w(1, 200);
  EXPECT_EQ(w.Update(3, 0, 0, kFresh, kStaleAfter), 3);  // nothing sent yet: kept
}

}  // namespace
}  // namespace lookout::remote_write
