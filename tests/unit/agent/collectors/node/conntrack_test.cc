#include "agent/collectors/node/conntrack.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

constexpr const char* kHeader =
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
    "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";

TEST(ParseConntrackStat, SumsHexFieldsOverCpus) {
  auto s = ParseConntrackStat(testing::ReadFixture("node/proc/net/stat/nf_conntrack"));
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->found, 0x1au + 0x10 + 0 + 5);
  EXPECT_EQ(s->invalid, 0x2au + 0xf + 0 + 1);
  EXPECT_EQ(s->ignore, 0x4d2u + 0xff00 + 0xabc + 0x10);
  EXPECT_EQ(s->insert, 0u);
  EXPECT_EQ(s->insert_failed, 1u + 0 + 2 + 0);
  EXPECT_EQ(s->drop, 2u + 0 + 0 + 1);
  EXPECT_EQ(s->early_drop, 0u + 1 + 0 + 3);
  EXPECT_EQ(s->search_restart, 0xau + 4 + 0 + 2);
}

TEST(ParseConntrackStat, EdgesLikeProcfs) {
  // Only the header (or nothing): no CPU lines, all zero.
  EXPECT_EQ(ParseConntrackStat(kHeader)->found, 0u);
  EXPECT_EQ(ParseConntrackStat("")->found, 0u);
  const std::string line = "00000001 0 0000000F 0 0 FFFFFFFFFFFFFFFF 0 0 0 0 0 0 0 0 0 0 00000002";
  auto s = ParseConntrackStat(std::string(kHeader) + line + "\r\n" + line);  // CRLF; no final \n
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->found, 30u);
  EXPECT_EQ(s->ignore, 0xFFFFFFFFFFFFFFFEu);  // wraps, as procfs's uint64 sum
  EXPECT_EQ(s->search_restart, 4u);
  // Fields procfs does not read may hold anything.
  EXPECT_TRUE(
      ParseConntrackStat(std::string(kHeader) + "0 zz 0 zz 0 0 zz zz 0 0 0 0 zz zz zz zz 0\n")
          .ok());
  // Errors: 16 or 18 fields (the procfs of Debian's node_exporter 1.5 wants 17), a bad hex
  // field, a blank line, a 0x prefix.
  EXPECT_FALSE(ParseConntrackStat(std::string(kHeader) + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n").ok());
  EXPECT_FALSE(
      ParseConntrackStat(std::string(kHeader) + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n").ok());
  EXPECT_FALSE(
      ParseConntrackStat(std::string(kHeader) + "0 0 g 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n").ok());
  EXPECT_FALSE(ParseConntrackStat(std::string(kHeader) + line + "\n\n").ok());
  EXPECT_FALSE(
      ParseConntrackStat(std::string(kHeader) + "0 0 0x1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n").ok());
  EXPECT_FALSE(ParseConntrackStat(std::string(kHeader) +
                                  "0 0 10000000000000000 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
                   .ok());
  EXPECT_FALSE(ParseConntrackStat("garbage\ngarbage\n").ok());
  // A line beyond bufio.Scanner's 64 KiB ends the scan without an error (procfs ignores it).
  auto huge = ParseConntrackStat(std::string(kHeader) + line + "\n" + std::string(70000, 'x') +
                                 "\n" + line + "\n");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->found, 15u);
}

TEST(ParseConntrackValue, DecimalWithWhiteSpace) {
  EXPECT_EQ(*ParseConntrackValue("262144\n"), 262144u);
  EXPECT_EQ(*ParseConntrackValue(" 7 "), 7u);
  EXPECT_FALSE(ParseConntrackValue("").ok());
  EXPECT_FALSE(ParseConntrackValue("-1\n").ok());
  EXPECT_FALSE(ParseConntrackValue("0x10").ok());
  EXPECT_FALSE(ParseConntrackValue("1 2").ok());
}

TEST(ConntrackCollector, Fixture) {
  auto r = testing::Run(*NewConntrackCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.Value("node_nf_conntrack_entries"), 123);
  EXPECT_EQ(r.Value("node_nf_conntrack_entries_limit"), 262144);
  EXPECT_EQ(r.Value("node_nf_conntrack_stat_found"), 47);
  EXPECT_EQ(r.Value("node_nf_conntrack_stat_early_drop"), 4);
  EXPECT_EQ(r.families.size(), 10u);
  EXPECT_EQ(r.Family("node_nf_conntrack_stat_drop")->type, MetricType::kGauge);
}

TEST(ConntrackCollector, WithoutTheModuleWhatCanBeRead) {
  testing::TempDir d;  // no conntrack at all: nothing, and not a failure
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.procfs = d.path();
  auto none = testing::Run(*NewConntrackCollector(cfg));
  EXPECT_TRUE(none.status.ok());
  EXPECT_TRUE(none.families.empty());

  d.Write("sys/net/netfilter/nf_conntrack_count", "5\n");  // count only: as node_exporter,
  auto count = testing::Run(*NewConntrackCollector(cfg));  // what came before the missing file
  EXPECT_TRUE(count.status.ok());
  EXPECT_EQ(count.families.size(), 1u);
  EXPECT_EQ(count.Value("node_nf_conntrack_entries"), 5);

  d.Write("sys/net/netfilter/nf_conntrack_max", "65536\n");  // no /proc/net/stat/nf_conntrack
  auto both = testing::Run(*NewConntrackCollector(cfg));     // (CONFIG_NF_CONNTRACK_PROCFS=n)
  EXPECT_TRUE(both.status.ok());
  EXPECT_EQ(both.families.size(), 2u);

  d.Write("net/stat/nf_conntrack", std::string(kHeader) + "bad\n");
  auto bad = testing::Run(*NewConntrackCollector(cfg));
  EXPECT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.error().reason, "parse");

  d.Write("sys/net/netfilter/nf_conntrack_count", "many\n");
  EXPECT_EQ(testing::Run(*NewConntrackCollector(cfg)).status.error().reason, "parse");
}

}  // namespace
}  // namespace lookout
