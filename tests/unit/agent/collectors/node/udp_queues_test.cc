#include "agent/collectors/node/udp_queues.h"

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

constexpr const char* kHeader =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode ref pointer drops             \n";

std::string Line(const std::string& queues, const std::string& local = "0100007F:0035") {
  return "   12: " + local + " 00000000:0000 07 " + queues +
         " 00:00000000 00000000   101        0 18234 2 ffff8a1d03a4e000 0\n";
}

TEST(ParseUdpQueues, Fixtures) {
  auto v4 = ParseUdpQueues(testing::ReadFixture("node/proc/net/udp"));
  ASSERT_TRUE(v4.ok()) << v4.error().detail;
  EXPECT_EQ(v4->tx_queue, 0x1c0u);
  EXPECT_EQ(v4->rx_queue, 0x300u + 0x21c00u);
  auto v6 = ParseUdpQueues(testing::ReadFixture("node/proc/net/udp6"));
  ASSERT_TRUE(v6.ok()) << v6.error().detail;
  EXPECT_EQ(v6->tx_queue, 0x80u);
  EXPECT_EQ(v6->rx_queue, 0x900u);
}

TEST(ParseUdpQueues, EdgesLikeProcfs) {
  EXPECT_EQ(ParseUdpQueues(kHeader)->rx_queue, 0u);  // no sockets
  EXPECT_EQ(ParseUdpQueues("")->rx_queue, 0u);
  // The first line is skipped whatever it holds.
  EXPECT_EQ(ParseUdpQueues("junk\n" + Line("00000001:00000002"))->rx_queue, 2u);
  // Wraps like procfs's uint64 sum.
  auto w = ParseUdpQueues(kHeader + Line("FFFFFFFFFFFFFFFF:0") + Line("2:0"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->tx_queue, 1u);
  // Any unparseable socket line fails the file.
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("00000001")).ok());                // no rx
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("0000000G:00000000")).ok());       // bad hex
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("0:0", "7F00001:0035")).ok());     // odd length
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("0:0", "7F0000010A:0035")).ok());  // 5 bytes
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("0:0", "0100007F")).ok());         // no port
  EXPECT_FALSE(ParseUdpQueues(std::string(kHeader) + "   1: short line\n").ok());
  EXPECT_FALSE(ParseUdpQueues(kHeader + Line("0:0") + "\n").ok());              // a blank line
  EXPECT_FALSE(ParseUdpQueues(kHeader + std::string(70000, 'x') + "\n").ok());  // over 64 KiB
}

}  // namespace
}  // namespace lookout
