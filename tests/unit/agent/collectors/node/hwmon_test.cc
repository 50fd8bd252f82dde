#include "agent/collectors/node/hwmon.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/utf8.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

TEST(ExplodeHwmonFileName, NodeExportersSplit) {
  auto f = ExplodeHwmonFileName("temp1_crit_alarm");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "temp");
  EXPECT_EQ(f->number, 1);
  EXPECT_EQ(f->property, "crit_alarm");
  f = ExplodeHwmonFileName("beep_enable");  // no number: the whole name is the type
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "beep_enable");
  EXPECT_EQ(f->number, 0);
  EXPECT_EQ(f->property, "");
  f = ExplodeHwmonFileName("pwm1");
  EXPECT_EQ(f->property, "");
  f = ExplodeHwmonFileName("fan_1x");  // the regexp backtracks to type "fan"
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "fan");
  EXPECT_EQ(f->property, "1x");
  EXPECT_FALSE(ExplodeHwmonFileName("temp1x"));
  EXPECT_FALSE(ExplodeHwmonFileName("1_input"));
  EXPECT_FALSE(ExplodeHwmonFileName("temp99999999999999999999_input"));
  EXPECT_FALSE(ExplodeHwmonFileName(""));
}

TEST(CleanHwmonName, LowerReplaceTrim) {
  EXPECT_EQ(CleanHwmonName("acpi-tz 0\n"), "acpi_tz_0");
  EXPECT_EQ(CleanHwmonName("0000:00:18.3"), "0000:00:18_3");
  EXPECT_EQ(CleanHwmonName("LNXSYBUS:00"), "lnxsybus:00");
  EXPECT_EQ(CleanHwmonName("__x__"), "x");
  EXPECT_EQ(CleanHwmonName("a\xc3\xa9"
                           "b"),
            "a_b");  // one "_" per character
  EXPECT_EQ(CleanHwmonName("a\xff\xfe"
                           "b"),
            "a__b");  // and per byte that is not UTF-8
  EXPECT_EQ(CleanHwmonName("---"), "");
}

TEST(HwmonMetricFor, NamesUnitsAndScales) {
  auto m = HwmonMetricFor("temp", "input", false);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "node_hwmon_temp_celsius");
  EXPECT_EQ(m->multiplier, 0.001);
  EXPECT_EQ(HwmonMetricFor("temp", "crit_alarm", false)->name,
            "node_hwmon_temp_crit_alarm_celsius");  // node_exporter's name, unit and all
  EXPECT_EQ(HwmonMetricFor("temp", "type", false)->name, "node_hwmon_temp_type");
  EXPECT_EQ(HwmonMetricFor("pwm", "input", true)->name, "node_hwmon_pwm_input");
  EXPECT_EQ(HwmonMetricFor("pwm", "", true)->name, "node_hwmon_pwm");
  m = HwmonMetricFor("power", "average", false);
  EXPECT_EQ(m->name, "node_hwmon_power_average_watt");
  EXPECT_EQ(15010000 * m->multiplier / m->divisor, 15.01);  // divided, as Go divides
  EXPECT_EQ(HwmonMetricFor("energy", "input", false)->type, MetricType::kCounter);
  EXPECT_EQ(HwmonMetricFor("fan", "pulses", false)->name, "node_hwmon_fan_pulses");
  EXPECT_EQ(HwmonMetricFor("fan", "target", false)->name, "node_hwmon_fan_target_rpm");
  EXPECT_EQ(HwmonMetricFor("in", "alarm", false)->name, "node_hwmon_in_alarm");
  EXPECT_EQ(HwmonMetricFor("intrusion", "beep", false)->name, "node_hwmon_intrusion_beep_enabled");
  EXPECT_FALSE(HwmonMetricFor("temp", "label", false));
}

double Value(const std::vector<MetricFamily>& out, std::string_view name, std::string_view chip,
             std::string_view sensor) {
  const MetricFamily* f = testing::FindFamily(out, name);
  if (f == nullptr) return -1e9;
  for (const auto& s : f->samples) {
    if (testing::LabelValue(s, "chip") == chip && testing::LabelValue(s, "sensor") == sensor) {
      return s.value;
    }
  }
  return -1e9;
}

TEST(HwmonCollector, FixtureTree) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = testing::FixturePath("node_big/sys");
  auto c = NewHwmonCollector(cfg);
  std::vector<MetricFamily> out;
  // temp8_input of the Super-I/O reads "N/A": left out and counted, the rest kept.
  auto st = c->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(st.error().reason, "parse");
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "platform_coretemp_1", "temp1"), -5);
  EXPECT_EQ(Value(out, "node_hwmon_fan_rpm", "platform_applesmc_768", "fan1"), 2000);
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "acpi_tz_0", "temp1"), 27.8);
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "platform_nct6775_656", "temp8"), -1e9);
  EXPECT_EQ(Value(out, "node_hwmon_beep_enabled", "platform_nct6775_656", "beep_enable0"), 0);
  EXPECT_EQ(testing::FindFamily(out, "node_hwmon_chip_names")->samples.size(),
            10u);  // applesmc has no name
  // A second scrape reads from the cache and gives the same.
  std::vector<MetricFamily> again;
  (void)c->Collect(again);
  ASSERT_EQ(again.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(again[i].samples.size(), out[i].samples.size());
}

TEST(HwmonCollector, ReadErrorsVanishingChipsAndDuplicates) {
  testing::CopiedSysfs t;
  auto c = NewHwmonCollector(t.cfg);
  std::vector<MetricFamily> out;
  (void)c->Collect(out);
  // The k10temp chip is unbound: its directory goes away between scrapes.
  fs::remove_all(t.dir.path() + "/devices/pci0000:00/0000:00:18.3/hwmon");
  // A second acpi-tz 0 chip without a device: the same chip label as hwmon9; "hwmon11" sorts
  // first, so it wins, as in node_exporter.
  const std::string tz1 = "devices/virtual/thermal/thermal_zone1/hwmon/hwmon11";
  t.dir.Write(tz1 + "/name", "acpi-tz 0\n");
  t.dir.Write(tz1 + "/temp1_input", "31000\n");
  fs::create_directory_symlink("../../" + tz1, t.dir.path() + "/class/hwmon/hwmon11");
  out.clear();
  auto st = c->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "pci0000:00_0000:00:18_3", "temp1"), -1e9);
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "acpi_tz_0", "temp1"), 31);
  EXPECT_EQ(Value(out, "node_hwmon_temp_celsius", "platform_coretemp_0", "temp1"), 45);
  // A label with bytes that are not UTF-8: one U+FFFD per run, as Go's ToValidUTF8.
  EXPECT_EQ(ToValidUtf8("X\xff\xfeY\xc3"), "X\xef\xbf\xbdY\xef\xbf\xbd");
}

TEST(HwmonCollector, NoHwmonClass) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = "/nonexistent";
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewHwmonCollector(cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
