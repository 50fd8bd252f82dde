#include "agent/collectors/node/loadavg.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseLoadavg, Values) {
  auto l = ParseLoadavg("0.52 0.58 0.59 2/612 123456\n");
  ASSERT_TRUE(l.ok());
  EXPECT_DOUBLE_EQ((*l)[0], 0.52);
  EXPECT_DOUBLE_EQ((*l)[2], 0.59);
  EXPECT_FALSE(ParseLoadavg("").ok());
  EXPECT_FALSE(ParseLoadavg("0.1 0.2").ok());
  EXPECT_FALSE(ParseLoadavg("a b c d e").ok());
}

TEST(LoadavgCollector, Families) {
  auto c = NewLoadavgCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_DOUBLE_EQ(r.Value("node_load1"), 0.52);
  EXPECT_DOUBLE_EQ(r.Value("node_load15"), 0.59);
}

}  // namespace
}  // namespace lookout
