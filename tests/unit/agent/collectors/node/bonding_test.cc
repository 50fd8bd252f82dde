#include "agent/collectors/node/bonding.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

TEST(ParseBondingList, Fields) {
  EXPECT_EQ(ParseBondingList("bond0 bond1\n"), (std::vector<std::string>{"bond0", "bond1"}));
  EXPECT_TRUE(ParseBondingList("").empty());
  EXPECT_TRUE(ParseBondingList(" \n\t").empty());
  EXPECT_EQ(ParseBondingList("eth0\teth0").size(), 2u);  // counted twice, as node_exporter
  EXPECT_EQ(ParseBondingList(std::string(100000, 'a')).size(), 1u);
}

TEST(BondingSlaveUp, TrimmedExactWord) {
  EXPECT_TRUE(BondingSlaveUp("up\n"));
  EXPECT_TRUE(BondingSlaveUp(" up "));
  EXPECT_FALSE(BondingSlaveUp("down\n"));
  EXPECT_FALSE(BondingSlaveUp("going back\n"));
  EXPECT_FALSE(BondingSlaveUp("UP"));
  EXPECT_FALSE(BondingSlaveUp(""));
}

TEST(BondingCollector, FixtureBondWithOneSlaveDown) {
  auto r = testing::Run(*NewBondingCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.Value("node_bonding_slaves", {{"master", "bond0"}}), 2);
  EXPECT_EQ(r.Value("node_bonding_active", {{"master", "bond0"}}), 1);
  EXPECT_EQ(r.families.size(), 2u);
}

TEST(BondingCollector, AbsentRacesAndOldKernels) {
  testing::TempDir d;
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.sysfs = d.path();
  auto none = testing::Run(*NewBondingCollector(cfg));  // no bonding driver
  EXPECT_TRUE(none.status.ok());
  EXPECT_TRUE(none.families.empty());

  d.Write("class/net/bonding_masters", "\n");  // driver loaded, no bond
  EXPECT_TRUE(testing::Run(*NewBondingCollector(cfg)).families.empty());

  // bond1 uses the slave_<name> links of older kernels; bond2 vanished after the listing;
  // bond3 lost a slave between reading `slaves` and its status.
  d.Write("class/net/bonding_masters", "bond1 bond2 bond3 bond1\n");
  d.Write("class/net/bond1/bonding/slaves", "eth4 eth5\n");
  d.Write("class/net/bond1/slave_eth4/bonding_slave/mii_status", "up\n");
  d.Write("class/net/bond1/slave_eth5/bonding_slave/mii_status", "up\n");
  d.Write("class/net/bond3/bonding/slaves", "eth6 eth7\n");
  d.Write("class/net/bond3/lower_eth6/bonding_slave/mii_status", "up\n");
  auto r = testing::Run(*NewBondingCollector(cfg));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.SeriesCount("node_bonding_slaves"), 1u);
  EXPECT_EQ(r.Value("node_bonding_slaves", {{"master", "bond1"}}), 2);
  EXPECT_EQ(r.Value("node_bonding_active", {{"master", "bond1"}}), 2);

  // An unreadable status (a directory where the file should be) is an error, not a race.
  std::filesystem::create_directories(d.path() +
                                      "/class/net/bond3/lower_eth7/bonding_slave/mii_status");
  EXPECT_FALSE(testing::Run(*NewBondingCollector(cfg)).status.ok());
}

}  // namespace
}  // namespace lookout
