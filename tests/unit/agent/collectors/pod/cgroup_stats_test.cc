#include "agent/collectors/pod/cgroup_stats.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

const std::string kV2Pod =
    "pods/v2_systemd_containerd/cgroup/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pode9f975a2_2299_5fb5_75a8_f1621ea8b972.slice";

TEST(CgroupParsers, CpuMaxAndValues) {
  EXPECT_EQ(ParseCpuMax("max 100000\n")->quota_us, std::nullopt);
  EXPECT_EQ(ParseCpuMax("max 100000\n")->period_us, 100000u);
  EXPECT_EQ(ParseCpuMax("50000 100000")->quota_us, 50000u);
  EXPECT_FALSE(ParseCpuMax("garbage").has_value());
  EXPECT_FALSE(ParseCpuMax("1 x").has_value());
  EXPECT_EQ(ParseCgroupValue("max\n"), UINT64_MAX);
  EXPECT_EQ(ParseCgroupValue("-1\n"), std::nullopt);  // v1 cfs_quota_us unlimited
  EXPECT_EQ(ParseCgroupValue("268435456\n"), 268435456u);
  EXPECT_EQ(ParseCgroupValue(""), std::nullopt);
}

TEST(CgroupParsers, WeightToSharesMatchesCadvisor) {
  // cAdvisor's convertCPUWeightToCPULimit, including its rounding: a 1-CPU request (1024
  // shares) becomes weight 39 in cgroup v2 and reads back as 998.
  EXPECT_EQ(CpuWeightToShares(1), 2u);
  EXPECT_EQ(CpuWeightToShares(39), 998u);
  EXPECT_EQ(CpuWeightToShares(100), 2597u);
  EXPECT_EQ(CpuWeightToShares(10000), 262144u);
  EXPECT_FALSE(CpuWeightToShares(0).has_value());
  EXPECT_FALSE(CpuWeightToShares(10001).has_value());
}

TEST(CgroupParsers, WorkingSetIsUsageMinusInactiveFileClampedAtZero) {
  EXPECT_EQ(WorkingSet(100, 30), 70u);
  EXPECT_EQ(WorkingSet(100, 100), 0u);
  EXPECT_EQ(WorkingSet(100, 250), 0u);  // inactive_file can exceed usage transiently
}

TEST(CgroupParsers, IoStatAndBlkio) {
  auto io = ParseIoStat(
      "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
      "253:1 rbytes=5 wbytes=0 rios=1 wios=0\nbad line\n9:x rbytes=1\n");
  ASSERT_EQ(io.size(), 2u);
  EXPECT_EQ(io[0].read_bytes, 10u);
  EXPECT_EQ(io[0].writes, 2u);
  EXPECT_EQ(io[1].major, 253u);
  std::vector<IoDeviceStat> v1;
  ParseBlkio("8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Total 300\nTotal 300\n", true, v1);
  ParseBlkio("8:0 Read 1\n8:0 Write 2\nTotal 3\n", false, v1);
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_EQ(v1[0].read_bytes, 100u);
  EXPECT_EQ(v1[0].write_bytes, 200u);
  EXPECT_EQ(v1[0].reads, 1u);
  EXPECT_EQ(v1[0].writes, 2u);
}

TEST(CgroupParsers, Psi) {
  auto p = ParsePsi(
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(p->some_seconds, 2.5);
  EXPECT_DOUBLE_EQ(p->full_seconds, 1.0);
  EXPECT_FALSE(ParsePsi("").has_value());
  EXPECT_FALSE(ParsePsi("some total=x").has_value());
}

TEST(CgroupParsers, KeyValuesSkipJunkAndOverflow) {
  std::vector<std::pair<std::string, uint64_t>> kv;
  ForEachKeyValue("a 1\nb x\nc 99999999999999999999999\nd\n e 2\nf 18446744073709551615\n",
                  [&](std::string_view k, uint64_t v) { kv.emplace_back(std::string(k), v); });
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv[0].first, "a");
  EXPECT_EQ(kv[1].second, UINT64_MAX);
}

TEST(CgroupRead, V2PodCgroup) {
  CgroupFileReader reader(1 << 20);
  CgroupDirs d;
  d.v2 = true;
  d.unified = testing::FixturePath(kV2Pod);
  CgroupStats s;
  ASSERT_TRUE(ReadCgroupStats(d, reader, true, s));
  // Seed 1 in generate.py: usage_usec 1123456, throttled 10 periods / 0.25 s.
  EXPECT_DOUBLE_EQ(*s.cpu_usage_seconds, 1.123456);
  EXPECT_EQ(*s.cfs_periods, 1000u);
  EXPECT_EQ(*s.cfs_throttled_periods, 10u);
  EXPECT_DOUBLE_EQ(*s.cfs_throttled_seconds, 0.25);
  EXPECT_EQ(*s.cpu_quota_us, 70000u);
  EXPECT_EQ(*s.cpu_period_us, 100000u);
  // memory.current 104861696, inactive_file 20975616 -> working set 83886080.
  EXPECT_EQ(*s.memory_usage_bytes, 104861696u);
  EXPECT_EQ(*s.memory_working_set_bytes, 83886080u);
  EXPECT_EQ(*s.memory_rss_bytes, 62914560u);
  EXPECT_EQ(*s.oom_kills, 1u);
  EXPECT_EQ(*s.memory_limit_bytes, 402653184u);
  ASSERT_EQ(s.io.size(), 2u);
  ASSERT_TRUE(s.psi_memory.has_value());
  EXPECT_DOUBLE_EQ(s.psi_memory->some_seconds, 0.002011);
  EXPECT_EQ(*s.processes, 0u);  // v2: processes live in leaf cgroups only
}

TEST(CgroupRead, V1ContainerWithTicksAndMemsw) {
  const std::string root = testing::FixturePath("pods/v1_cgroupfs_containerd/cgroup");
  const std::string rel = "/kubepods/podab9c7dc6-c54f-22b3-f819-41b1d097859c";
  CgroupDirs d;
  d.cpu = d.cpuacct = root + "/cpu,cpuacct" + rel;
  d.memory = root + "/memory" + rel;
  d.blkio = root + "/blkio" + rel;
  d.pids = root + "/pids" + rel;
  CgroupFileReader reader(1 << 20);
  CgroupStats s;
  ASSERT_TRUE(ReadCgroupStats(d, reader, true, s));
  // Guaranteed pod is the 5th cgroup written: seed 5.
  EXPECT_DOUBLE_EQ(*s.cpu_usage_seconds, 5.123456789);
  EXPECT_DOUBLE_EQ(*s.cpu_user_seconds, (70 * 5 + 12) / 100.0);  // USER_HZ ticks
  EXPECT_DOUBLE_EQ(*s.cfs_throttled_seconds, 1.25);
  EXPECT_EQ(*s.memory_swap_bytes, 5u * 4096);  // memsw - usage
  EXPECT_EQ(*s.memory_working_set_bytes, 83886080u);
  EXPECT_EQ(*s.oom_kills, 2u);
  ASSERT_EQ(s.io.size(), 2u);  // from the throttle files: the CFQ ones hold only "Total 0"
  EXPECT_EQ(s.io[0].read_bytes, 5u * 1048576);
  EXPECT_EQ(s.io[0].writes, 100u);
  EXPECT_FALSE(s.psi_cpu.has_value());
}

// v1 blkio in runc's order, file by file: a cgroup with only the plain throttle files (no
// *_recursive: kernels and controllers without CFQ/BFQ) still has its disk I/O; BFQ wins over
// CFQ; CFQ is used only when blkio.sectors_recursive lists devices.
TEST(CgroupRead, V1BlkioFallsBackAsRuncDoes) {
  const std::string throttle =
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n";
  const std::string ops = "8:0 Read 3\n8:0 Write 5\n8:0 Total 8\nTotal 8\n";
  auto read = [](const testing::TempDir& t) {
    CgroupDirs d;
    d.cpu = d.cpuacct = d.memory = d.pids = "";
    d.blkio = t.path();
    CgroupFileReader reader(1 << 20);
    CgroupStats s;
    ReadCgroupStats(d, reader, false, s);
    return s.io;
  };
  testing::TempDir plain;  // the input: no recursive files at all
  plain.Write("blkio.throttle.io_service_bytes", throttle);
  plain.Write("blkio.throttle.io_serviced", ops);
  auto io = read(plain);
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].read_bytes, 4096u);
  EXPECT_EQ(io[0].write_bytes, 8192u);
  EXPECT_EQ(io[0].reads, 3u);
  EXPECT_EQ(io[0].writes, 5u);

  testing::TempDir both;  // BFQ before CFQ before throttle
  both.Write("blkio.bfq.io_service_bytes_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
  both.Write("blkio.bfq.io_serviced_recursive", "8:0 Read 1\n8:0 Write 1\nTotal 2\n");
  both.Write("blkio.sectors_recursive", "8:0 9\nTotal 9\n");
  both.Write("blkio.io_service_bytes_recursive", "8:0 Read 100\n8:0 Write 200\nTotal 300\n");
  both.Write("blkio.io_serviced_recursive", "8:0 Read 10\n8:0 Write 20\nTotal 30\n");
  both.Write("blkio.throttle.io_service_bytes_recursive", throttle);
  both.Write("blkio.throttle.io_serviced_recursive", ops);
  io = read(both);
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].read_bytes, 1u);
  std::filesystem::remove(both.path() + "/blkio.bfq.io_serviced_recursive");
  io = read(both);
  EXPECT_EQ(io.at(0).read_bytes, 100u);  // CFQ: sectors_recursive lists a device
  both.Write("blkio.sectors_recursive", "Total 0\n");
  io = read(both);
  EXPECT_EQ(io.at(0).read_bytes, 4096u);  // CFQ empty: the throttle layer
}

TEST(CgroupRead, GoneCgroupAndGarbageFiles) {
  CgroupFileReader reader(4096);
  CgroupDirs d;
  d.v2 = true;
  d.unified = "/nonexistent/cgroup";
  CgroupStats s;
  EXPECT_FALSE(ReadCgroupStats(d, reader, true, s));
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec banana\n\x01\x02");
  t.Write("memory.current", "lots");
  t.Write("memory.stat", std::string(10000, 'x'));  // over the reader's limit
  t.Write("cpu.max", "");
  d.unified = t.path();
  ASSERT_TRUE(ReadCgroupStats(d, reader, true, s));
  EXPECT_FALSE(s.cpu_usage_seconds.has_value());
  EXPECT_FALSE(s.memory_usage_bytes.has_value());
  EXPECT_FALSE(s.memory_working_set_bytes.has_value());
  EXPECT_FALSE(s.cpu_quota_us.has_value());
}

}  // namespace
}  // namespace lookout
