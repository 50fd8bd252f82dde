#include "agent/collectors/node/nfs.h"

#include <array>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

constexpr std::array<RpcLineRule, 3> kRules = {{
    {"rpc", false, 3, 3, 3},
    {"proc4", true, 0, SIZE_MAX, 4},
    {"th", false, 2, SIZE_MAX, 2, false},
}};

TEST(ParseRpcStats, AbsentLinesAreZeroAndShortCountedLinesArePadded) {
  const RpcStats s = ParseRpcStats("rpc 1 2 3\nproc4 2 7 8\n", kRules);
  EXPECT_TRUE(s.problems.empty());
  EXPECT_EQ(s.lines[0].values, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(s.lines[1].values, (std::vector<uint64_t>{7, 8, 0, 0}));  // padded as procfs
  EXPECT_EQ(s.lines[2].values, (std::vector<uint64_t>{0, 0}));        // no th line: zeros
  EXPECT_FALSE(s.lines[2].bad);
}

TEST(ParseRpcStats, ABadLineIsMarkedAndTheOthersKept) {
  for (const char* bad : {"rpc 1 2\n", "rpc 1 2 3 4\n", "rpc 1 x 3\n", "rpc 1 -2 3\n",
                          "rpc 1 0x10 3\n", "rpc 1 18446744073709551616 3\n"}) {
    const RpcStats s = ParseRpcStats(std::string(bad) + "proc4 1 5\n", kRules);
    EXPECT_TRUE(s.lines[0].bad) << bad;
    EXPECT_EQ(s.problems.size(), 1u) << bad;
    EXPECT_FALSE(s.lines[1].bad) << bad;
    EXPECT_EQ(s.lines[1].values[0], 5u) << bad;
  }
  // The count must equal the values that follow it.
  EXPECT_TRUE(ParseRpcStats("proc4 3 1 2\n", kRules).lines[1].bad);
  EXPECT_TRUE(ParseRpcStats("proc4 1 1 2\n", kRules).lines[1].bad);
  EXPECT_FALSE(ParseRpcStats("proc4 0\n", kRules).lines[1].bad);
  EXPECT_TRUE(ParseRpcStats("proc4 18446744073709551615 1\n", kRules).lines[1].bad);
}

TEST(ParseRpcStats, UnknownLinesAreSkippedAndLinesWithoutValuesReported) {
  const RpcStats s = ParseRpcStats("wdeleg_getattr 0\nrpc 1 2 3\n\nrpc\n", kRules);
  EXPECT_EQ(s.problems.size(), 2u);  // the blank line and "rpc" alone
  EXPECT_FALSE(s.lines[0].bad);
  EXPECT_EQ(s.lines[0].values[0], 1u);
}

TEST(ParseRpcStats, ThParsesOnlyTheKeptValues) {
  // The deprecated histogram after the thread count is not parsed, as procfs's parts[1:3].
  EXPECT_FALSE(ParseRpcStats("th 8 0 x 0.000\n", kRules).lines[2].bad);
  EXPECT_EQ(ParseRpcStats("th 8 0 x\n", kRules).lines[2].values[0], 8u);
  EXPECT_TRUE(ParseRpcStats("th 8\n", kRules).lines[2].bad);
  EXPECT_TRUE(ParseRpcStats("th x 0\n", kRules).lines[2].bad);
}

TEST(ParseRpcStats, TheLastOfTwoLinesWinsAndGarbageDoesNotCrash) {
  const RpcStats s = ParseRpcStats("rpc 1 2 x\nrpc 4 5 6\n", kRules);
  EXPECT_FALSE(s.lines[0].bad);
  EXPECT_EQ(s.lines[0].values[0], 4u);
  // A line over 64 KiB: the sections after it are left out, not reported as zeros.
  const RpcStats cut =
      ParseRpcStats("rpc 1 2 3\n" + std::string(70000, '7') + "\nproc4 1 5\n", kRules);
  EXPECT_FALSE(cut.lines[0].bad);
  EXPECT_TRUE(cut.lines[1].bad);
  EXPECT_EQ(cut.problems.size(), 1u);
  std::string junk(200000, '\xff');
  junk[100] = '\n';
  junk += " rpc 1 2 3";
  (void)ParseRpcStats(junk, kRules);
  (void)ParseRpcStats(std::string("proc4 \0 1", 9), kRules);
}

std::string Fixture(const char* name) {
  return testing::ReadFixture(std::string("node_big/proc/net/rpc/") + name);
}

double V4(const std::vector<MetricFamily>& out, const std::string& method) {
  for (const Sample& s : testing::FindFamily(out, "node_nfsd_requests_total")->samples) {
    if (testing::LabelValue(s, "proto") == "4" && testing::LabelValue(s, "method") == method) {
      return s.value;
    }
  }
  return -1;
}

TEST(NfsCollector, FixtureAndABadLine) {
  testing::TempDir dir;
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.procfs = dir.path();
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewNfsCollector(cfg)->Collect(out).ok());  // no file: nothing, no failure
  EXPECT_TRUE(out.empty());

  dir.Write("net/rpc/nfs", Fixture("nfs"));
  ASSERT_TRUE(NewNfsCollector(cfg)->Collect(out).ok());
  const MetricFamily* req = testing::FindFamily(out, "node_nfs_requests_total");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->samples.size(), 18u + 22u + 59u);  // no proc2 line: zeros, as node_exporter
  EXPECT_EQ(testing::FindFamily(out, "node_nfs_rpc_retransmissions_total")->samples[0].value, 211);

  dir.Write("net/rpc/nfs", "net 0 0 0 0\nrpc 1 2 3\nproc3 21 1 2 3\n");
  out.clear();
  auto st = NewNfsCollector(cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(testing::FindFamily(out, "node_nfs_requests_total")->samples.size(), 18u + 59u);
  EXPECT_NE(testing::FindFamily(out, "node_nfs_rpcs_total"), nullptr);
}

TEST(NfsdCollector, OperationsByKernelOpcode) {
  testing::TempDir dir;
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.procfs = dir.path();
  std::string ops = "proc4ops 40";
  for (int i = 0; i < 40; ++i) ops += " " + std::to_string(1000 + i);
  dir.Write("net/rpc/nfsd", ops + "\n");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewNfsdCollector(cfg)->Collect(out).ok());
  const MetricFamily* req = testing::FindFamily(out, "node_nfsd_requests_total");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->samples.size(), 17u + 21u + 33u);
  EXPECT_EQ(V4(out, "Access"), 1003);  // OP_ACCESS = 3
  EXPECT_EQ(V4(out, "SetAttr"), 1034);
  EXPECT_EQ(V4(out, "Verify"), 1037);  // node_exporter 1.5: 1035 (OP_SETCLIENTID)
  EXPECT_EQ(V4(out, "Write"), 1038);
  EXPECT_EQ(V4(out, "RelLockOwner"), 1039);

  // 39 operations (kernels before OP_RELEASE_LOCKOWNER): RelLockOwner reads 0, as procfs pads.
  std::string short_ops = "proc4ops 39";
  for (int i = 0; i < 39; ++i) short_ops += " " + std::to_string(1000 + i);
  dir.Write("net/rpc/nfsd", short_ops + "\n");
  out.clear();
  ASSERT_TRUE(NewNfsdCollector(cfg)->Collect(out).ok());
  EXPECT_EQ(V4(out, "Write"), 1038);
  EXPECT_EQ(V4(out, "RelLockOwner"), 0);

  dir.Write("net/rpc/nfsd", Fixture("nfsd") + "wdeleg_getattr 0\nra 0 0\n");
  out.clear();
  auto st = NewNfsdCollector(cfg)->Collect(out);
  ASSERT_FALSE(st.ok());  // the short ra line; the unknown one is skipped
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(testing::FindFamily(out, "node_nfsd_read_ahead_cache_size_blocks"), nullptr);
  EXPECT_EQ(testing::FindFamily(out, "node_nfsd_server_threads")->samples[0].value, 64);
  EXPECT_EQ(testing::FindFamily(out, "node_nfsd_disk_bytes_written_total")->samples[0].value,
            88231723008.0);
}

}  // namespace
}  // namespace lookout
