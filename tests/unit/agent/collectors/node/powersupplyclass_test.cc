#include "agent/collectors/node/powersupplyclass.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(PowerSupplyAttributeFor, NodeExportersNamesAndUnits) {
  auto a = PowerSupplyAttributeFor("current_now");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->metric, "current_ampere");
  EXPECT_EQ(a->divisor, 1e6);
  EXPECT_EQ(PowerSupplyAttributeFor("cycle_count")->metric, "cyclecount");
  EXPECT_EQ(PowerSupplyAttributeFor("temp")->divisor, 10);
  EXPECT_TRUE(PowerSupplyAttributeFor("status")->info_label);
  EXPECT_FALSE(PowerSupplyAttributeFor("uevent"));
  EXPECT_FALSE(PowerSupplyAttributeFor("power_avg"));  // procfs reads it, node_exporter does not
}

TEST(ParsePowerSupplyValue, GoParseIntBaseZero) {
  EXPECT_EQ(ParsePowerSupplyValue("87"), 87);
  EXPECT_EQ(ParsePowerSupplyValue("0x10"), 16);
  EXPECT_EQ(ParsePowerSupplyValue("1_000"), 1000);
  EXPECT_EQ(ParsePowerSupplyValue("-52"), -52);
  EXPECT_FALSE(ParsePowerSupplyValue("N/A"));
  EXPECT_FALSE(ParsePowerSupplyValue(""));
}

TEST(PowerSupplyClassCollector, FixtureTree) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = testing::FixturePath("node_big/sys");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewPowerSupplyClassCollector(cfg)->Collect(out).ok());
  const MetricFamily* info = testing::FindFamily(out, "node_power_supply_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->samples.size(), 3u);
  EXPECT_EQ(testing::LabelValue(info->samples[1], "serial_number"), "1234");  // trimmed
  const MetricFamily* temp = testing::FindFamily(out, "node_power_supply_temp_celsius");
  ASSERT_NE(temp, nullptr);
  EXPECT_EQ(temp->samples[0].value, -5.2);
  EXPECT_EQ(testing::FindFamily(out, "node_power_supply_power_watt")->samples[0].value, 7.254);

  cfg.powersupply_ignored = Pattern("^ucsi-");
  out.clear();
  ASSERT_TRUE(NewPowerSupplyClassCollector(cfg)->Collect(out).ok());
  EXPECT_EQ(testing::FindFamily(out, "node_power_supply_info")->samples.size(), 2u);
}

TEST(PowerSupplyClassCollector, AValueThatIsNotANumberCostsOnlyItself) {
  testing::CopiedSysfs t;
  const std::string bat = "devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0/";
  t.dir.Write(bat + "capacity", "N/A\n");  // node_exporter 1.5 fails the collector here
  std::vector<MetricFamily> out;
  auto st = NewPowerSupplyClassCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(st.error().reason, "parse");
  EXPECT_EQ(testing::FindFamily(out, "node_power_supply_capacity"), nullptr);
  EXPECT_NE(testing::FindFamily(out, "node_power_supply_cyclecount"), nullptr);
  EXPECT_EQ(testing::FindFamily(out, "node_power_supply_info")->samples.size(), 3u);

  t.cfg.paths.sysfs = t.dir.path() + "/nowhere";
  out.clear();
  EXPECT_TRUE(NewPowerSupplyClassCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
