#include "agent/collectors/node/meminfo.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseMeminfo, UnitsAndParenthesesLikeNodeExporter) {
  auto m = ParseMeminfo(testing::ReadFixture("node/proc/meminfo"));
  ASSERT_TRUE(m.ok());
  bool saw_active_anon = false, saw_hugepages = false;
  for (const auto& f : *m) {
    if (f.name == "Active_anon") {
      saw_active_anon = true;
      EXPECT_TRUE(f.has_unit);
      EXPECT_EQ(f.value, 1024000.0 * 1024);
    }
    if (f.name == "HugePages_Total") {
      saw_hugepages = true;
      EXPECT_FALSE(f.has_unit);
    }
  }
  EXPECT_TRUE(saw_active_anon);
  EXPECT_TRUE(saw_hugepages);
}

TEST(ParseMeminfo, Errors) {
  EXPECT_FALSE(ParseMeminfo("").ok());
  EXPECT_FALSE(ParseMeminfo("MemTotal 12 kB\n").ok());  // no colon
  EXPECT_FALSE(ParseMeminfo("MemTotal: twelve kB\n").ok());
  EXPECT_FALSE(ParseMeminfo("MemTotal:\n").ok());  // truncated
}

TEST(MeminfoCollector, Names) {
  auto c = NewMeminfoCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_memory_MemAvailable_bytes"), 20480000.0 * 1024);
  EXPECT_EQ(r.Value("node_memory_Inactive_file_bytes"), 12156928.0 * 1024);
  EXPECT_EQ(r.Value("node_memory_HugePages_Total"), 0);
  EXPECT_EQ(r.Family("node_memory_MemTotal_bytes")->type, MetricType::kGauge);
}

}  // namespace
}  // namespace lookout
