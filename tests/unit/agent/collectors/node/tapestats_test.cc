#include "agent/collectors/node/tapestats.h"

#include <cerrno>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

SysfsValue V(std::string text) { return {0, std::move(text)}; }

TEST(ParseTapeStats, GoParseUintBaseZeroAndAbsentFilesAsZero) {
  std::array<SysfsValue, 10> f;
  for (auto& x : f) x = V("0");
  f[1] = V("0x10");               // io_ns: base 0, as procfs's ValueParser
  f[6] = SysfsValue{ENOENT, ""};  // resid_cnt absent: procfs's zero value
  auto v = ParseTapeStats(f);
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)[1], 16u);
  EXPECT_EQ((*v)[6], 0u);
  f[4] = V("-1");  // node_exporter 1.5 panics on this one
  EXPECT_FALSE(ParseTapeStats(f));
  f[4] = SysfsValue{EIO, ""};
  EXPECT_FALSE(ParseTapeStats(f));
}

TEST(IsTapeStatsDevice, OnlyTheRewindingNode) {
  EXPECT_TRUE(IsTapeStatsDevice("st0"));
  EXPECT_TRUE(IsTapeStatsDevice("st12"));
  EXPECT_FALSE(IsTapeStatsDevice("nst0"));
  EXPECT_FALSE(IsTapeStatsDevice("st0a"));
  EXPECT_FALSE(IsTapeStatsDevice("st"));
}

TEST(TapestatsCollector, FixtureTreeAndABadDrive) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewTapestatsCollector(t.cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out[0].name, "node_tape_io_now");
  EXPECT_EQ(out[0].samples.size(), 2u);
  const MetricFamily* io = testing::FindFamily(out, "node_tape_io_time_seconds_total");
  EXPECT_EQ(io->samples[0].value, 9247011087720 * 0.000000001);

  t.dir.Write(
      "devices/pci0000:00/0000:00:1c.0/0000:04:00.0/host7/target7:0:0/7:0:0:0/scsi_tape/"
      "st0/stats/read_cnt",
      "garbage\n");
  out.clear();
  auto st = NewTapestatsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(out[0].samples.size(), 1u);  // st1 kept
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "device"), "st1");

  t.cfg.tapestats_ignored = Pattern("^st1$");
  out.clear();
  (void)NewTapestatsCollector(t.cfg)->Collect(out);
  EXPECT_TRUE(out.empty());  // st0 bad, st1 ignored
}

}  // namespace
}  // namespace lookout
