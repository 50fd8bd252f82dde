#include "agent/collectors/node/stat.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseProcStat, ReadsCounters) {
  auto s = ParseProcStat(testing::ReadFixture("node/proc/stat"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->boot_time, 1700000000);
  EXPECT_EQ(s->context_switches, 605384132);
  EXPECT_EQ(s->forks, 3812447);
  EXPECT_EQ(s->procs_running, 3);
  EXPECT_EQ(s->procs_blocked, 1);
  EXPECT_EQ(s->interrupts, 351935201);
}

TEST(ParseProcStat, VeryLongIntrLine) {
  std::string text = "btime 1\nctxt 2\nprocesses 3\nintr 99";
  for (int i = 0; i < 200000; ++i) text += " 0";
  text += "\n";
  auto s = ParseProcStat(text);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->interrupts, 99);
}

TEST(ParseProcStat, TruncatedFileIsAnError) {
  EXPECT_FALSE(ParseProcStat("cpu0 1 2 3 4\nintr 5\n").ok());
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("btime x\nctxt 1\nprocesses 1\n").ok());
}

TEST(StatCollector, Families) {
  auto c = NewStatCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_boot_time_seconds"), 1700000000);
  EXPECT_EQ(r.Value("node_forks_total"), 3812447);
  EXPECT_EQ(r.Family("node_context_switches_total")->type, MetricType::kCounter);
  EXPECT_EQ(r.Family("node_procs_running")->type, MetricType::kGauge);
}

}  // namespace
}  // namespace lookout
