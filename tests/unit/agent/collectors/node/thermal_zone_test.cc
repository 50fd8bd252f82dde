#include "agent/collectors/node/thermal_zone.h"

#include <cerrno>
#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

SysfsValue V(std::string text) { return {0, std::move(text)}; }
SysfsValue E(int err) { return {err, ""}; }

TEST(ParseThermalZone, RequiredAndOptionalFilesLikeProcfs) {
  ThermalZoneFiles f{V("acpitz"), V("step_wise"), V("27800"), E(ENOENT), E(ENOENT)};
  auto z = ParseThermalZone(f);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->type, "acpitz");
  EXPECT_EQ(z->temp_millicelsius, 27800);
  f.temp = V("-274000");
  EXPECT_EQ(ParseThermalZone(f)->temp_millicelsius, -274000);
  f.mode = E(EACCES);  // optional: unreadable is fine
  f.passive = V("0");
  EXPECT_TRUE(ParseThermalZone(f).ok());
  for (const auto& bad : {ThermalZoneFiles{E(ENOENT), V("p"), V("1"), E(ENOENT), E(ENOENT)},
                          ThermalZoneFiles{V("t"), E(ENOENT), V("1"), E(ENOENT), E(ENOENT)},
                          ThermalZoneFiles{V("t"), V("p"), V("27.8"), E(ENOENT), E(ENOENT)},
                          ThermalZoneFiles{V("t"), V("p"), V(""), E(ENOENT), E(ENOENT)},
                          ThermalZoneFiles{V("t"), V("p"), V("1"), E(EIO), E(ENOENT)},
                          ThermalZoneFiles{V("t"), V("p"), V("1"), E(ENOENT), V("-1")},
                          ThermalZoneFiles{V("t"), V("p"), V("1"), E(ENOENT), V("x")}}) {
    EXPECT_FALSE(ParseThermalZone(bad).ok());
  }
}

TEST(ParseCoolingDevice, SignedStates) {
  auto c = ParseCoolingDevice({V("intel_powerclamp"), V("50"), V("-1")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_state, 50);
  EXPECT_EQ(c->cur_state, -1);
  EXPECT_FALSE(ParseCoolingDevice({V("Fan"), V("1"), V("x")}).ok());
  EXPECT_FALSE(ParseCoolingDevice({V("Fan"), E(ENOENT), V("0")}).ok());
  EXPECT_FALSE(ParseCoolingDevice({E(EIO), V("1"), V("0")}).ok());
}

TEST(ThermalZoneCollector, FixtureTree) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = testing::FixturePath("node_big/sys");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewThermalZoneCollector(cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].samples.size(), 5u);  // zones
  EXPECT_EQ(out[0].samples[0].value, 27.8);
  EXPECT_EQ(out[1].samples.size(), 7u);  // cooling devices
}

TEST(ThermalZoneCollector, TempIsReadWholeAndTypesStayUtf8) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  fs::copy(testing::FixturePath("node_big/sys"), dir.path(),
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const std::string zone = "devices/virtual/thermal/thermal_zone0/";
  dir.Write(zone + "temp", std::string(200, '0') + "45000\n");     // procfs reads temp whole
  dir.Write(zone + "type", std::string(127, 'a') + "\xc3\xa9\n");  // the 128-byte cut splits é
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = dir.path();
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewThermalZoneCollector(cfg)->Collect(out).ok());
  EXPECT_EQ(out[0].samples[0].value, 45);
  EXPECT_EQ(out[0].samples[0].labels[1].value, std::string(127, 'a') + "\xef\xbf\xbd");
}

TEST(SysReadFile, OneReadOf128BytesTrimmed) {
  testing::TempDir dir;
  dir.Write("a", " 42 \n");
  dir.Write("long", std::string(200, '7'));
  EXPECT_EQ(SysReadFile(dir.path() + "/a").text, "42");
  EXPECT_EQ(SysReadFile(dir.path() + "/long").text.size(), 128u);
  EXPECT_EQ(SysReadFile(dir.path() + "/missing").err, ENOENT);
}

}  // namespace
}  // namespace lookout
