#include "agent/collectors/node/netdev.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseNetDev, HeaderDrivenColumnsAndNoSpaceAfterColon) {
  auto d = ParseNetDev(testing::ReadFixture("node/proc/net/dev"));
  ASSERT_TRUE(d.ok()) << d.error().detail;
  ASSERT_EQ(d->size(), 4u);
  EXPECT_EQ((*d)[2].device, "veth0a1b2c3");
  EXPECT_EQ((*d)[2].values[0].first, "receive_bytes");
  EXPECT_EQ((*d)[2].values[0].second, 12345678901234.0);
  EXPECT_EQ((*d)[2].values[13].first, "transmit_colls");
  EXPECT_FALSE(ParseNetDev("").ok());
  EXPECT_TRUE(ParseNetDev("Inter-|\n face |bytes|bytes\n eth0: 1 2\n").ok());
  EXPECT_FALSE(ParseNetDev("Inter-|\n face |bytes|bytes\n eth0: 1 2 3\n").ok());
  EXPECT_FALSE(ParseNetDev("Inter-|\n face |bytes|bytes\n eth0 1 2\n").ok());
}

TEST(NetdevCollector, FamiliesAndNohandler) {
  auto c = NewNetdevCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_network_receive_bytes_total", {{"device", "eth0"}}), 45326560);
  EXPECT_EQ(r.Value("node_network_receive_drop_total", {{"device", "eth0"}}), 3);
  EXPECT_EQ(r.Value("node_network_receive_multicast_total", {{"device", "eth0"}}), 12);
  EXPECT_EQ(r.Value("node_network_transmit_carrier_total", {{"device", "veth0a1b2c3"}}), 11);
  EXPECT_EQ(r.Value("node_network_receive_nohandler_total", {{"device", "eth0"}}), 7);
  EXPECT_EQ(r.SeriesCount("node_network_receive_nohandler_total"), 2u);  // veth has no sysfs dir
  EXPECT_EQ(r.SeriesCount("node_network_transmit_packets_total"), 4u);   // br12:40 too
}

TEST(NetdevCollector, DeviceExclude) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.netdev.exclude = Pattern("^(lo|veth.*)$");
  auto r = testing::Run(*NewNetdevCollector(cfg));
  EXPECT_EQ(r.SeriesCount("node_network_receive_bytes_total"), 2u);  // eth0, br12:40
}

}  // namespace
// A ':' in an interface name (an alias, "br12:40") must not end the name early and fail the
// whole collector (node_exporter #902, procfs #421): the name ends at the last ':'.
TEST(ParseNetDev, AColonInTheInterfaceName) {
  auto devs = ParseNetDev(testing::ReadFixture("node/proc/net/dev"));
  ASSERT_TRUE(devs.ok()) << devs.error().detail;
  std::vector<std::string> names;
  for (const auto& d : *devs) names.push_back(d.device);
  EXPECT_EQ(names, (std::vector<std::string>{"lo", "eth0", "veth0a1b2c3", "br12:40"}));
  EXPECT_EQ(devs->back().values.size(), 16u);
  EXPECT_EQ(devs->back().values[0].first, "receive_bytes");
  EXPECT_EQ(devs->back().values[0].second, 0);
}

}  // namespace lookout
