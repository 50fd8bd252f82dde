#include "agent/collectors/node/zfs.h"

#include <filesystem>
#include <string>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

// A scratch copy of the node_big procfs tree to break files in, and node options pointed at it.
using testing::CopiedProcfs;

using testing::SeriesWithPrefix;

constexpr char kHeader[] =
    "13 1 0x01 3 816 4398216494 2139481123446\n"
    "name                            type data\n";

TEST(ParseZfsKstat, Uint64RowsAfterTheHeaderOnly) {
  auto v = ParseZfsKstat(std::string(kHeader) +
                         "hits                            4    584321907\n"
                         "memory_available_bytes          3    -1152434176\n"  // int64: left out
                         "c                               6    7\n"            // ulong: left out
                         "truncated                       4\n"                 // ignored
                         "extra                           4    5 6 7\r\n"      // 3rd field
                         "erpt-dropped                    4    18446744073709551615\n");
  ASSERT_TRUE(v.ok()) << v.error().detail;
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0].name, "hits");
  EXPECT_EQ((*v)[0].value, 584321907u);
  EXPECT_EQ((*v)[1].name, "extra");
  EXPECT_EQ((*v)[1].value, 5u);
  EXPECT_EQ((*v)[2].value, UINT64_MAX);
  // Rows before the header are not read; a header of four words is no header.
  EXPECT_FALSE(ParseZfsKstat("hits 4 1\n").ok());
  EXPECT_FALSE(ParseZfsKstat("name type data x\nhits 4 1\n").ok());
  EXPECT_FALSE(ParseZfsKstat("").ok());
  EXPECT_TRUE(ParseZfsKstat("  name   type data  \n").ok());  // Go's strings.Fields
}

TEST(ParseZfsKstat, BadValuesFailTheFile) {
  for (const char* bad : {"garbage", "-5", "+5", "18446744073709551616", "0x10", "1_000"}) {
    EXPECT_FALSE(ParseZfsKstat(std::string(kHeader) + "hits 4 " + bad + "\n").ok()) << bad;
  }
  // A type-3 value is never parsed, so garbage there is harmless (node_exporter 1.5 too).
  EXPECT_TRUE(ParseZfsKstat(std::string(kHeader) + "x 3 garbage\n").ok());
  // A line over bufio.Scanner's 64 KiB after the header.
  EXPECT_FALSE(ParseZfsKstat(std::string(kHeader) + std::string(70000, 'x') + " 4 5\n").ok());
}

TEST(ParseZfsObjset, DatasetNameNamesTheRowsAfterIt) {
  auto v = ParseZfsObjset(std::string(kHeader) +
                          "writes                          4    1\n"
                          "dataset_name                    7    tank/my home\n"
                          "nread                           4    2\n");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 2u);
  EXPECT_FALSE((*v)[0].named);  // before dataset_name: zpool="" dataset=""
  EXPECT_TRUE((*v)[1].named);
  EXPECT_EQ((*v)[1].dataset, "tank/my");  // 1.5 keeps the third field only
  EXPECT_EQ((*v)[1].name, "nread");
  EXPECT_FALSE(ParseZfsObjset("dataset_name 7 tank\nreads 4 1\n").ok());
  EXPECT_FALSE(ParseZfsObjset(std::string(kHeader) + "reads 4 zz\n").ok());
}

TEST(ParseZfsPoolIo, ColumnsOfTheHeaderLine) {
  const std::string io =
      "25 3 0x00 1 80 21130673591 18749909907907817\n"
      "nread    nwritten reads    writes   wtime    wlentime wupdate  rtime    rlentime rupdate  "
      "wcnt     rcnt    \n";
  auto v = ParseZfsPoolIo(io + "1 2 3 4 5 6 7 8 9 10 11 12 13\n");  // a 13th value: ignored
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 12u);
  EXPECT_EQ((*v)[11].name, "rcnt");
  EXPECT_EQ((*v)[11].value, 12u);
  EXPECT_EQ(ParseZfsPoolIo(io + "1 2 3 4 5 6 7 8 9 10 11 12\n1 2 3 4 5 6 7 8 9 10 11 12\n")->size(),
            24u);  // repeated names: the collector keeps the first
  // node_exporter panics on a short line (index out of range): an error here.
  EXPECT_FALSE(ParseZfsPoolIo(io + "1 2 3\n").ok());
  EXPECT_FALSE(ParseZfsPoolIo(io + "x 2 3 4 5 6 7 8 9 10 11 12\n").ok());
  EXPECT_TRUE(ParseZfsPoolIo("")->empty());
}

TEST(ParseZfsPoolState, FirstLineLowered) {
  EXPECT_EQ(*ParseZfsPoolState("ONLINE\n"), "online");
  EXPECT_EQ(*ParseZfsPoolState("DEGRADED\r\n"), "degraded");
  EXPECT_EQ(*ParseZfsPoolState(" ONLINE\n"), " online");  // not trimmed: matches no state
  EXPECT_EQ(*ParseZfsPoolState(""), "");
  EXPECT_FALSE(ParseZfsPoolState(std::string(70000, 'A')).ok());
}

TEST(ZfsMetricName, LastDotPartWithUnderscores) {
  EXPECT_EQ(ZfsMetricName("erpt-dropped"), "erpt_dropped");
  EXPECT_EQ(ZfsMetricName("foo.bar"), "bar");
  EXPECT_EQ(ZfsMetricName("foo."), "");
  EXPECT_TRUE(ValidZfsMetricName("node_zfs_arc_a:b"));
  EXPECT_FALSE(ValidZfsMetricName("node_zfs_arc_a/b"));
  EXPECT_FALSE(ValidZfsMetricName("node_zfs_arc_h\xc3\xa9llo"));
  EXPECT_FALSE(ValidZfsMetricName(""));
}

TEST(ZfsCollector, FixtureTree) {
  CopiedProcfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewZfsCollector(t.cfg)->Collect(out).ok());
  // node_exporter 1.5 on the same tree: 261 node_zfs_* series.
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_"), 261u);
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_arc_"),
            122u);  // memory_available_bytes (type 3) left out
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_dbuf_"), 0u);  // 1.5 reads dbuf_stats, not dbufstats
  const MetricFamily* hits = testing::FindFamily(out, "node_zfs_arc_hits");
  ASSERT_NE(hits, nullptr);
  EXPECT_EQ(hits->help, "kstat.zfs.misc.arcstats.hits");
  EXPECT_EQ(hits->type, MetricType::kUntyped);
  EXPECT_EQ(hits->samples[0].value, 584321907);
  const MetricFamily* fm = testing::FindFamily(out, "node_zfs_fm_erpt_dropped");
  ASSERT_NE(fm, nullptr);
  EXPECT_EQ(fm->help, "kstat.zfs.misc.fm.erpt-dropped");
  const MetricFamily* state = testing::FindFamily(out, "node_zfs_zpool_state");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->type, MetricType::kGauge);
  EXPECT_EQ(state->samples.size(), 12u);
  for (const Sample& s : state->samples) {
    const bool on = (testing::LabelValue(s, "zpool") == "tank" &&
                     testing::LabelValue(s, "state") == "online") ||
                    (testing::LabelValue(s, "zpool") == "rpool" &&
                     testing::LabelValue(s, "state") == "degraded");
    EXPECT_EQ(s.value, on ? 1 : 0);
  }
  const MetricFamily* nread = testing::FindFamily(out, "node_zfs_zpool_dataset_nread");
  ASSERT_NE(nread, nullptr);
  EXPECT_EQ(nread->help, "kstat.zfs.misc.objset.nread");
  EXPECT_EQ(nread->samples.size(), 6u);
}

TEST(ZfsCollector, ABadFileIsLeftOutAndTheOthersKept) {
  CopiedProcfs t;
  const std::string arc = "spl/kstat/zfs/arcstats";
  std::string text = testing::ReadFixture("node_big/proc/" + arc);
  text.replace(text.find("584321907"), 9, "garbage");
  t.dir.Write(arc, text);
  t.dir.Write("spl/kstat/zfs/tank/state", "SUSPENDED\n");  // 1.5 knows no suspended: all 0
  std::vector<MetricFamily> out;
  auto st = NewZfsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_arc_"), 0u);
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_"), 261u - 122u);
  double tank_on = 0;
  for (const Sample& s : testing::FindFamily(out, "node_zfs_zpool_state")->samples) {
    if (testing::LabelValue(s, "zpool") == "tank") tank_on += s.value;
  }
  EXPECT_EQ(tank_on, 0);

  // A row twice: the first kept, as node_exporter's registry does.
  t.dir.Write(arc, testing::ReadFixture("node_big/proc/" + arc) +
                       "hits                            4    5\n");
  out.clear();
  st = NewZfsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(testing::FindFamily(out, "node_zfs_arc_hits")->samples.size(), 1u);
  EXPECT_EQ(testing::FindFamily(out, "node_zfs_arc_hits")->samples[0].value, 584321907);

  // A name that makes an invalid metric name (node_exporter panics): the file left out.
  t.dir.Write("spl/kstat/zfs/zil",
              std::string(kHeader) + "a/b                             4    5\n");
  out.clear();
  st = NewZfsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_zil_"), 0u);
}

TEST(ZfsCollector, NoZfsModuleIsNoSeriesAndNoFailure) {
  CopiedProcfs t;
  std::filesystem::remove_all(t.dir.path() + "/spl");
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewZfsCollector(t.cfg)->Collect(out).ok());  // node_exporter: success 0
  EXPECT_EQ(SeriesWithPrefix(out, "node_zfs_"), 0u);
}

}  // namespace
}  // namespace lookout
