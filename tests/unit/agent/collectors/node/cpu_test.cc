#include "agent/collectors/node/cpu.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;
using testing::ReadFixture;

TEST(ParseProcStatCpus, ConvertsTicksToSecondsAndSkipsAggregate) {
  auto cpus = ParseProcStatCpus(ReadFixture("node/proc/stat"), 100);
  ASSERT_TRUE(cpus.ok()) << cpus.error().detail;
  ASSERT_EQ(cpus->size(), 3u);  // cpu2 is offline: no line, no series
  EXPECT_EQ((*cpus)[0].cpu, "0");
  EXPECT_EQ((*cpus)[2].cpu, "3");
  EXPECT_DOUBLE_EQ((*cpus)[0].user, 2743.61);
  EXPECT_DOUBLE_EQ((*cpus)[0].idle, 120473.01);
  EXPECT_DOUBLE_EQ((*cpus)[0].guest, 1.0);
  EXPECT_DOUBLE_EQ((*cpus)[0].guest_nice, 0.05);
}

TEST(ParseProcStatCpus, OldKernelWithFewerColumns) {
  auto cpus = ParseProcStatCpus("cpu 1 2 3 4\ncpu0 100 200 300 400\n", 100);
  ASSERT_TRUE(cpus.ok());
  EXPECT_DOUBLE_EQ((*cpus)[0].idle, 4.0);
  EXPECT_DOUBLE_EQ((*cpus)[0].steal, 0.0);
}

TEST(ParseProcStatCpus, RejectsGarbageAndEmpty) {
  EXPECT_FALSE(ParseProcStatCpus("", 100).ok());
  EXPECT_FALSE(ParseProcStatCpus("cpu0 1 2 x 4\n", 100).ok());
  EXPECT_FALSE(ParseProcStatCpus("cpu0 1 2\n", 100).ok());  // truncated line
  EXPECT_EQ(ParseProcStatCpus("intr 1 2 3\n", 100).error().reason, "parse");
}

TEST(CpuCollector, NodeExporterNamesAndLabels) {
  auto c = NewCpuCollector(FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.SeriesCount("node_cpu_seconds_total"), 3u * 8u);
  EXPECT_EQ(r.SeriesCount("node_cpu_guest_seconds_total"), 3u * 2u);
  const double user_hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(r.Value("node_cpu_seconds_total", {{"cpu", "3"}, {"mode", "system"}}),
                   155759 / user_hz);
  EXPECT_TRUE(std::isnan(r.Value("node_cpu_seconds_total", {{"cpu", "2"}, {"mode", "idle"}})));
  // Thermal throttles: cpu0 and cpu1 share core 0, cpu3 is core 1; one package.
  EXPECT_EQ(r.SeriesCount("node_cpu_core_throttles_total"), 2u);
  EXPECT_EQ(r.Value("node_cpu_core_throttles_total", {{"core", "1"}, {"package", "0"}}), 9);
  EXPECT_EQ(r.Value("node_cpu_package_throttles_total", {{"package", "0"}}), 42);
}

}  // namespace
}  // namespace lookout
