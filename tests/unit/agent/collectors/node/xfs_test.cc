#include "agent/collectors/node/xfs.h"

#include <string>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

// A 6.1 kernel's file (fs/xfs/xfs_stats.c), values numbered so each lands in a known place.
constexpr const char* kStats =
    "extent_alloc 1 2 3 4\n"
    "abt 5 6 7 8\n"
    "blk_map 9 10 11 12 13 14 15\n"
    "bmbt 16 17 18 19\n"
    "dir 20 21 22 23\n"
    "trans 24 25 26\n"
    "ig 27 28 29 30 31 32 33\n"
    "log 34 35 36 37 38\n"
    "push_ail 39 40 41 42 43 44 45 46 47 48\n"
    "xstrat 49 50\n"
    "rw 51 52\n"
    "attr 53 54 55 56\n"
    "icluster 57 58 59\n"
    "vnodes 60 61 62 63 64 65 66 67\n"
    "buf 68 69 70 71 72 73 74 75 76\n"
    "abtb2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "abtc2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "bmbt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "ibt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "fibt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "rmapbt 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "refcntbt 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "qm 0 0 0 0 0 0 0 0\n"
    "xpc 402227703808 318617604722 1741305618534\n"
    "defer_relog 0\n"
    "debug 0\n";

std::string With(const std::string& from, const std::string& to) {
  std::string s = kStats;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(ParseXfsStats, EveryLineOfA61Kernel) {
  auto s = ParseXfsStats(kStats);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->extent_alloc[0], 1u);
  EXPECT_EQ(s->blk_map[6], 15u);
  EXPECT_EQ(s->ig[6], 33u);
  EXPECT_EQ(s->rw[0], 51u);  // write calls first, as the kernel prints them
  EXPECT_EQ(s->rw[1], 52u);
  EXPECT_EQ(s->vnodes[6], 66u);
}

TEST(ParseXfsStats, WhatProcfsAcceptsAndRefuses) {
  // Accepted: empty file (all 0), a bare label, 7 vnodes, 9 qm, unknown numeric lines of any
  // length, CRLF, tabs, a repeated line (the last counts), u32 max.
  EXPECT_TRUE(ParseXfsStats("").ok());
  auto bare = ParseXfsStats(With("rw 51 52", "rw"));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->rw[1], 0u);
  EXPECT_TRUE(ParseXfsStats(With("vnodes 60 61 62 63 64 65 66 67", "vnodes 1 2 3 4 5 6 7")).ok());
  EXPECT_TRUE(ParseXfsStats(With("qm 0 0 0 0 0 0 0 0", "qm 0 0 0 0 0 0 0 0 0")).ok());
  EXPECT_TRUE(ParseXfsStats(With("fibt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", "fibt2 1")).ok());
  EXPECT_TRUE(ParseXfsStats(With("debug 0\n", "debug 0\nzoned 1 2 3\n")).ok());
  EXPECT_TRUE(ParseXfsStats("rw\t51\t\t52  \r\n").ok());
  auto dup = ParseXfsStats(With("debug 0\n", "debug 0\nrw 5 6\n"));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->rw[1], 6u);
  auto max = ParseXfsStats(With("rw 51", "rw 4294967295"));
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->rw[0], 4294967295u);

  // Refused (node_exporter 1.5 fails the collector on each of these).
  for (const std::string& bad : {
           With("rw 51", "rw 5x1"),                          // garbage in a known line
           With("xstrat 49", "xstrat garbage"),              // ... in a line not exposed
           With("rmapbt 0", "rmapbt x"),                     // ... in a line procfs ignores
           With("rw 51", "rw 4294967296"),                   // over u32
           With("defer_relog 0", "defer_relog 4294967296"),  // u64 in the kernel, u32 here
           With("xpc 402227703808", "xpc 18446744073709551616"),
           With("rw 51", "rw -1"),
           With("rw 51", "rw +1"),
           With("rw 51", "rw 0x10"),
           With("ig 27 28 29 30 31 32 33", "ig 27 28 29"),  // truncated line
           With("rw 51 52", "rw 51 52 53"),                 // one too many
           With("qm 0 0 0 0 0 0 0 0", "qm 0 0 0 0 0 0 0"),
           With("debug 0", "debug 0 1"),
           With("xpc 402227703808 318617604722 1741305618534", "xpc 1 2"),
           With("abtb2 0", "abtb2"),                  // 14 values
           With("debug 0\n", "debug 0\ngc xpc 0\n"),  // a word where a number belongs
           std::string(kStats).substr(0, std::string(kStats).size() - 40),       // cut mid-file
           With("debug 0\n", "debug 0\nfoo " + std::string(70000, '1') + "\n"),  // > 64 KiB
           With("rw 51", std::string("rw 51\0", 6)),
       }) {
    EXPECT_FALSE(ParseXfsStats(bad).ok()) << bad.substr(0, 200);
  }
}

TEST(XfsCollector, FixtureTreeAndABadFilesystem) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewXfsCollector(t.cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 39u);
  size_t series = 0;
  for (const auto& f : out) series += f.samples.size();
  EXPECT_EQ(series, 78u);  // node_exporter 1.5 on this tree: 78
  const MetricFamily* rd = testing::FindFamily(out, "node_xfs_read_calls_total");
  ASSERT_NE(rd, nullptr);
  EXPECT_EQ(rd->help, "Number of read(2) system calls made to files in a filesystem.");
  EXPECT_EQ(testing::LabelValue(rd->samples[0], "device"), "nvme0n1p2");
  EXPECT_EQ(rd->samples[0].value, 7719362);
  EXPECT_EQ(rd->samples[1].value, 62851724);

  // One filesystem's file broken: that one left out, a partial error, the other kept.
  t.dir.Write("fs/xfs/sda1/stats/stats", With("rw 51", "rw 5x1"));
  out.clear();
  auto st = NewXfsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  ASSERT_EQ(out.size(), 39u);
  EXPECT_EQ(out[0].samples.size(), 1u);
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "device"), "nvme0n1p2");

  // An entry without stats/stats is not a filesystem (the glob does not match it).
  std::filesystem::remove_all(t.dir.path() + "/fs/xfs/sda1/stats");
  out.clear();
  EXPECT_TRUE(NewXfsCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(out[0].samples.size(), 1u);

  // No /sys/fs/xfs: nothing, and no failure.
  std::filesystem::remove_all(t.dir.path() + "/fs/xfs");
  out.clear();
  EXPECT_TRUE(NewXfsCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
