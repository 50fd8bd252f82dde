#include "agent/collectors/node/netstat.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseNetstatPairs, SignedValuesAndMisalignment) {
  auto v = ParseNetstatPairs(testing::ReadFixture("node/proc/net/snmp"));
  ASSERT_TRUE(v.ok());
  bool saw_maxconn = false;
  for (const auto& [k, x] : *v) {
    if (k == "Tcp_MaxConn") {
      saw_maxconn = true;
      EXPECT_EQ(x, -1);
    }
  }
  EXPECT_TRUE(saw_maxconn);
  EXPECT_FALSE(ParseNetstatPairs("Tcp: A B\n").ok());            // truncated: no value line
  EXPECT_FALSE(ParseNetstatPairs("Tcp: A B\nTcp: 1\n").ok());    // misaligned
  EXPECT_FALSE(ParseNetstatPairs("Tcp: A B\nUdp: 1 2\n").ok());  // wrong protocol
}

TEST(ParseSnmp6, ProtocolSplitAtTheSix) {
  auto v = ParseSnmp6(testing::ReadFixture("node/proc/net/snmp6"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].first, "Ip6_InReceives");
  EXPECT_EQ(v->back().first, "UdpLite6_InErrors");
}

TEST(NetstatCollector, DefaultFieldSubset) {
  auto r = testing::Run(*NewNetstatCollector(testing::FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_netstat_Tcp_InErrs"), 5);
  EXPECT_EQ(r.Value("node_netstat_Tcp_CurrEstab"), 0);
  EXPECT_EQ(r.Value("node_netstat_TcpExt_ListenDrops"), 3);
  EXPECT_EQ(r.Value("node_netstat_IpExt_InOctets"), 6286396970);
  EXPECT_EQ(r.Value("node_netstat_Ip6_OutOctets"), 8000);
  EXPECT_EQ(r.Value("node_netstat_Ip_Forwarding"), 1);
  EXPECT_EQ(r.Value("node_netstat_Udp6_InDatagrams"), 11);
  EXPECT_EQ(r.Family("node_netstat_Tcp_MaxConn"), nullptr);  // not in the default subset
  EXPECT_EQ(r.Family("node_netstat_Ip6_InReceives"), nullptr);
  EXPECT_EQ(r.Family("node_netstat_TcpExt_EmbryonicRsts"), nullptr);
  const auto* f = r.Family("node_netstat_Tcp_InSegs");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "Statistic TcpInSegs.");
}

// Kernels since 5.6 add MPTcpExt to /proc/net/netstat: its pair parses like the others (and the
// default field pattern leaves it out, as node_exporter's does).
TEST(ParseNetstatPairs, MPTcpExtLines) {
  auto v = ParseNetstatPairs(testing::ReadFixture("node/proc/net/netstat"));
  ASSERT_TRUE(v.ok()) << v.error().detail;
  bool found = false;
  for (const auto& [k, val] : *v) found = found || (k == "MPTcpExt_MPJoinSynRx" && val == 0);
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace lookout
