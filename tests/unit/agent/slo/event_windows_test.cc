#include "agent/slo/event_windows.h"

#include <gtest/gtest.h>

#include <deque>
#include <numeric>

namespace lookout::slo {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const std::vector<SloDuration> kDefaultWindows = {
    minutes(5), minutes(30), hours(1), hours(2), hours(6), hours(24), hours(72), hours(24 * 30)};

WindowLayout Layout(const std::vector<SloDuration>& windows, SloDuration tick = seconds(10),
                    int64_t buckets = 60) {
  auto l = WindowLayout::Make(tick, windows, buckets);
  EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().detail);
  return std::move(l).value();
}

TEST(WindowLayoutTest, DefaultWindowsTileExactly) {
  const WindowLayout l = Layout(kDefaultWindows);
  ASSERT_EQ(l.windows().size(), 8u);
  // 5m is 30 ticks: one bucket per tick, exact.
  EXPECT_EQ(l.windows()[0].buckets, 30);
  EXPECT_EQ(l.windows()[0].ticks_per_bucket, 1);
  EXPECT_EQ(l.Resolution(0), SloDuration(0));
  for (size_t i = 1; i < 8; ++i) {
    const auto& w = l.windows()[i];
    EXPECT_EQ(w.buckets, 60) << i;
    EXPECT_EQ(w.buckets * w.ticks_per_bucket * 10'000, w.length.count()) << i;
  }
  EXPECT_EQ(l.windows()[7].ticks_per_bucket, 4320);  // 12h buckets for 30d
  EXPECT_EQ(l.ring_slots(), 29u + 7 * 59u);
  EXPECT_EQ(l.Find(hours(1)), 2);
  EXPECT_EQ(l.Find(hours(5)), -1);
}

TEST(WindowLayoutTest, BucketCountIsTheLargestDivisorWithinBudget) {
  // 7 minutes = 42 ticks of 10s; budget 10 -> 7 buckets of 6 ticks.
  const WindowLayout l = Layout({minutes(7)}, seconds(10), 10);
  EXPECT_EQ(l.windows()[0].buckets, 7);
  EXPECT_EQ(l.windows()[0].ticks_per_bucket, 6);
}

TEST(WindowLayoutTest, RefusesWindowsThatAreNotWholeTicks) {
  auto l = WindowLayout::Make(seconds(7), {minutes(1)}, 60);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().reason, "window");
  EXPECT_NE(l.error().detail.find("1m"), std::string::npos);
  EXPECT_FALSE(WindowLayout::Make(seconds(10), {seconds(5)}, 60).ok());
}

TEST(WindowedCountsTest, EmptyWindowsAreZero) {
  const WindowLayout l = Layout(kDefaultWindows);
  WindowedCounts c(l, 2, 0);
  c.AdvanceTo(12345);
  for (size_t w = 0; w < 8; ++w) {
    EXPECT_EQ(c.Sum(w, 0), 0);
    EXPECT_EQ(c.Sum(w, 1), 0);
  }
}

TEST(WindowedCountsTest, FiveMinutesIsExactToTheTick) {
  const WindowLayout l = Layout({minutes(5)});
  WindowedCounts c(l, 1, 0);
  for (int64_t t = 1; t <= 200; ++t) {
    c.AdvanceTo(t);
    const double d = static_cast<double>(t);  // a different count every tick
    c.Add(&d);
    // The last 30 ticks: t-29 .. t.
    const int64_t from = std::max<int64_t>(1, t - 29);
    const int64_t sum = (from + t) * (t - from + 1) / 2;  // exact: one factor is even
    const double expected = static_cast<double>(sum);
    ASSERT_EQ(c.Sum(0, 0), expected) << "tick " << t;
  }
}

// Coarse buckets: the sum never counts events older than the window, and misses at most the
// oldest bucket less one tick. Checked against a brute-force sum at every tick.
TEST(WindowedCountsTest, CoarseBucketsStayWithinTheStatedErrorBound) {
  const WindowLayout l = Layout({minutes(30), hours(1)}, seconds(10), 60);
  WindowedCounts c(l, 1, 0);
  std::deque<double> history;  // events per tick, newest last
  uint64_t seed = 42;
  for (int64_t t = 1; t <= 2000; ++t) {
    c.AdvanceTo(t);
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const double d = static_cast<double>((seed >> 33) % 1000);  // bursty: 0..999 per tick
    c.Add(&d);
    history.push_back(d);
    for (size_t w = 0; w < 2; ++w) {
      const auto& win = l.windows()[w];
      const int64_t wt = win.buckets * win.ticks_per_bucket;
      const int64_t n = std::min<int64_t>(wt, static_cast<int64_t>(history.size()));
      const double exact = std::accumulate(history.end() - n, history.end(), 0.0);
      const int64_t slack = win.ticks_per_bucket - 1;
      const int64_t m = std::min<int64_t>(slack, n);
      const double oldest = std::accumulate(history.end() - n, history.end() - n + m, 0.0);
      ASSERT_LE(c.Sum(w, 0), exact) << "window " << w << " tick " << t;
      ASSERT_GE(c.Sum(w, 0), exact - oldest) << "window " << w << " tick " << t;
      // At a bucket boundary (the open bucket just filled) the window is exact.
      if (t % win.ticks_per_bucket == win.ticks_per_bucket - 1) {
        ASSERT_EQ(c.Sum(w, 0), exact) << "window " << w << " tick " << t;
      }
    }
  }
}

TEST(WindowedCountsTest, GapsEmptyWhatTheyCover) {
  const WindowLayout l = Layout({minutes(5), hours(1)});
  WindowedCounts c(l, 2, 0);
  const double d[2] = {3, 7};
  for (int64_t t = 1; t <= 10; ++t) {
    c.AdvanceTo(t);
    c.Add(d);
  }
  EXPECT_EQ(c.Sum(0, 0), 30);
  EXPECT_EQ(c.Sum(0, 1), 70);
  // A 2-minute stall (12 ticks): ticks 1..10 are still inside the 5m window (ticks -7..22).
  c.AdvanceTo(22);
  EXPECT_EQ(c.Sum(0, 0), 30);
  EXPECT_EQ(c.Sum(1, 1), 70);
  // Past the window: 5m is empty, 1h still holds everything.
  c.AdvanceTo(45);
  EXPECT_EQ(c.Sum(0, 0), 0);
  EXPECT_EQ(c.Sum(1, 0), 30);
  // A stall longer than every window empties them all, counters alike.
  c.AdvanceTo(45 + 1000);
  EXPECT_EQ(c.Sum(1, 0), 0);
  EXPECT_EQ(c.Sum(1, 1), 0);
  c.Add(d);
  EXPECT_EQ(c.Sum(0, 1), 7);
  EXPECT_EQ(c.Sum(1, 1), 7);
}

// 30 days of 10s ticks, twice round the 30d ring (and thousands of times round the others),
// with fractional events: the sums follow the brute force with no drift.
TEST(WindowedCountsTest, ThirtyDayWrapAroundWithoutDrift) {
  const WindowLayout l = Layout(kDefaultWindows);
  WindowedCounts c(l, 2, 0);
  const int64_t ticks_30d = int64_t{30} * 24 * 360;
  const double d[2] = {0.1, 1};
  for (int64_t t = 1; t <= 2 * ticks_30d + 777; ++t) {
    c.AdvanceTo(t);
    c.Add(d);
  }
  for (size_t w = 0; w < l.windows().size(); ++w) {
    const auto& win = l.windows()[w];
    const int64_t full = win.buckets * win.ticks_per_bucket;
    // Steady one event per tick: the window holds its n-1 closed buckets plus the open one.
    const int64_t t = 2 * ticks_30d + 777;
    const int64_t expected =
        (win.buckets - 1) * win.ticks_per_bucket + t % win.ticks_per_bucket + 1;
    EXPECT_EQ(c.Sum(w, 1), static_cast<double>(std::min(expected, full))) << w;
    EXPECT_NEAR(c.Sum(w, 0), 0.1 * static_cast<double>(std::min(expected, full)),
                1e-6 * static_cast<double>(full))
        << w;
  }
}

TEST(WindowedCountsTest, HeapBytesForTheDefaultLayoutFitTheBudget) {
  const WindowLayout l = Layout(kDefaultWindows);
  WindowedCounts c(l, 2, 0);
  // 442 float slots x 2 counters + (1 + 2 x 8 windows) x 2 counters doubles.
  EXPECT_EQ(c.HeapBytes(), 442u * 2 * 4 + (1 + 2 * 8) * 2 * 8);
  EXPECT_LT(c.HeapBytes(), 4096u);
}

}  // namespace
}  // namespace lookout::slo
