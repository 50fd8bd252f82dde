#include "agent/collectors/node/mdadm.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

const MdStat* Find(const std::vector<MdStat>& v, std::string_view name) {
  for (const auto& m : v) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

TEST(ParseMdstat, FixtureArrays) {
  auto r = ParseMdstat(testing::ReadFixture("node/proc/mdstat"));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_EQ(r->size(), 10u);
  const MdStat* m = Find(*r, "md0");  // healthy raid1 with a bitmap
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->activity_state, "active");
  EXPECT_EQ(m->disks_active, 2);
  EXPECT_EQ(m->disks_total, 2);
  EXPECT_EQ(m->blocks_total, 1046528);
  EXPECT_EQ(m->blocks_synced, 1046528);
  m = Find(*r, "md1");  // raid5, initial resync
  EXPECT_EQ(m->activity_state, "resyncing");
  EXPECT_EQ(m->blocks_synced, 246016);
  EXPECT_EQ(m->disks_active, 3);
  m = Find(*r, "md2");  // raid1 rebuilding onto a new disk, bitmap line after the sync line
  EXPECT_EQ(m->activity_state, "recovering");
  EXPECT_EQ(m->disks_active, 1);
  EXPECT_EQ(m->disks_total, 2);
  EXPECT_EQ(m->blocks_synced, 132224);
  m = Find(*r, "md127");  // inactive, two spares
  EXPECT_EQ(m->activity_state, "inactive");
  EXPECT_EQ(m->disks_active, 0);
  EXPECT_EQ(m->disks_total, 0);
  EXPECT_EQ(m->disks_spare, 2);
  EXPECT_EQ(m->blocks_total, 2093056);
  m = Find(*r, "md3");  // a failed disk and a spare
  EXPECT_EQ(m->activity_state, "active");
  EXPECT_EQ(m->disks_failed, 1);
  EXPECT_EQ(m->disks_spare, 1);
  EXPECT_EQ(m->disks_active, 1);
  m = Find(*r, "md4");  // raid0: disks counted on the device line
  EXPECT_EQ(m->disks_active, 2);
  EXPECT_EQ(m->disks_total, 2);
  m = Find(*r, "md5");  // raid6 check
  EXPECT_EQ(m->activity_state, "checking");
  EXPECT_EQ(m->blocks_synced, 92416);
  m = Find(*r, "md6");  // raid10 reshape: procfs knows no reshape, so active and fully synced
  EXPECT_EQ(m->activity_state, "active");
  EXPECT_EQ(m->blocks_synced, m->blocks_total);
  m = Find(*r, "md7");  // linear
  EXPECT_EQ(m->disks_total, 2);
  m = Find(*r, "md8");  // auto-read-only, resync=PENDING
  EXPECT_EQ(m->activity_state, "resyncing");
  EXPECT_EQ(m->blocks_synced, 0);
}

TEST(ParseMdstat, EmptyAndOdd) {
  EXPECT_TRUE(ParseMdstat("")->empty());
  EXPECT_TRUE(ParseMdstat("Personalities : \nunused devices: <none>\n")->empty());
  // Last array of a file cut short: fewer than 3 lines after its device line.
  EXPECT_FALSE(ParseMdstat("md0 : active raid1 sda[0]\n      100 blocks [1/1] [U]\n").ok());
  EXPECT_TRUE(ParseMdstat("md0 : active raid1 sda[0]\n      100 blocks [1/1] [U]\n\n").ok());
  EXPECT_FALSE(ParseMdstat("md0 :\n      1 blocks [1/1] [U]\n\n\n").ok());  // 2 words
  EXPECT_FALSE(ParseMdstat("md0 : active\n\n\n\n").ok());                   // no block count
  // Status lines: a block count first, [n/m] [U_] unless raid0/linear/inactive.
  EXPECT_FALSE(ParseMdstat("md0 : active raid1 sda[0]\n      blocks [1/1] [U]\n\n\n").ok());
  EXPECT_FALSE(ParseMdstat("md0 : active raid1 sda[0]\n      100 blocks [1/1]\n\n\n").ok());
  EXPECT_FALSE(ParseMdstat("md0 : active raid1 sda[0]\n      100 blocks [1/1] [UX]\n\n\n").ok());
  auto g = ParseMdstat("md9 : active faulty sda[0]\n      100 blocks super 1.2\n\n\n");
  EXPECT_FALSE(g.ok());  // an unknown personality still needs [n/m]
  // The last [n/m] [U_] of the line counts (greedy .*), the block count is the first word.
  auto two = ParseMdstat("md0 : active raid1 sda[0]\n  7 blocks [9/9] [UU] x [2/1] [U_]\n\n\n");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)[0].disks_total, 2);
  EXPECT_EQ((*two)[0].blocks_total, 7);
  // A sync line must have (done/total), a percentage, finish=...min and speed=...<unit>.
  const std::string head = "md0 : active raid1 sdb[1] sda[0]\n      100 blocks [2/2] [UU]\n";
  EXPECT_TRUE(ParseMdstat(head + "   resync = 1.0% (1/100) finish=1.0min speed=1K/sec\n\n").ok());
  EXPECT_FALSE(ParseMdstat(head + "   resync = 1.0% finish=1.0min speed=1K/sec\n\n").ok());
  EXPECT_FALSE(ParseMdstat(head + "   resync = x% (1/100) finish=1.0min speed=1K/sec\n\n").ok());
  EXPECT_FALSE(ParseMdstat(head + "   resync = 1.0% (1/100) finish=soon speed=1K/sec\n\n").ok());
  EXPECT_FALSE(ParseMdstat(head + "   resync = 1.0% (1/100) finish=1.0min speed=fast\n\n").ok());
  EXPECT_EQ((*ParseMdstat(head + "      resync=DELAYED\n\n"))[0].blocks_synced, 0);
  EXPECT_FALSE(ParseMdstat(head + "   recovery = 1% (99999999999999999999/1) finish=1min "
                                  "speed=1K/sec\n\n")
                   .ok());
  // Garbage where a device line is expected.
  EXPECT_FALSE(ParseMdstat("\x01\x02\x03 garbage here\nmore\nand\nmore\n").ok());
  EXPECT_FALSE(ParseMdstat("garbage\n").ok());
}

TEST(ParseMdstat, HugeInput) {
  std::string text = "Personalities : [raid1]\n";
  for (int i = 0; i < 20000; ++i) {
    text +=
        "md" + std::to_string(i) + " : active raid1 sdb[1] sda[0]\n      100 blocks [2/2] [UU]\n\n";
  }
  text += "unused devices: <none>\n";
  auto r = ParseMdstat(text);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 20000u);
  EXPECT_FALSE(ParseMdstat(std::string(1 << 20, 'x')).ok());
}

TEST(MdadmCollector, FixtureSeries) {
  auto r = testing::Run(*NewMdadmCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.families.size(), 5u);
  EXPECT_EQ(r.SeriesCount("node_md_state"), 50u);  // 10 arrays x 5 states
  EXPECT_EQ(r.SeriesCount("node_md_disks"), 30u);
  EXPECT_EQ(r.Value("node_md_state", {{"device", "md2"}, {"state", "recovering"}}), 1);
  EXPECT_EQ(r.Value("node_md_state", {{"device", "md2"}, {"state", "active"}}), 0);
  EXPECT_EQ(r.Value("node_md_state", {{"device", "md1"}, {"state", "resync"}}), 1);
  EXPECT_EQ(r.Value("node_md_state", {{"device", "md5"}, {"state", "check"}}), 1);
  EXPECT_EQ(r.Value("node_md_state", {{"device", "md127"}, {"state", "inactive"}}), 1);
  EXPECT_EQ(r.Value("node_md_disks", {{"device", "md3"}, {"state", "failed"}}), 1);
  EXPECT_EQ(r.Value("node_md_disks", {{"device", "md3"}, {"state", "spare"}}), 1);
  EXPECT_EQ(r.Value("node_md_disks_required", {{"device", "md5"}}), 6);
  EXPECT_EQ(r.Value("node_md_blocks_synced", {{"device", "md2"}}), 132224);
  EXPECT_EQ(r.Value("node_md_blocks", {{"device", "md4"}}), 2093056);
}

TEST(MdadmCollector, NoMdstatAndRepeatedNames) {
  testing::TempDir d;
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.procfs = d.path();
  auto none = testing::Run(*NewMdadmCollector(cfg));
  EXPECT_TRUE(none.status.ok());  // no md driver: no series, success (node_exporter: success 0)
  EXPECT_TRUE(none.families.empty());

  d.Write(
      "mdstat",
      "md0 : active raid1 sdb[1] sda[0]\n      100 blocks [2/2] [UU]\n\n"
      "md0 : active raid1 sdd[1] sdc[0]\n      200 blocks [2/1] [U_]\n\nunused devices: <none>\n");
  auto dup = testing::Run(*NewMdadmCollector(cfg));
  ASSERT_TRUE(dup.status.ok());
  EXPECT_EQ(dup.SeriesCount("node_md_blocks"), 1u);  // the registry keeps the first
  EXPECT_EQ(dup.Value("node_md_blocks", {{"device", "md0"}}), 100);

  d.Write("mdstat", "md0 : active raid1 sda[0]\n      lots of blocks\n\n\n");
  auto bad = testing::Run(*NewMdadmCollector(cfg));
  EXPECT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.error().reason, "parse");
}

}  // namespace
}  // namespace lookout
