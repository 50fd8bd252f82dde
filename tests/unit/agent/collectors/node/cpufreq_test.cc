#include "agent/collectors/node/cpufreq.h"

#include <filesystem>
#include <fstream>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseCpufreqValues, AbsentFilesHaveNoValueBadOnesFail) {
  CpufreqContents c;
  c[kScalingCurFreq] = "1500000\n";
  c[kCpuinfoMaxFreq] = " 2450000 ";
  auto v = ParseCpufreqValues(c);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[kScalingCurFreq], 1500000u);
  EXPECT_EQ((*v)[kCpuinfoMaxFreq], 2450000u);
  EXPECT_FALSE((*v)[kCpuinfoCurFreq].has_value());
  for (const char* bad : {"", "-1", "1.5e6", "<unsupported>", "18446744073709551616"}) {
    c[kCpuinfoTransitionLatency] = bad;  // read by procfs though not exposed: still fails
    EXPECT_FALSE(ParseCpufreqValues(c).ok()) << bad;
  }
}

TEST(CpufreqCollector, SixtyFourCpusTwoOffline) {
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = testing::FixturePath("node_big/sys");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewCpufreqCollector(cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 6u);
  for (const auto& f : out) EXPECT_EQ(f.samples.size(), 62u) << f.name;
  EXPECT_EQ(out[0].name, "node_cpu_frequency_hertz");
  EXPECT_EQ(out[0].samples[0].value, 1.5e9);  // cpu0: 1500000 kHz
}

TEST(CpufreqCollector, FilesNotExposedAreNotRead) {
  // procfs 0.8 reads scaling_driver, scaling_governor, ... and fails on any error, ENOENT too;
  // lookout reads only what it exposes (README).
  namespace fs = std::filesystem;
  testing::TempDir dir;
  fs::copy(testing::FixturePath("node_big/sys"), dir.path(),
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = dir.path();
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewCpufreqCollector(cfg)->Collect(out).ok());
  const fs::path policy = fs::path(dir.path()) / "devices/system/cpu/cpufreq/policy3";
  fs::remove(policy / "scaling_governor");
  std::ofstream(policy / "cpuinfo_transition_latency") << "garbage\n";
  out.clear();
  ASSERT_TRUE(NewCpufreqCollector(cfg)->Collect(out).ok());
  for (const auto& f : out) EXPECT_EQ(f.samples.size(), 62u) << f.name;
}

TEST(CpufreqCollector, NoCpufreqAnywhereIsNotAFailure) {
  testing::TempDir dir;
  dir.Write("devices/system/cpu/cpu0/online", "1\n");
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.sysfs = dir.path();
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewCpufreqCollector(cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
  dir.Write("devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "garbage\n");
  EXPECT_FALSE(NewCpufreqCollector(cfg)->Collect(out).ok());
}

}  // namespace
}  // namespace lookout
