#include "agent/collectors/node/arp.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseArpEntries, CountsByDeviceWhateverTheFlags) {
  auto e = ParseArpEntries(testing::ReadFixture("node/proc/net/arp"));
  ASSERT_TRUE(e.ok()) << e.error().detail;
  EXPECT_EQ(e->size(), 3u);
  EXPECT_EQ(e->at("eth0"), 3u);  // one of them incomplete (flags 0x0): still counted
  EXPECT_EQ(e->at("docker0"), 1u);
  EXPECT_EQ(e->at("br12:40"), 1u);
}

TEST(ArpCollector, DeviceNamesThatAreNotUtf8StayValid) {
  testing::TempDir dir;
  dir.Write("net/arp",
            "10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff * eth\xff"
            "0\n");
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.procfs = dir.path();
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewArpCollector(cfg)->Collect(out).ok());
  ASSERT_EQ(out[0].samples.size(), 1u);
  EXPECT_EQ(out[0].samples[0].labels[0].value,
            "eth\xef\xbf\xbd"
            "0");
}

TEST(ParseArpEntries, EdgesLikeNodeExporter) {
  EXPECT_TRUE(ParseArpEntries("")->empty());
  EXPECT_TRUE(
      ParseArpEntries("IP address       HW type     Flags       HW address            Mask     "
                      "Device\n")
          ->empty());
  // The device is the last field, however many there are.
  EXPECT_EQ(ParseArpEntries("10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff * x y eth9\n")->at("eth9"), 1u);
  EXPECT_FALSE(ParseArpEntries("10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff eth0\n").ok());      // 5 fields
  EXPECT_FALSE(ParseArpEntries("10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff * eth0\n\n").ok());  // blank
  EXPECT_FALSE(ParseArpEntries(std::string(70000, 'x') + "\n").ok());  // over 64 KiB
}

}  // namespace
}  // namespace lookout
