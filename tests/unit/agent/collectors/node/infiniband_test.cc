#include "agent/collectors/node/infiniband.h"

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <limits>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/go_float.h"
#include "agent/common/kept_files.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

// The fixture's HCAs (tests/fixtures/node_big/sys/devices/...).
const std::string kMlx5 = "devices/pci0000:00/0000:00:02.0/0000:05:00.0/infiniband/mlx5_0/";
const std::string kMlx4 = "devices/pci0000:80/0000:80:03.0/0000:82:00.0/infiniband/mlx4_0/";

size_t SeriesCount(const std::vector<MetricFamily>& fs) {
  size_t n = 0;
  for (const auto& f : fs) n += f.samples.size();
  return n;
}

TEST(ParseInfinibandState, IdBeforeTheOnlyColon) {
  EXPECT_EQ(ParseInfinibandState("4: ACTIVE\n"), 4u);
  EXPECT_EQ(ParseInfinibandState("5: LinkUp"), 5u);
  EXPECT_EQ(ParseInfinibandState(" 1 : DOWN \n"), 1u);
  EXPECT_EQ(ParseInfinibandState("4294967295: X"), 4294967295u);
  EXPECT_FALSE(ParseInfinibandState("4294967296: X"));  // ParseUint(s, 10, 32)
  EXPECT_FALSE(ParseInfinibandState("ACTIVE\n"));
  EXPECT_FALSE(ParseInfinibandState("4: ACTIVE: y"));  // three parts
  EXPECT_FALSE(ParseInfinibandState(""));
  EXPECT_FALSE(ParseInfinibandState(": ACTIVE"));
  EXPECT_FALSE(ParseInfinibandState("x: ACTIVE"));
  EXPECT_FALSE(ParseInfinibandState("+4: ACTIVE"));
  EXPECT_FALSE(ParseInfinibandState("-1: ACTIVE"));
  EXPECT_FALSE(ParseInfinibandState("0x4: ACTIVE"));
  EXPECT_FALSE(ParseInfinibandState("1_0: ACTIVE"));
}

TEST(ParseInfinibandRate, Float32GigabitsAsBytes) {
  EXPECT_EQ(ParseInfinibandRate("100 Gb/sec (4X EDR)\n"), 12500000000u);
  EXPECT_EQ(ParseInfinibandRate("40 Gb/sec (4X QDR)\n"), 5000000000u);
  EXPECT_EQ(ParseInfinibandRate("2.5 Gb/sec (1X)\n"), 312500000u);
  EXPECT_EQ(ParseInfinibandRate("14.0625 Gb/sec (4X)"), 1757812500u);
  EXPECT_EQ(ParseInfinibandRate("0.1 Gb/sec (1X)"), 12500000u);  // float32(0.1) * 125e6, cut
  EXPECT_EQ(ParseInfinibandRate("100 \n"), 12500000000u);        // the space is enough
  // What node_exporter 1.5 shows on amd64 for values no kernel writes.
  EXPECT_EQ(ParseInfinibandRate("-5 Gb/sec (4X)"), 18446744073084551616u);
  EXPECT_EQ(ParseInfinibandRate("1e30 Gb/sec"), kTwoTo63);
  EXPECT_EQ(ParseInfinibandRate("inf Gb/sec"), kTwoTo63);
  EXPECT_EQ(ParseInfinibandRate("NaN Gb/sec"), kTwoTo63);
  // procfs fails on these.
  EXPECT_FALSE(ParseInfinibandRate("100\n"));
  EXPECT_FALSE(ParseInfinibandRate("100"));
  EXPECT_FALSE(ParseInfinibandRate(""));
  EXPECT_FALSE(ParseInfinibandRate(" 100 Gb/sec"));  // empty first part
  EXPECT_FALSE(ParseInfinibandRate("fast Gb/sec"));
  EXPECT_FALSE(ParseInfinibandRate("0x10 Gb/sec"));
  EXPECT_FALSE(ParseInfinibandRate("1e39 Gb/sec"));  // beyond float32
  EXPECT_FALSE(ParseInfinibandRate("1e400 Gb/sec"));
}

TEST(GoFloat64ToUint64Amd64, AsGoConvertsOnAmd64) {
  EXPECT_EQ(GoFloat64ToUint64(0), 0u);
  EXPECT_EQ(GoFloat64ToUint64(12.9), 12u);
  EXPECT_EQ(GoFloat64ToUint64(-1), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(GoFloat64ToUint64(9223372036854775808.0), kTwoTo63);
  EXPECT_EQ(GoFloat64ToUint64(13835058055282163712.0), 13835058055282163712u);  // 1.5*2^63
  EXPECT_EQ(GoFloat64ToUint64(18446744073709551616.0), kTwoTo63);               // 2^64
  EXPECT_EQ(GoFloat64ToUint64(-1e30), kTwoTo63);
  EXPECT_EQ(GoFloat64ToUint64(std::nan("")), kTwoTo63);
}

TEST(InfinibandCounterFor, NodeExportersNames) {
  const InfinibandCounter* c = InfinibandCounterFor(false, "port_xmit_data");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->metric, "port_data_transmitted_bytes_total");
  EXPECT_TRUE(c->times4);
  EXPECT_EQ(InfinibandCounterFor(false, "VL15_dropped")->metric, "vl15_dropped_total");
  EXPECT_FALSE(InfinibandCounterFor(false, "port_xmit_wait")->times4);
  EXPECT_EQ(InfinibandCounterFor(true, "port_rcv_data_64")->metric,
            "legacy_data_received_bytes_total");
  EXPECT_TRUE(InfinibandCounterFor(true, "port_rcv_data_64")->times4);
  EXPECT_EQ(InfinibandCounterFor(true, "port_xmit_data"), nullptr);  // counters/ only
  EXPECT_EQ(InfinibandCounterFor(false, "port_xmit_data_64"), nullptr);
  EXPECT_EQ(InfinibandCounterFor(false, "out_of_buffer"), nullptr);  // a hw_counters name
  EXPECT_EQ(InfinibandCounterFor(false, "vl15_dropped"), nullptr);   // case matters
}

TEST(ParseInfinibandCounter, GoParseUintBaseZeroTimesFour) {
  const auto v = [](std::string text, bool times4 = false) {
    return ParseInfinibandCounter(SysfsValue{0, std::move(text)}, times4);
  };
  EXPECT_EQ(*v("42"), 42u);
  EXPECT_EQ(*v("0x10"), 16u);
  EXPECT_EQ(*v("0o17"), 15u);
  EXPECT_EQ(*v("010"), 8u);
  EXPECT_EQ(*v("1_000"), 1000u);
  EXPECT_EQ(*v("4294967295", true), 17179869180u);  // a saturated 32-bit port_xmit_data
  EXPECT_EQ(*v("4611686018427387905", true), 4u);   // wraps as Go's uint64 does
  EXPECT_EQ(*v("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  // Left out as procfs leaves them: not an error.
  auto na = v("N/A (no PMA)");
  ASSERT_TRUE(na.ok());
  EXPECT_FALSE(*na);
  for (int err : {ENOENT, EACCES, EPERM, EOPNOTSUPP, EINVAL}) {
    auto r = ParseInfinibandCounter(SysfsValue{err, ""}, false);
    ASSERT_TRUE(r.ok()) << err;
    EXPECT_FALSE(*r) << err;
  }
  // procfs fails the whole class on these.
  for (const char* bad : {"abc", "", "-1", "18446744073709551616", "1.5", "N/A"}) {
    auto r = v(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().reason, "parse") << bad;
  }
  auto eio = ParseInfinibandCounter(SysfsValue{EIO, ""}, false);
  ASSERT_FALSE(eio.ok());
  EXPECT_EQ(eio.error().reason, "read");
}

TEST(InfinibandCollector, FixtureTree) {
  testing::CopiedSysfs t;
  testing::Collected c;
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  // node_exporter 1.5 on this tree: 66 series (2 info, 3 ports x 3 gauges, 21 + 17 + 17
  // counters).
  EXPECT_EQ(SeriesCount(c.families), 66u);
  EXPECT_EQ(c.Value("node_infiniband_info", {{"board_id", "MT_0D90110009"},
                                             {"device", "mlx4_0"},
                                             {"firmware_version", "2.9.1000"},
                                             {"hca_type", "MT26428"}}),
            1);
  const Labels mlx5 = {{"device", "mlx5_0"}, {"port", "1"}};
  const Labels mlx4_1 = {{"device", "mlx4_0"}, {"port", "1"}};
  const Labels mlx4_2 = {{"device", "mlx4_0"}, {"port", "2"}};
  EXPECT_EQ(c.Value("node_infiniband_state_id", mlx4_2), 1);  // "1: DOWN"
  EXPECT_EQ(c.Value("node_infiniband_physical_state_id", mlx4_2), 2);
  EXPECT_EQ(c.Value("node_infiniband_rate_bytes_per_second", mlx5), 12.5e9);
  EXPECT_EQ(c.Value("node_infiniband_rate_bytes_per_second", mlx4_2), 312500000);
  EXPECT_EQ(c.Value("node_infiniband_port_data_transmitted_bytes_total", mlx5),
            2216984302377.0 * 4);
  EXPECT_EQ(c.Value("node_infiniband_port_data_received_bytes_total", mlx4_1), 17179869180);
  EXPECT_EQ(c.Value("node_infiniband_port_packets_received_total", mlx4_1), 4294967295);
  EXPECT_EQ(c.Value("node_infiniband_symbol_error_total", mlx4_1), 126);
  // The 32-bit PortCounters of mlx4_0 have no unicast/multicast files.
  EXPECT_EQ(c.SeriesCount("node_infiniband_unicast_packets_received_total"), 1u);
  EXPECT_EQ(c.SeriesCount("node_infiniband_port_discards_received_total"), 0u);
  const MetricFamily* f = c.Family("node_infiniband_vl15_dropped_total");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "Number of incoming VL15 packets dropped due to resource limitations.");
  EXPECT_EQ(f->type, MetricType::kCounter);
  EXPECT_EQ(c.Family("node_infiniband_rate_bytes_per_second")->type, MetricType::kGauge);
}

TEST(InfinibandCollector, ABadCounterPortOrDeviceIsLeftOutAndTheRestKept) {
  testing::CopiedSysfs t;
  // A counter that does not parse: that counter alone (node_exporter fails the collector).
  t.dir.Write(kMlx4 + "ports/2/counters/symbol_error", "garbage\n");
  testing::Collected c;
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(c.status.error().reason, "parse");
  EXPECT_EQ(SeriesCount(c.families), 65u);
  EXPECT_EQ(c.SeriesCount("node_infiniband_symbol_error_total"), 2u);

  // "N/A (no PMA)" is left out without an error, as procfs does.
  t.dir.Write(kMlx4 + "ports/2/counters/symbol_error", "N/A (no PMA)\n");
  c = {};
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok());
  EXPECT_EQ(SeriesCount(c.families), 65u);

  // A port whose state does not parse: the whole port (its 3 gauges and 16 counters).
  t.dir.Write(kMlx4 + "ports/2/state", "ACTIVE\n");
  c = {};
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(SeriesCount(c.families), 46u);
  EXPECT_EQ(c.SeriesCount("node_infiniband_state_id"), 2u);
  EXPECT_TRUE(
      std::isnan(c.Value("node_infiniband_state_id", {{"device", "mlx4_0"}, {"port", "2"}})));
  EXPECT_EQ(c.SeriesCount("node_infiniband_info"), 2u);  // the device itself is kept

  // A device without fw_ver: the device, with a partial error; mlx4_0 port 1 still there.
  fs::remove(t.dir.path() + "/" + kMlx5 + "fw_ver");
  c = {};
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(c.SeriesCount("node_infiniband_info"), 1u);
  EXPECT_EQ(SeriesCount(c.families), 21u);  // info + mlx4_0 port 1
}

// The class going away (the module unloaded) ends the run early: the files it kept are closed
// all the same, not held for devices that are gone.
TEST(InfinibandCollector, KeptFilesAreClosedWhenTheClassGoesAway) {
  testing::CopiedSysfs t;
  const size_t before = KeptFilesOpen();
  auto collector = NewInfinibandCollector(t.cfg);
  testing::Collected c;
  c.status = collector->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  EXPECT_GT(KeptFilesOpen(), before);
  std::filesystem::remove_all(t.dir.path() + "/class/infiniband");
  testing::Collected gone;
  gone.status = collector->Collect(gone.families);
  EXPECT_TRUE(gone.status.ok());
  EXPECT_EQ(SeriesCount(gone.families), 0u);
  EXPECT_EQ(KeptFilesOpen(), before);
}

TEST(InfinibandCollector, NoCountersDirectoryHcaTypeAbsentAndOddPortNames) {
  testing::CopiedSysfs t;
  // A port without counters (Intel irdma): state and rate kept, no error.
  fs::remove_all(t.dir.path() + "/" + kMlx4 + "ports/2/counters");
  // hca_type is optional; board_id longer than one 128-byte read is cut there.
  fs::remove(t.dir.path() + "/" + kMlx4 + "hca_type");
  t.dir.Write(kMlx5 + "board_id", std::string(200, 'B') + "\n");
  // "01" is port 1, as procfs's ParseUint reads it.
  fs::rename(t.dir.path() + "/" + kMlx5 + "ports/1", t.dir.path() + "/" + kMlx5 + "ports/01");
  testing::Collected c;
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  EXPECT_EQ(SeriesCount(c.families), 66u - 17u);
  EXPECT_EQ(c.Value("node_infiniband_state_id", {{"device", "mlx4_0"}, {"port", "2"}}), 1);
  EXPECT_EQ(c.Value("node_infiniband_info", {{"board_id", std::string(128, 'B')},
                                             {"device", "mlx5_0"},
                                             {"firmware_version", "16.35.2000"},
                                             {"hca_type", "MT4119"}}),
            1);
  EXPECT_EQ(c.Value("node_infiniband_info", {{"board_id", "MT_0D90110009"},
                                             {"device", "mlx4_0"},
                                             {"firmware_version", "2.9.1000"},
                                             {"hca_type", ""}}),
            1);
  EXPECT_EQ(c.Value("node_infiniband_link_downed_total", {{"device", "mlx5_0"}, {"port", "1"}}), 1);

  // A port directory not named by a number: left out with a partial error.
  fs::create_directories(t.dir.path() + "/" + kMlx5 + "ports/foo");
  c = {};
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_FALSE(c.status.ok());
  EXPECT_TRUE(c.status.error().partial);
  EXPECT_EQ(SeriesCount(c.families), 66u - 17u);
}

TEST(InfinibandCollector, LegacyCountersExt) {
  testing::CopiedSysfs t;
  const std::string ext = kMlx4 + "ports/1/counters_ext/";
  t.dir.Write(ext + "port_rcv_data_64", "1000\n");
  t.dir.Write(ext + "port_xmit_packets_64", "40\n");
  t.dir.Write(ext + "unknown", "garbage\n");  // not a known name: never read
  testing::Collected c;
  c.status = NewInfinibandCollector(t.cfg)->Collect(c.families);
  ASSERT_TRUE(c.status.ok()) << c.status.error().detail;
  const Labels mlx4_1 = {{"device", "mlx4_0"}, {"port", "1"}};
  EXPECT_EQ(c.Value("node_infiniband_legacy_data_received_bytes_total", mlx4_1), 4000);
  EXPECT_EQ(c.Value("node_infiniband_legacy_packets_transmitted_total", mlx4_1), 40);
  EXPECT_EQ(c.Family("node_infiniband_legacy_packets_transmitted_total")->help,
            "Number of data packets received on all links");  // node_exporter's own text
  EXPECT_EQ(SeriesCount(c.families), 68u);
}

TEST(InfinibandCollector, NoClassNoSeriesNoFailure) {
  testing::CopiedSysfs t;
  fs::remove_all(t.dir.path() + "/class/infiniband");
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewInfinibandCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
