// vmstat, pressure, uname, time, filefd, sockstat, os: parsers and collectors on the fixture tree.
#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/node/os_release.h"
#include "agent/collectors/node/pressure.h"
#include "agent/collectors/node/sockstat.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

TEST(VmstatCollector, DefaultFieldSubset) {
  auto r = testing::Run(*NewVmstatCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_vmstat_oom_kill"), 2);
  EXPECT_EQ(r.Value("node_vmstat_pgfault"), 1234567890);
  EXPECT_EQ(r.Value("node_vmstat_pgpgout"), 98765432);
  EXPECT_EQ(r.Family("node_vmstat_nr_dirty"), nullptr);  // not in the default subset
  EXPECT_EQ(r.Family("node_vmstat_pgalloc_dma"), nullptr);
  EXPECT_EQ(r.families.size(), 7u);
  EXPECT_EQ(r.Family("node_vmstat_pswpin")->type, MetricType::kUntyped);
}

TEST(ParsePressure, TotalsAndErrors) {
  auto t = ParsePressure(testing::ReadFixture("node/proc/pressure/io"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->some_us, 3110085);
  EXPECT_EQ(*t->full_us, 2964792);
  auto cpu_only_some = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
  ASSERT_TRUE(cpu_only_some.ok());  // kernels before 5.13 have no "full" line for cpu
  EXPECT_FALSE(cpu_only_some->full_us.has_value());
  EXPECT_FALSE(ParsePressure("").ok());
  EXPECT_FALSE(ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00\n").ok());  // truncated
  EXPECT_FALSE(ParsePressure("bogus total=1\n").ok());
}

TEST(PressureCollector, MissingResourceFileAndMissingPsi) {
  auto r = testing::Run(*NewPressureCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_DOUBLE_EQ(r.Value("node_pressure_cpu_waiting_seconds_total"), 4.317171);
  EXPECT_DOUBLE_EQ(r.Value("node_pressure_io_stalled_seconds_total"), 2.964792);
  EXPECT_EQ(r.Family("node_pressure_cpu_stalled_seconds_total"), nullptr);
  EXPECT_EQ(r.Family("node_pressure_memory_waiting_seconds_total"), nullptr);  // file missing

  testing::TempDir empty;  // a kernel without PSI at all
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.procfs = empty.path();
  auto none = testing::Run(*NewPressureCollector(cfg));
  EXPECT_TRUE(none.status.ok());
  EXPECT_TRUE(none.families.empty());
}

TEST(UnameCollector, Labels) {
  auto r = testing::Run(*NewUnameCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  const auto* f = r.Family("node_uname_info");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->samples.size(), 1u);
  EXPECT_EQ(f->samples[0].labels.size(), 6u);
  EXPECT_EQ(f->samples[0].labels[4].name, "sysname");
  EXPECT_EQ(f->samples[0].labels[4].value, "Linux");
}

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000250));
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }
};

TEST(TimeCollector, UsesTheInjectedClock) {
  auto r = testing::Run(*NewTimeCollector(FixtureNodeOptions(), std::make_shared<FixedClock>()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_DOUBLE_EQ(r.Value("node_time_seconds"), 1700000000.25);
}

TEST(TimeCollector, ClockSourcesFromSysfs) {
  auto r = testing::Run(*NewTimeCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_GT(r.Value("node_time_seconds"), 1.7e9);
  EXPECT_EQ(r.SeriesCount("node_time_clocksource_available_info"), 3u);
  EXPECT_EQ(
      r.Value("node_time_clocksource_current_info", {{"clocksource", "tsc"}, {"device", "0"}}), 1);
  EXPECT_EQ(r.SeriesCount("node_time_zone_offset_seconds"), 1u);
}

TEST(FilefdCollector, Values) {
  auto r = testing::Run(*NewFilefdCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_filefd_allocated"), 2112);
  EXPECT_EQ(r.Value("node_filefd_maximum"), 9223372036854775807.0);
}

TEST(ParseSockstat, PairsAndErrors) {
  auto v = ParseSockstat(testing::ReadFixture("node/proc/net/sockstat"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].first, "sockets_used");
  EXPECT_EQ((*v)[0].second, 229);
  EXPECT_FALSE(ParseSockstat("TCP: inuse\n").ok());
  EXPECT_FALSE(ParseSockstat("").ok());
}

TEST(SockstatCollector, MemBytesAndV6) {
  auto r = testing::Run(*NewSockstatCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_sockstat_TCP_tw"), 4);
  EXPECT_EQ(r.Value("node_sockstat_TCP_mem_bytes"), static_cast<double>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(r.Value("node_sockstat_TCP6_inuse"), 17);
  EXPECT_EQ(r.Value("node_sockstat_FRAG6_memory"), 0);
}

TEST(ParseOsRelease, QuotingAndComments) {
  auto kv = ParseOsRelease("# c\nNAME=\"A \\\"B\\\"\"\nID=x\nX='single quoted'\nBAD\n=\n");
  EXPECT_EQ(kv["NAME"], "A \"B\"");
  EXPECT_EQ(kv["ID"], "x");
  EXPECT_EQ(kv["X"], "single quoted");
  EXPECT_EQ(kv.size(), 3u);
}

TEST(OsCollector, InfoAndVersion) {
  auto r = testing::Run(*NewOsCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(
      r.Value("node_os_version", {{"id", "debian"}, {"id_like", ""}, {"name", "Debian GNU/Linux"}}),
      12);
  const auto* info = r.Family("node_os_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->samples[0].labels.size(), 12u);
}

}  // namespace
}  // namespace lookout
