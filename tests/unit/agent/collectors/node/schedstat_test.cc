#include "agent/collectors/node/schedstat.h"

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseSchedstat, SixtyFourCpusAndTheirDomains) {
  auto cpus = ParseSchedstat(testing::ReadFixture("node/proc/schedstat"));
  ASSERT_EQ(cpus.size(), 64u);
  EXPECT_EQ(cpus[0].cpu, "0");
  EXPECT_EQ(cpus[0].running_nanoseconds, 5202200411151u);
  EXPECT_EQ(cpus[0].waiting_nanoseconds, 915366038758u);
  EXPECT_EQ(cpus[0].timeslices, 90711862u);
  EXPECT_EQ(cpus[63].cpu, "63");
}

TEST(ParseSchedstat, ProcfsRegexpSemantics) {
  EXPECT_TRUE(ParseSchedstat("").empty());
  EXPECT_TRUE(ParseSchedstat("version 15\ntimestamp 1\n").empty());
  // Unanchored: text before cpuN and extra numbers after the ninth are ignored.
  auto c = ParseSchedstat("xx cpu7 0 0 1 2 3 4 5 6 7 8 9\n");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].cpu, "7");
  EXPECT_EQ(c[0].running_nanoseconds, 5u);
  EXPECT_EQ(c[0].timeslices, 7u);
  // Too few numbers, two spaces, or a sign: not a match; skipped, not an error.
  EXPECT_TRUE(ParseSchedstat("cpu1 0 0 1 2 3 4 5 6\n").empty());
  EXPECT_TRUE(ParseSchedstat("cpu1 0  0 1 2 3 4 5 6 7\n").empty());
  EXPECT_TRUE(ParseSchedstat("cpu1 0 0 1 2 3 4 -5 6 7\n").empty());
  // A value over 64 bits skips its line only.
  auto o = ParseSchedstat("cpu0 0 0 0 0 0 0 99999999999999999999 0 0\ncpu1 0 0 0 0 0 0 1 2 3\n");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].cpu, "1");
  // A repeated CPU keeps its first line (node_exporter's registry keeps the first series).
  auto d = ParseSchedstat("cpu0 0 0 0 0 0 0 100 200 300\ncpu0 0 0 0 0 0 0 5 6 7\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].timeslices, 300u);
  // A line over 64 KiB ends the scan quietly.
  EXPECT_EQ(ParseSchedstat("cpu0 0 0 0 0 0 0 1 2 3\n" + std::string(70000, 'x') +
                           "\ncpu1 0 0 0 0 0 0 1 2 3\n")
                .size(),
            1u);
}

}  // namespace
}  // namespace lookout
