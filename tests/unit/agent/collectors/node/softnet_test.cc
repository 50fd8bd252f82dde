#include "agent/collectors/node/softnet.h"

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseSoftnetStat, FixtureLinesByPosition) {
  // 8 online CPUs of 10; the 13th column (the kernel's CPU index) skips 5 and 6, and
  // node_exporter 1.5 numbers lines by position anyway.
  auto l = ParseSoftnetStat(testing::ReadFixture("node/proc/net/softnet_stat"));
  ASSERT_TRUE(l.ok()) << l.error().detail;
  ASSERT_EQ(l->size(), 8u);
  EXPECT_EQ((*l)[0].processed, 0x6a06e9abu);
  EXPECT_EQ((*l)[0].dropped, 0x13u);
  EXPECT_EQ((*l)[0].time_squeezed, 0xbbu);
}

TEST(ParseSoftnetStat, WidthsAndErrorsLikeProcfs) {
  const std::string nine = "00000010 00000001 00000002 0 0 0 0 0 0";
  auto l = ParseSoftnetStat(nine + "\n" + nine + " 0 0\r\n" + nine + " 0 0 0 0");  // 9, 11, 13
  ASSERT_TRUE(l.ok()) << l.error().detail;
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[2].time_squeezed, 2u);
  EXPECT_TRUE(ParseSoftnetStat("")->empty());
  EXPECT_FALSE(ParseSoftnetStat("0 0 0 0 0 0 0 0\n").ok());            // 8 columns
  EXPECT_FALSE(ParseSoftnetStat(nine + "\n\n").ok());                  // a blank line
  EXPECT_FALSE(ParseSoftnetStat("1ffffffff 0 0 0 0 0 0 0 0\n").ok());  // over 32 bits
  EXPECT_FALSE(ParseSoftnetStat("0x1 0 0 0 0 0 0 0 0\n").ok());
  EXPECT_FALSE(ParseSoftnetStat("-1 0 0 0 0 0 0 0 0\n").ok());
  // Columns after the third may hold anything (procfs 0.8 does not read them).
  EXPECT_TRUE(ParseSoftnetStat("1 2 3 zz zz zz zz zz zz\n").ok());
  // A line over 64 KiB ends the scan quietly, keeping what came before.
  auto huge = ParseSoftnetStat(nine + "\n" + std::string(70000, 'x') + "\n" + nine + "\n");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->size(), 1u);
}

}  // namespace
}  // namespace lookout
