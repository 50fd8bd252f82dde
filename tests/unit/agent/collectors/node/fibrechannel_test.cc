#include "agent/collectors/node/fibrechannel.h"

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <set>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

// The fixture's hosts (tests/fixtures/node_big/sys/devices/...): host1 lpfc, host2 qla2xxx.
const std::string kHost1 = "devices/pci0000:00/0000:00:01.0/0000:02:00.0/host1/fc_host/host1/";
const std::string kHost2 = "devices/pci0000:80/0000:80:02.0/0000:81:00.0/host2/fc_host/host2/";

size_t SeriesCount(const std::vector<MetricFamily>& fs) {
  size_t n = 0;
  for (const auto& f : fs) n += f.samples.size();
  return n;
}

TEST(FcHexAttribute, FirstTwoBytesDroppedWhenLonger) {
  EXPECT_EQ(FcHexAttribute("0x10000090fa8a1d2e"), "10000090fa8a1d2e");
  EXPECT_EQ(FcHexAttribute("0x010e00"), "010e00");
  EXPECT_EQ(FcHexAttribute("abc"), "c");  // whatever the two bytes are
  EXPECT_EQ(FcHexAttribute("0x"), "0x");
  EXPECT_EQ(FcHexAttribute("ab"), "ab");
  EXPECT_EQ(FcHexAttribute(""), "");
}

TEST(ParseFcStatistic, GoParseUintBaseZeroAndAbsentAsZero) {
  const auto v = [](std::string text) { return ParseFcStatistic(SysfsValue{0, std::move(text)}); };
  EXPECT_EQ(v("0x1b4f3e2a9"), 0x1b4f3e2a9u);
  EXPECT_EQ(v("123"), 123u);
  EXPECT_EQ(v("0777"), 511u);
  EXPECT_EQ(v("0xffffffffffffffff"), kFcNotCounted);
  EXPECT_EQ(v("0xFFFFFFFFFFFFFFFE"), kFcNotCounted - 1);
  // node_exporter 1.5 dies on these (a nil pointer dereference in procfs).
  EXPECT_FALSE(v("0x10000000000000000"));
  EXPECT_FALSE(v("zz"));
  EXPECT_FALSE(v(""));
  EXPECT_FALSE(v("-0x1"));
  // Absent or refused as procfs skips them: its zero value.
  for (int err : {ENOENT, EOPNOTSUPP, EINVAL}) {
    EXPECT_EQ(ParseFcStatistic(SysfsValue{err, ""}), 0u) << err;
  }
  // procfs fails the class on these (EACCES included: it does not skip permission errors here).
  EXPECT_FALSE(ParseFcStatistic(SysfsValue{EACCES, ""}));
  EXPECT_FALSE(ParseFcStatistic(SysfsValue{EIO, ""}));
}

TEST(FcStatistics, FourteenDistinctCounters) {
  std::set<std::string_view> files, metrics;
  for (const FcStatistic& s : kFcStatistics) {
    files.insert(s.file);
    metrics.insert(s.metric);
    EXPECT_TRUE(s.metric.ends_with("_total")) << s.metric;
  }
  EXPECT_EQ(files.size(), 14u);
  EXPECT_EQ(metrics.size(), 14u);
  EXPECT_FALSE(files.contains("reset_statistics"));
  EXPECT_FALSE(files.contains("lip_count"));  // procfs 0.8 has it commented out
}

TEST(FibreChannelCollector, FixtureTree) {
  testing::CopiedSysfs t;
  testing::Collected c;
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  // node_exporter 1.5 on this tree: 28 series, 2 info and 13 counters per host (each host has
  // one statistic at 0xffffffffffffffff).
  EXPECT_EQ(SeriesCount(c.families), 28u);
  EXPECT_EQ(c.Value("node_fibrechannel_info",
                    {{"dev_loss_tmo", "45"},
                     {"fabric_name", "ffffffffffffffff"},
                     {"fc_host", "host2"},
                     {"port_id", "000000"},
                     {"port_name", "21000024ff7e4b1a"},
                     {"port_state", "Linkdown"},
                     {"port_type", "Unknown"},
                     {"speed", "Unknown"},
                     {"supported_classes", "Class 3"},
                     {"supported_speeds", "8 Gbit, 16 Gbit, 32 Gbit"},
                     {"symbolic_name", "QLE2742 FW:v9.08.02 DVR:v10.02.08.200-k"}}),
            1);
  EXPECT_EQ(c.Value("node_fibrechannel_rx_words_total", {{"fc_host", "host1"}}), 7635977030096);
  EXPECT_EQ(c.Value("node_fibrechannel_seconds_since_last_reset_total", {{"fc_host", "host2"}}),
            604800);
  // Not counted by the driver: left out, as node_exporter does.
  EXPECT_TRUE(std::isnan(c.Value("node_fibrechannel_dumped_frames_total", {{"fc_host", "host1"}})));
  EXPECT_EQ(c.Value("node_fibrechannel_dumped_frames_total", {{"fc_host", "host2"}}), 0);
  EXPECT_EQ(c.SeriesCount("node_fibrechannel_fcp_packet_aborts_total"), 1u);
  const MetricFamily* f = c.Family("node_fibrechannel_nos_total");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "Number Not_Operational Primitive Sequence received by host port");
  EXPECT_EQ(f->type, MetricType::kCounter);
  EXPECT_EQ(c.Family("node_fibrechannel_info")->type, MetricType::kGauge);
}

TEST(FibreChannelCollector, ABadHostIsLeftOutAndTheOthersKept) {
  testing::CopiedSysfs t;
  // A statistic that does not parse (node_exporter 1.5 dies on it): host2 left out.
  t.dir.Write(kHost2 + "statistics/tx_frames", "zz\n");
  testing::Collected c;
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(c.status.error().reason, "parse");
  EXPECT_EQ(SeriesCount(c.families), 14u);
  EXPECT_EQ(c.Value("node_fibrechannel_tx_frames_total", {{"fc_host", "host1"}}), 0x1b4f3e2a9);

  // An absent statistic counts 0 (procfs's zero value), with no error.
  fs::remove(t.dir.path() + "/" + kHost2 + "statistics/tx_frames");
  c = {};
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  EXPECT_EQ(c.Value("node_fibrechannel_tx_frames_total", {{"fc_host", "host2"}}), 0);

  // A missing attribute (node_exporter fails the collector): host1 left out.
  fs::remove(t.dir.path() + "/" + kHost1 + "node_name");
  c = {};
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(c.status.error().reason, "open");
  EXPECT_EQ(c.SeriesCount("node_fibrechannel_info"), 1u);
  EXPECT_EQ(SeriesCount(c.families), 14u);

  // No statistics directory (node_exporter: no data for every host): host2 left out too.
  fs::remove_all(t.dir.path() + "/" + kHost2 + "statistics");
  c = {};
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_TRUE(c.families.empty());
}

TEST(FibreChannelCollector, LongAndShortAttributes) {
  testing::CopiedSysfs t;
  t.dir.Write(kHost2 + "symbolic_name", std::string(300, 'S') + "\n");  // one 128-byte read
  t.dir.Write(kHost2 + "port_name", "0x\n");
  t.dir.Write(kHost2 + "speed", "");
  testing::Collected c;
  c.status = NewFibreChannelCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  const MetricFamily* info = c.Family("node_fibrechannel_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->samples.size(), 2u);
  const Sample& host2 = info->samples[1];
  EXPECT_EQ(testing::LabelValue(host2, "fc_host"), "host2");
  EXPECT_EQ(testing::LabelValue(host2, "symbolic_name"), std::string(128, 'S'));
  EXPECT_EQ(testing::LabelValue(host2, "port_name"), "0x");
  EXPECT_EQ(testing::LabelValue(host2, "speed"), "");
}

TEST(FibreChannelCollector, NoClassNoSeriesNoFailure) {
  testing::CopiedSysfs t;
  fs::remove_all(t.dir.path() + "/class/fc_host");
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewFibreChannelCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
