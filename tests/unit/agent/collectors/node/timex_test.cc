#include "agent/collectors/node/timex.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

double Value(const std::vector<MetricFamily>& fs, std::string_view name) {
  const MetricFamily* f = testing::FindFamily(fs, name);
  if (f == nullptr || f->samples.size() != 1) return std::nan("");
  return f->samples[0].value;
}

struct timex Sample() {
  struct timex tx {};
  tx.offset = -1500;            // us without STA_NANO
  tx.freq = -1234567;           // ppm << 16
  tx.maxerror = 16000000;       // us
  tx.esterror = 250;            // us
  tx.status = 0x0001 | 0x0040;  // STA_PLL | STA_UNSYNC
  tx.constant = 7;
  tx.tick = 10000;          // us
  tx.ppsfreq = 65536L * 3;  // 3 ppm
  tx.jitter = 2000;
  tx.shift = 4;
  tx.stabil = 65536 / 2;
  tx.jitcnt = 11;
  tx.calcnt = 12;
  tx.errcnt = 13;
  tx.stbcnt = 14;
  tx.tai = 37;
  return tx;
}

TEST(TimexFamilies, MicrosecondMode) {
  const auto fs = TimexFamilies(Sample(), TIME_OK);
  EXPECT_EQ(fs.size(), 17u);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_offset_seconds"), -0.0015);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_frequency_adjustment_ratio"),
                   1 + -1234567.0 / (1e6 * 65536.0));
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_maxerror_seconds"), 16);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_estimated_error_seconds"), 0.00025);
  EXPECT_EQ(Value(fs, "node_timex_status"), 65);
  EXPECT_EQ(Value(fs, "node_timex_loop_time_constant"), 7);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_tick_seconds"), 0.01);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_pps_frequency_hertz"), 3e-6);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_pps_jitter_seconds"), 0.002);
  EXPECT_EQ(Value(fs, "node_timex_pps_shift_seconds"), 4);  // not converted, as node_exporter
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_pps_stability_hertz"), 0.5e-6);
  EXPECT_EQ(Value(fs, "node_timex_pps_jitter_total"), 11);
  EXPECT_EQ(Value(fs, "node_timex_pps_calibration_total"), 12);
  EXPECT_EQ(Value(fs, "node_timex_pps_error_total"), 13);
  EXPECT_EQ(Value(fs, "node_timex_pps_stability_exceeded_total"), 14);
  EXPECT_EQ(Value(fs, "node_timex_tai_offset_seconds"), 37);
  EXPECT_EQ(Value(fs, "node_timex_sync_status"), 1);
  EXPECT_EQ(testing::FindFamily(fs, "node_timex_pps_error_total")->type, MetricType::kCounter);
  EXPECT_EQ(testing::FindFamily(fs, "node_timex_offset_seconds")->type, MetricType::kGauge);
}

TEST(TimexFamilies, NanosecondModeAndUnsynchronised) {
  struct timex tx = Sample();
  tx.status |= STA_NANO;
  const auto fs = TimexFamilies(tx, TIME_ERROR);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_offset_seconds"), -1.5e-6);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_pps_jitter_seconds"), 2e-6);
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_maxerror_seconds"), 16);  // always microseconds
  EXPECT_DOUBLE_EQ(Value(fs, "node_timex_tick_seconds"), 0.01);
  EXPECT_EQ(Value(fs, "node_timex_sync_status"), 0);
  for (int state : {TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT}) {
    EXPECT_EQ(Value(TimexFamilies(tx, state), "node_timex_sync_status"), 1) << state;
  }
}

TEST(TimexFamilies, Extremes) {
  struct timex tx {};
  tx.freq = 32768000;  // far beyond the kernel's +-500 ppm: still just converted
  tx.offset = std::numeric_limits<long>::min();
  const auto fs = TimexFamilies(tx, 0);
  EXPECT_TRUE(std::isfinite(Value(fs, "node_timex_offset_seconds")));
  EXPECT_EQ(Value(fs, "node_timex_frequency_adjustment_ratio"), 1 + 32768000.0 / (1e6 * 65536.0));
}

TEST(TimexCollector, ReadsTheKernel) {
  auto r = testing::Run(*NewTimexCollector(testing::FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.families.size(), 17u);
  const double sync = r.Value("node_timex_sync_status");
  EXPECT_TRUE(sync == 0 || sync == 1);
  EXPECT_GT(r.Value("node_timex_tick_seconds"), 0);
}

}  // namespace
}  // namespace lookout
