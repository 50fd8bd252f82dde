#include "agent/collectors/node/rapl.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

TEST(SplitRaplZoneName, IndexFromTheNameOrFromEarlierUses) {
  std::unordered_map<std::string, int64_t> uses;
  auto z = SplitRaplZoneName("package-1", uses);
  EXPECT_EQ(z.name, "package");
  EXPECT_EQ(z.index, 1);
  EXPECT_EQ(SplitRaplZoneName("dram", uses).index, 0);
  EXPECT_EQ(SplitRaplZoneName("dram", uses).index, 1);     // a second "dram": index 1
  EXPECT_EQ(SplitRaplZoneName("package", uses).index, 2);  // after package-1
  z = SplitRaplZoneName("core-x2", uses);                  // not an integer: the name stays whole
  EXPECT_EQ(z.name, "core-x2");
  EXPECT_EQ(z.index, 0);
  z = SplitRaplZoneName("package-0-die-1", uses);  // more than one '-': whole
  EXPECT_EQ(z.name, "package-0-die-1");
  z = SplitRaplZoneName("psys-+7", uses);  // Go's Atoi takes a sign
  EXPECT_EQ(z.name, "psys");
  EXPECT_EQ(z.index, 7);
  z = SplitRaplZoneName("x-99999999999999999999", uses);  // out of range: whole
  EXPECT_EQ(z.name, "x-99999999999999999999");
}

TEST(SanitizeMetricNamePart, NodeExportersRegularExpression) {
  EXPECT_EQ(SanitizeMetricNamePart("package"), "package");
  EXPECT_EQ(SanitizeMetricNamePart("a b-c"), "a_b_c");
  EXPECT_EQ(SanitizeMetricNamePart("a-_-b"), "a__b");   // "-_" then "-"
  EXPECT_EQ(SanitizeMetricNamePart("a__-__b"), "a_b");  // underscores join the run
  EXPECT_EQ(SanitizeMetricNamePart("a__b"), "a__b");    // kept when nothing else is there
  EXPECT_EQ(SanitizeMetricNamePart("\xc3\xa9t\xff"), "_t_");
  EXPECT_EQ(SanitizeMetricNamePart(""), "");
}

TEST(RaplCollector, FixtureTree) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = testing::FixturePath("node_big/sys");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewRaplCollector(cfg)->Collect(out).ok());
  const MetricFamily* pkg = testing::FindFamily(out, "node_rapl_package_joules_total");
  ASSERT_NE(pkg, nullptr);
  ASSERT_EQ(pkg->samples.size(), 3u);  // intel-rapl-mmio:0, intel-rapl:0, intel-rapl:1
  EXPECT_EQ(pkg->samples[1].value, 124862.341522);
  EXPECT_EQ(pkg->samples[1].labels[1].value, cfg.paths.sysfs + "/class/powercap/intel-rapl:0");
  ASSERT_NE(testing::FindFamily(out, "node_rapl_dram_joules_total"), nullptr);
  EXPECT_EQ(testing::FindFamily(out, "node_rapl_dram_joules_total")->samples[1].labels[0].value,
            "1");

  cfg.rapl_zone_label = true;
  out.clear();
  ASSERT_TRUE(NewRaplCollector(cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "node_rapl_joules_total");
  EXPECT_EQ(out[0].samples.size(), 5u);
}

TEST(RaplCollector, BadZonesAndAbsentFiles) {
  testing::CopiedSysfs t;
  const testing::TempDir& dir = t.dir;
  NodeOptions& cfg = t.cfg;
  const std::string zone = "devices/virtual/powercap/intel-rapl/intel-rapl:1/";
  // One zone's counter is garbage: that zone is left out, the others stay (partial).
  dir.Write(zone + "energy_uj", "N/A\n");
  std::vector<MetricFamily> out;
  auto st = NewRaplCollector(cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(testing::FindFamily(out, "node_rapl_package_joules_total")->samples.size(), 2u);
  // "a--b" and "a.b" both name node_rapl_a_b_joules_total, with different help texts: the first
  // in directory order is kept, as node_exporter's registry keeps it.
  dir.Write(zone + "energy_uj", "5\n");
  dir.Write(zone + "name", "a.b\n");
  dir.Write("devices/virtual/powercap/intel-rapl/intel-rapl:0/name", "a--b\n");
  out.clear();
  st = NewRaplCollector(cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().reason, "help_conflict");
  ASSERT_NE(testing::FindFamily(out, "node_rapl_a_b_joules_total"), nullptr);
  EXPECT_EQ(testing::FindFamily(out, "node_rapl_a_b_joules_total")->samples.size(), 1u);
  EXPECT_EQ(testing::FindFamily(out, "node_rapl_a_b_joules_total")->help,
            "Current RAPL a--b value in joules");
  // A zone without max_energy_range_uj: no series and no failure (node_exporter's ErrNoData).
  fs::remove(dir.path() + "/" + zone + "max_energy_range_uj");
  out.clear();
  EXPECT_TRUE(NewRaplCollector(cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
  // No powercap at all.
  cfg.paths.sysfs = dir.path() + "/nowhere";
  EXPECT_TRUE(NewRaplCollector(cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
