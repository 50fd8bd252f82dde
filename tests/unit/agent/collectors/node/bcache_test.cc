#include "agent/collectors/node/bcache.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/go_float.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

constexpr uint64_t kTwo63 = uint64_t{1} << 63;
constexpr const char* kSetA = "fs/bcache/5f4b2c1e-8d3a-4e7f-9b6c-2a1d0e9f8c7b";
constexpr const char* kSetB = "fs/bcache/a8c1e2d3-4b5f-4607-8899-aabbccddeeff";

uint64_t Dehumanize(std::string_view s) {
  auto v = BcacheDehumanize(s);
  EXPECT_TRUE(v.ok()) << s;
  return v.ok() ? *v : 0;
}

TEST(GoFloatToUint64, AsGoOnAmd64) {
  EXPECT_EQ(GoFloat64ToUint64(3.75), 3u);
  EXPECT_EQ(GoFloat64ToUint64(-0.5), 0u);
  EXPECT_EQ(GoFloat64ToUint64(-5), uint64_t{0} - 5);
  EXPECT_EQ(GoFloat64ToUint64(0x1p63), kTwo63);
  EXPECT_EQ(GoFloat64ToUint64(1.8e19), uint64_t{18000000000000000000u});
  EXPECT_EQ(GoFloat64ToUint64(1e23), kTwo63);
  EXPECT_EQ(GoFloat64ToUint64(-1e23), kTwo63);
  EXPECT_EQ(GoFloat64ToUint64(std::numeric_limits<double>::infinity()), kTwo63);
  EXPECT_EQ(GoFloat64ToUint64(-std::numeric_limits<double>::infinity()), kTwo63);
  EXPECT_EQ(GoFloat64ToUint64(std::nan("")), kTwo63);
}

TEST(BcacheDehumanize, KernelHprintAndProcfsQuirks) {
  // Values node_exporter 1.5 printed for these fixture strings.
  EXPECT_EQ(Dehumanize("0.2k"), 200u);
  EXPECT_EQ(Dehumanize("45.5M"), 47697920u);
  EXPECT_EQ(Dehumanize("2.1G"), 2252341248u);
  EXPECT_EQ(Dehumanize("1.0T"), 1099511627776u);
  EXPECT_EQ(Dehumanize("0.0k"), 0u);
  EXPECT_EQ(Dehumanize("1.2.3M"), 1253376u);  // the second '.' and after: ignored
  EXPECT_EQ(Dehumanize("1.10M"), 2072576u);   // ".10" is ten tenths of procfs's 10.24
  EXPECT_EQ(Dehumanize("12x"), 0u);           // unknown unit: multiplied by 0
  EXPECT_EQ(Dehumanize("1.5m"), 0u);
  EXPECT_EQ(Dehumanize("412"), 412u);
  EXPECT_EQ(Dehumanize("3.75"), 3u);
  EXPECT_EQ(Dehumanize("1e3"), 1000u);
  EXPECT_EQ(Dehumanize("0x1p4"), 16u);
  EXPECT_EQ(Dehumanize("+7"), 7u);
  EXPECT_EQ(Dehumanize("1_000"), 1000u);
  EXPECT_EQ(Dehumanize("-5"), uint64_t{0} - 5);
  // procfs adds the fraction to the negative whole part: -1 MiB + 5 * 1 MiB / 10.24 = -536576,
  // wrapped (node_exporter 1.5 shows 1.8446744073709015e19).
  EXPECT_EQ(Dehumanize("-1.5M"), uint64_t{0} - 536576);
  EXPECT_EQ(Dehumanize("Infk"), kTwo63);
  EXPECT_EQ(Dehumanize("999.9Y"), kTwo63);
  EXPECT_EQ(Dehumanize("99999999999999999999999"), kTwo63);
  for (std::string_view bad :
       {"", "N/A", "N/", "garbag", "0x10", "5 ", "5\r", "1.M", ".5M", "k", "nan", "1e400"}) {
    EXPECT_FALSE(BcacheDehumanize(bad).ok()) << bad;
  }
}

TEST(BcacheDehumanizeSigned, NegatesInTwosComplement) {
  EXPECT_EQ(*BcacheDehumanizeSigned("-24.0M"), -25165824);
  EXPECT_EQ(*BcacheDehumanizeSigned("-49.1k"), -50276);
  EXPECT_EQ(*BcacheDehumanizeSigned("146.4M"), 153501696);
  EXPECT_EQ(*BcacheDehumanizeSigned("--5"), 5);  // one '-' stripped; "-5" wraps, then negated
  EXPECT_FALSE(BcacheDehumanizeSigned("-").ok());
  EXPECT_FALSE(BcacheDehumanizeSigned("").ok());
}

TEST(ParseBcacheValue, DropsTheLastByte) {
  EXPECT_EQ(*ParseBcacheValue("412\n"), 412u);
  EXPECT_EQ(*ParseBcacheValue("412"), 41u);   // no newline: procfs loses the last digit
  EXPECT_FALSE(ParseBcacheValue("\n").ok());  // zero-length reply
  EXPECT_FALSE(ParseBcacheValue("").ok());    // node_exporter 1.5 panics
  EXPECT_FALSE(ParseBcacheValue("5\r\n").ok());
  EXPECT_FALSE(ParseBcacheValue("N/A\n").ok());
  EXPECT_FALSE(ParseBcacheValue(std::string(100000, '9') + "\n").ok());  // Go: out of range
}

TEST(ParseBcacheWritebackRateDebug, KernelFormat) {
  auto d = ParseBcacheWritebackRateDebug(
      "rate:\t\t4.0M/sec\ndirty:\t\t2.1G\ntarget:\t\t10.0G\nproportional:\t-24.0M\n"
      "integral:\t146.4M\nchange:\t\t-49.1k/sec\nnext io:\t27ms\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rate, 4194304u);
  EXPECT_EQ(d->dirty, 2252341248u);
  EXPECT_EQ(d->target, 10737418240u);
  EXPECT_EQ(d->proportional, -25165824);
  EXPECT_EQ(d->integral, 153501696);
  EXPECT_EQ(d->change, -50276);
  EXPECT_EQ(d->next_io_ms, 27);

  auto empty = ParseBcacheWritebackRateDebug("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->target, 0u);
  auto indented = ParseBcacheWritebackRateDebug(" rate:\t\tgarbage\n");  // not a label: ignored
  ASSERT_TRUE(indented.ok());
  EXPECT_EQ(indented->rate, 0u);
  EXPECT_EQ(ParseBcacheWritebackRateDebug("change:\t\t-1.5M\n")->change, -1560576);
  EXPECT_EQ(ParseBcacheWritebackRateDebug("rate:\t-4.0M/sec\n")->rate, uint64_t{0} - 4194304);
  EXPECT_EQ(ParseBcacheWritebackRateDebug("next io:\t-12ms\n")->next_io_ms, -12);
  for (std::string_view bad : {"rate:\t\tN/A\n", "target:\n", "dirty:\t\tlots\n",
                               "next io:\tsoon\n", "next io:\t1.5ms\n", "integral:\t1.k\n"}) {
    EXPECT_FALSE(ParseBcacheWritebackRateDebug(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseBcacheWritebackRateDebug(std::string(70000, 'x') + "\n").ok());  // Scanner
}

TEST(ParseBcachePriorityStats, UnusedAndMetadataOnly) {
  auto p = ParseBcachePriorityStats(
      "Unused:\t\t12%\nClean:\t\t70%\nDirty:\t\t15%\nMetadata:\t3%\nAverage:\t88\n"
      "Sectors per Q:\t2155872\nQuantiles:\t[3 4 5]\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->unused_percent, 12u);
  EXPECT_EQ(p->metadata_percent, 3u);
  EXPECT_EQ(ParseBcachePriorityStats("Metadata:\t7\n")->metadata_percent, 7u);
  EXPECT_EQ(ParseBcachePriorityStats("")->unused_percent, 0u);
  for (std::string_view bad : {"Unused:\t\tgarbage\n", "Unused:\n", "Unused:\t12.5%\n",
                               "Metadata:\t3 %\n", "Unused:\t-1%\n", "Unused:\t12%%\n"}) {
    EXPECT_FALSE(ParseBcachePriorityStats(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseBcachePriorityStats("Unused:\t" + std::string(70000, '1') + "%\n").ok());
}

TEST(BcacheNames, GlobsProcfsUses) {
  EXPECT_TRUE(IsBcacheSetName("5f4b2c1e-8d3a-4e7f-9b6c-2a1d0e9f8c7b"));
  EXPECT_TRUE(IsBcacheSetName("x-y"));
  EXPECT_FALSE(IsBcacheSetName("register_quiet"));
  EXPECT_FALSE(IsBcacheSetName("pendings_cleanup"));
  EXPECT_TRUE(IsBcacheDeviceLink("bdev0", "bdev"));
  EXPECT_TRUE(IsBcacheDeviceLink("bdev10", "bdev"));
  EXPECT_TRUE(IsBcacheDeviceLink("bdev0x", "bdev"));
  EXPECT_FALSE(IsBcacheDeviceLink("bdev", "bdev"));
  EXPECT_FALSE(IsBcacheDeviceLink("bdevZ", "bdev"));
  EXPECT_TRUE(IsBcacheDeviceLink("cache0", "cache"));
  EXPECT_FALSE(IsBcacheDeviceLink("cache_available_percent", "cache"));
}

size_t SeriesCount(const std::vector<MetricFamily>& out) {
  size_t n = 0;
  for (const auto& f : out) n += f.samples.size();
  return n;
}

double Value(const std::vector<MetricFamily>& out, std::string_view family,
             std::string_view uuid_prefix, std::string_view device = "") {
  const MetricFamily* f = testing::FindFamily(out, family);
  EXPECT_NE(f, nullptr) << family;
  if (f == nullptr) return -1;
  for (const Sample& s : f->samples) {
    if (testing::LabelValue(s, "uuid").substr(0, uuid_prefix.size()) != uuid_prefix) continue;
    if (!device.empty() && testing::LabelValue(s, "backing_device") != device &&
        testing::LabelValue(s, "cache_device") != device) {
      continue;
    }
    return s.value;
  }
  ADD_FAILURE() << family << " " << uuid_prefix << " " << device;
  return -1;
}

TEST(BcacheCollector, FixtureTreeAsNodeExporter) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewBcacheCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(out.size(), 26u);
  EXPECT_EQ(SeriesCount(out), 65u);  // node_exporter 1.5 on the same tree
  EXPECT_EQ(Value(out, "node_bcache_average_key_size_sectors", "5f4b"), 200);
  EXPECT_EQ(Value(out, "node_bcache_btree_cache_size_bytes", "a8c1"), 1283457024);
  EXPECT_EQ(Value(out, "node_bcache_congested", "a8c1"), 104857600);
  EXPECT_EQ(Value(out, "node_bcache_btree_read_average_duration_seconds", "5f4b"), 1180 * 1e-9);
  EXPECT_EQ(Value(out, "node_bcache_cache_hits_total", "5f4b", "bdev0"), 61234501);
  EXPECT_EQ(Value(out, "node_bcache_bypassed_bytes_total", "5f4b", "bdev1"), 73014444032);
  EXPECT_EQ(Value(out, "node_bcache_dirty_data_bytes", "5f4b", "bdev0"), 2252341248);
  EXPECT_EQ(Value(out, "node_bcache_writeback_rate_proportional_term", "5f4b", "bdev1"), -52324);
  EXPECT_EQ(Value(out, "node_bcache_writeback_change", "5f4b", "bdev0"), -50276);
  EXPECT_EQ(Value(out, "node_bcache_written_bytes_total", "a8c1", "cache0"), 18691697672192);
  EXPECT_EQ(testing::FindFamily(out, "node_bcache_priority_stats_unused_percent"), nullptr);
  const MetricFamily* dirty = testing::FindFamily(out, "node_bcache_dirty_data_bytes");
  ASSERT_EQ(dirty->samples.size(), 3u);
  EXPECT_EQ(dirty->samples[0].labels.size(), 2u);

  t.cfg.bcache_priority_stats = true;
  out.clear();
  ASSERT_TRUE(NewBcacheCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(SeriesCount(out), 69u);
  EXPECT_EQ(Value(out, "node_bcache_priority_stats_unused_percent", "5f4b", "cache0"), 12);
  EXPECT_EQ(Value(out, "node_bcache_priority_stats_metadata_percent", "5f4b", "cache0"), 3);
}

TEST(BcacheCollector, AbsentValueFilesReadZeroAsProcfs) {
  testing::CopiedSysfs t;
  namespace fs = std::filesystem;
  const fs::path root = t.dir.path();
  fs::remove(root / kSetA / "root_usage_percent");
  fs::remove_all(root / kSetA / "internal");
  fs::remove(root / kSetA / "bdev0/dirty_data");
  // A cache link whose device went away: all its values absent, zeros (node_exporter's too).
  fs::remove(root / kSetB / "cache0");
  fs::create_directory_symlink("../../../devices/gone/bcache", root / kSetB / "cache0");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewBcacheCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(SeriesCount(out), 65u);
  EXPECT_EQ(Value(out, "node_bcache_root_usage_percent", "5f4b"), 0);
  EXPECT_EQ(Value(out, "node_bcache_btree_nodes", "5f4b"), 0);
  EXPECT_EQ(Value(out, "node_bcache_dirty_data_bytes", "5f4b", "bdev0"), 0);
  EXPECT_EQ(Value(out, "node_bcache_written_bytes_total", "a8c1", "cache0"), 0);

  // ... but priority_stats must exist when asked for: that cache is left out.
  t.cfg.bcache_priority_stats = true;
  out.clear();
  auto st = NewBcacheCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(SeriesCount(out), 65u - 3u + 2u);  // set B's cache0 gone, set A's gains two
}

TEST(BcacheCollector, ABadSetOrDeviceIsLeftOutTheOthersKept) {
  {  // garbage in set B's own file: set B (10 + 13 + 3 series) left out
    testing::CopiedSysfs t;
    t.dir.Write(std::string(kSetB) + "/tree_depth", "xyz\n");
    std::vector<MetricFamily> out;
    auto st = NewBcacheCollector(t.cfg)->Collect(out);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.error().partial);
    EXPECT_EQ(SeriesCount(out), 65u - 26u);
  }
  {  // an empty file (node_exporter 1.5 panics) in set A's stats_five_minute: set A left out
    testing::CopiedSysfs t;
    t.dir.Write(std::string(kSetA) + "/stats_five_minute/cache_hits", "");
    std::vector<MetricFamily> out;
    auto st = NewBcacheCollector(t.cfg)->Collect(out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(SeriesCount(out), 26u);
  }
  {  // a vanished backing device (dangling bdev1): only it is left out
    testing::CopiedSysfs t;
    const std::filesystem::path link = std::filesystem::path(t.dir.path()) / kSetA / "bdev1";
    std::filesystem::remove(link);
    std::filesystem::create_directory_symlink("../../../devices/gone/bcache", link);
    std::vector<MetricFamily> out;
    auto st = NewBcacheCollector(t.cfg)->Collect(out);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.error().partial);
    EXPECT_EQ(SeriesCount(out), 65u - 13u);
    EXPECT_EQ(testing::FindFamily(out, "node_bcache_dirty_data_bytes")->samples.size(), 2u);
  }
  {  // bad writeback_rate_debug and a bad cache value: that bdev and that cache left out
    testing::CopiedSysfs t;
    t.dir.Write(std::string(kSetA) + "/bdev0/writeback_rate_debug", "target:\n");
    t.dir.Write(std::string(kSetB) + "/cache0/written", "N/A\n");
    std::vector<MetricFamily> out;
    auto st = NewBcacheCollector(t.cfg)->Collect(out);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().detail.find("1 more"), std::string::npos);
    EXPECT_EQ(SeriesCount(out), 65u - 13u - 3u);
  }
  {  // a regular file named like a set: not a directory, an error; the real sets kept
    testing::CopiedSysfs t;
    t.dir.Write("fs/bcache/foo-bar", "x\n");
    std::vector<MetricFamily> out;
    auto st = NewBcacheCollector(t.cfg)->Collect(out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(SeriesCount(out), 65u);
  }
}

TEST(BcacheCollector, NoBcacheNoSeriesNoFailure) {
  testing::CopiedSysfs t;
  std::filesystem::remove_all(std::filesystem::path(t.dir.path()) / "fs/bcache");
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewBcacheCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
  // Only register files (the module loaded, no set): no series either.
  t.dir.Write("fs/bcache/register", "");
  t.dir.Write("fs/bcache/register_quiet", "");
  EXPECT_TRUE(NewBcacheCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
