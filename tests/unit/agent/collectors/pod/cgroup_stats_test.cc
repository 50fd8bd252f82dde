#include "agent/collectors/pod/cgroup_stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "agent/common/kept_files.h"
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
  d.unified = CgroupDir(testing::FixturePath(kV2Pod));
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
  d.cpu = CgroupDir(root + "/cpu,cpuacct" + rel);
  d.cpuacct = CgroupDir(root + "/cpu,cpuacct" + rel);
  d.memory = CgroupDir(root + "/memory" + rel);
  d.blkio = CgroupDir(root + "/blkio" + rel);
  d.pids = CgroupDir(root + "/pids" + rel);
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
    d.blkio = CgroupDir(t.path());
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
  d.unified = CgroupDir("/nonexistent/cgroup");
  CgroupStats s;
  EXPECT_FALSE(ReadCgroupStats(d, reader, true, s));
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec banana\n\x01\x02");
  t.Write("memory.current", "lots");
  t.Write("memory.stat", std::string(10000, 'x'));  // over the reader's limit
  t.Write("cpu.max", "");
  d.unified = CgroupDir(t.path());
  ASSERT_TRUE(ReadCgroupStats(d, reader, true, s));
  EXPECT_FALSE(s.cpu_usage_seconds.has_value());
  EXPECT_FALSE(s.memory_usage_bytes.has_value());
  EXPECT_FALSE(s.memory_working_set_bytes.has_value());
  EXPECT_FALSE(s.cpu_quota_us.has_value());
}

// --- What a CgroupDir remembers between scrapes (issue 18) ----------------------------------

// A v2 cgroup at `path`.
CgroupDirs V2Dirs(const std::string& path) {
  CgroupDirs d;
  d.v2 = true;
  d.unified = CgroupDir(path);
  return d;
}

// One scrape of `d`, draining `limits` first as the collector does (unless `drain` is false).
CgroupStats ReadV2Dir(CgroupDirs& d, std::chrono::milliseconds recheck,
                      CgroupLimitWatch* limits = nullptr, uint64_t* opens = nullptr,
                      bool drain = true) {
  if (limits != nullptr && drain) limits->Drain();
  CgroupFileReader reader(1 << 20, recheck, limits);
  CgroupStats s;
  EXPECT_TRUE(ReadCgroupStats(d, reader, true, s));
  if (opens != nullptr) *opens = reader.opens();
  return s;
}

TEST(CgroupDirMemory, AFileTheCgroupLackedIsNotLookedForUntilTheRecheck) {
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec 1000000\n");
  t.Write("memory.current", "4096\n");
  CgroupDirs d = V2Dirs(t.path());
  EXPECT_FALSE(ReadV2Dir(d, std::chrono::hours(1)).memory_swap_bytes.has_value());
  t.Write("memory.swap.current", "8192\n");  // swap accounting turned on, say
  t.Write("memory.current", "12288\n");      // present files are read on every scrape
  const CgroupStats again = ReadV2Dir(d, std::chrono::hours(1));
  EXPECT_FALSE(again.memory_swap_bytes.has_value());
  EXPECT_EQ(again.memory_usage_bytes, 12288u);
  EXPECT_EQ(ReadV2Dir(d, std::chrono::milliseconds(0)).memory_swap_bytes, 8192u);
  EXPECT_TRUE(d.unified.has_descriptor());
}

// v1 controllers' directories of a new cgroup appear one after another: a scrape between two
// must not take the files of one not there yet as absent.
TEST(CgroupDirMemory, ADirectoryNotCreatedYetIsReadAsSoonAsItIs) {
  testing::TempDir t;
  CgroupDirs d = V2Dirs(t.path() + "/cg");
  CgroupFileReader early(1 << 20, std::chrono::hours(1));
  CgroupStats s;
  EXPECT_FALSE(ReadCgroupStats(d, early, true, s));
  EXPECT_FALSE(d.unified.has_descriptor());
  t.Write("cg/cpu.stat", "usage_usec 1000000\n");
  t.Write("cg/memory.current", "4096\n");
  s = ReadV2Dir(d, std::chrono::hours(1));
  EXPECT_EQ(s.cpu_usage_seconds, 1.0);
  EXPECT_EQ(s.memory_usage_bytes, 4096u);
  EXPECT_TRUE(d.unified.has_descriptor());
}

TEST(CgroupDirMemory, ALimitIsKeptWhileWatchedAndReadAgainOnceWritten) {
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec 1\n");
  t.Write("cpu.max", "50000 100000\n");
  t.Write("cpu.weight", "10\n");
  t.Write("memory.max", "1000\n");
  t.Write("pids.max", "max\n");
  CgroupLimitWatch watch;
  CgroupDirs d = V2Dirs(t.path());
  uint64_t first = 0, second = 0, third = 0;
  EXPECT_EQ(ReadV2Dir(d, std::chrono::hours(1), &watch, &first).memory_limit_bytes, 1000u);
  EXPECT_TRUE(d.unified.watched());
  EXPECT_EQ(watch.watches(), 1u);
  const CgroupStats kept = ReadV2Dir(d, std::chrono::hours(1), &watch, &second);
  EXPECT_EQ(kept.memory_limit_bytes, 1000u);
  EXPECT_EQ(kept.cpu_quota_us, 50000u);
  EXPECT_EQ(kept.threads_max, UINT64_MAX);
  EXPECT_EQ(first, 15u);  // every file looked for
  EXPECT_EQ(second, 1u);  // cpu.stat: the four limits kept, the ten absent files not looked for
  // Written, as runc writes a limit (no O_TRUNC, no mtime change on cgroupfs): read again.
  {
    std::FILE* f = std::fopen((t.path() + "/memory.max").c_str(), "r+");
    ASSERT_NE(f, nullptr);
    std::fputs("2000\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(ReadV2Dir(d, std::chrono::hours(1), &watch, &third).memory_limit_bytes, 2000u);
  EXPECT_EQ(third, second + 1);  // only the one written
  EXPECT_EQ(ReadV2Dir(d, std::chrono::hours(1), &watch).cpu_shares, CpuWeightToShares(10));
  std::filesystem::remove(t.path() + "/memory.max");  // gone: no limit, not the kept text
  EXPECT_FALSE(ReadV2Dir(d, std::chrono::hours(1), &watch).memory_limit_bytes.has_value());
  // The recheck drops kept limits too (a controller disabled removes its files without events).
  uint64_t rechecked = 0;
  ReadV2Dir(d, std::chrono::milliseconds(0), &watch, &rechecked);
  EXPECT_EQ(rechecked, 15u);  // every file looked for again, the limits read
  // Without a watch every limit is read every time.
  CgroupDirs unwatched = V2Dirs(t.path());
  uint64_t a = 0, b = 0;
  ReadV2Dir(unwatched, std::chrono::hours(1), nullptr, &a);
  ReadV2Dir(unwatched, std::chrono::hours(1), nullptr, &b);
  EXPECT_EQ(a, 15u);
  EXPECT_EQ(b, 4u);  // cpu.stat and the three limits left, read again
  // A directory destroyed first unregisters itself; one outliving its watch keeps no limit.
  testing::TempDir t2;
  t2.Write("cpu.stat", "usage_usec 1\n");
  t2.Write("memory.max", "7\n");
  {
    CgroupDirs shortlived = V2Dirs(t2.path());
    ReadV2Dir(shortlived, std::chrono::hours(1), &watch);
    EXPECT_EQ(watch.watches(), 2u);
  }
  EXPECT_EQ(watch.watches(), 1u);
  CgroupDirs outliving = V2Dirs(t2.path());
  {
    CgroupLimitWatch brief;
    ReadV2Dir(outliving, std::chrono::hours(1), &brief);
    EXPECT_TRUE(outliving.unified.watched());
  }
  EXPECT_FALSE(outliving.unified.watched());
  EXPECT_EQ(ReadV2Dir(outliving, std::chrono::hours(1)).memory_limit_bytes, 7u);
  EXPECT_EQ(watch.watches(), 1u);
}

TEST(CgroupDirMemory, ADirectoryCreatedAgainUnderItsPathIsReadAfresh) {
  testing::TempDir t;
  t.Write("cg/cpu.stat", "usage_usec 1000000\n");
  t.Write("cg/memory.max", "1000\n");
  CgroupLimitWatch watch;
  CgroupDirs d = V2Dirs(t.path() + "/cg");
  CgroupStats s = ReadV2Dir(d, std::chrono::hours(1), &watch);
  EXPECT_EQ(s.cpu_usage_seconds, 1.0);
  EXPECT_FALSE(s.memory_swap_bytes.has_value());
  ASSERT_TRUE(d.unified.has_descriptor());
  ASSERT_TRUE(d.unified.watched());
  // Created again while the old one still exists, so it cannot get the old inode back. Its
  // limit and its new swap file: neither the kept limit nor the absent file may survive.
  std::filesystem::rename(t.path() + "/cg", t.path() + "/old");
  t.Write("cg/cpu.stat", "usage_usec 2000000\n");
  t.Write("cg/memory.max", "5000\n");
  t.Write("cg/memory.swap.current", "8192\n");
  std::filesystem::remove_all(t.path() + "/old");
  // Not drained: cgroupfs sends no event for a removed directory's watch, so only the missing
  // cpu.stat through the old descriptor may tell.
  s = ReadV2Dir(d, std::chrono::hours(1), &watch, nullptr, /*drain=*/false);
  EXPECT_EQ(s.cpu_usage_seconds, 2.0);
  EXPECT_EQ(s.memory_limit_bytes, 5000u);
  EXPECT_EQ(s.memory_swap_bytes, 8192u);
  // Gone for good: the cgroup reads as gone, as without a descriptor.
  std::filesystem::remove_all(t.path() + "/cg");
  CgroupFileReader reader(1 << 20);
  EXPECT_FALSE(ReadCgroupStats(d, reader, true, s));
}

// A directory renamed away while it still exists (trees of regular files; cgroupfs cannot
// rename), and another put under its path: its kept descriptor must not go on reading the old
// one. The watch says so at once; without one, the recheck does.
TEST(CgroupDirMemory, ADirectorySwappedByRenameIsNotReadThroughTheOldDescriptor) {
  testing::TempDir t;
  t.Write("cg/cpu.stat", "usage_usec 1000000\n");
  t.Write("cg/cpu.max", "50000 100000\n");
  CgroupLimitWatch watch;
  CgroupDirs watched = V2Dirs(t.path() + "/cg");
  CgroupDirs unwatched = V2Dirs(t.path() + "/cg");
  EXPECT_EQ(ReadV2Dir(watched, std::chrono::hours(1), &watch).cpu_quota_us, 50000u);
  EXPECT_EQ(ReadV2Dir(unwatched, std::chrono::hours(1)).cpu_quota_us, 50000u);
  std::filesystem::rename(t.path() + "/cg", t.path() + "/cg.old");
  t.Write("cg/cpu.stat", "usage_usec 2000000\n");
  t.Write("cg/cpu.max", "55555 100000\n");
  const CgroupStats s = ReadV2Dir(watched, std::chrono::hours(1), &watch);
  EXPECT_EQ(s.cpu_usage_seconds, 2.0);
  EXPECT_EQ(s.cpu_quota_us, 55555u);
  // No watch: the old directory still answers until the recheck compares descriptor and path.
  EXPECT_EQ(ReadV2Dir(unwatched, std::chrono::hours(1)).cpu_usage_seconds, 1.0);
  EXPECT_EQ(ReadV2Dir(unwatched, std::chrono::milliseconds(0)).cpu_usage_seconds, 2.0);
  EXPECT_EQ(ReadV2Dir(unwatched, std::chrono::hours(1)).cpu_quota_us, 55555u);
  EXPECT_TRUE(watched.unified.has_descriptor());
  EXPECT_TRUE(unwatched.unified.has_descriptor());
}

TEST(CgroupDirMemory, ALimitFileMovedAwayIsNoLongerKept) {
  testing::TempDir t;
  t.Write("cg/cpu.stat", "usage_usec 1\n");
  t.Write("cg/cpu.max", "20000 100000\n");
  CgroupLimitWatch watch;
  CgroupDirs d = V2Dirs(t.path() + "/cg");
  EXPECT_EQ(ReadV2Dir(d, std::chrono::hours(1), &watch).cpu_quota_us, 20000u);
  std::filesystem::rename(t.path() + "/cg/cpu.max", t.path() + "/cpu.max");
  EXPECT_FALSE(ReadV2Dir(d, std::chrono::hours(1), &watch).cpu_quota_us.has_value());
}

// cgroup v1: one controller's directory removed and made again while the cgroup lives on in
// the others. What it lacked while gone is not remembered as absent.
TEST(CgroupDirMemory, AControllerDirectoryMadeAgainIsReadAtOnce) {
  testing::TempDir t;
  t.Write("cpuacct/cg/cpuacct.usage", "1000000000\n");
  t.Write("memory/cg/memory.usage_in_bytes", "4096\n");
  CgroupDirs d;
  d.cpuacct = CgroupDir(t.path() + "/cpuacct/cg");
  d.memory = CgroupDir(t.path() + "/memory/cg");
  const auto scrape = [&] {
    CgroupFileReader reader(1 << 20, std::chrono::hours(1));
    CgroupStats s;
    EXPECT_TRUE(ReadCgroupStats(d, reader, true, s));
    return s;
  };
  EXPECT_EQ(scrape().cpu_usage_seconds, 1.0);
  std::filesystem::remove_all(t.path() + "/cpuacct/cg");
  EXPECT_FALSE(scrape().cpu_usage_seconds.has_value());
  EXPECT_FALSE(d.cpuacct.has_descriptor());
  t.Write("cpuacct/cg/cpuacct.usage", "3000000000\n");
  EXPECT_EQ(scrape().cpu_usage_seconds, 3.0);
  EXPECT_TRUE(d.cpuacct.has_descriptor());
}

// cgroup_recheck 0 keeps nothing past a scrape, so a watch would only spend inotify watches
// (fs.inotify.max_user_watches, shared with the kubelet and the runtime).
TEST(CgroupDirMemory, NoRecheckIntervalMeansNoWatch) {
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec 1\n");
  t.Write("memory.max", "1000\n");
  CgroupLimitWatch watch;
  CgroupDirs d = V2Dirs(t.path());
  EXPECT_EQ(ReadV2Dir(d, std::chrono::milliseconds(0), &watch).memory_limit_bytes, 1000u);
  t.Write("memory.max", "2000\n");
  EXPECT_EQ(ReadV2Dir(d, std::chrono::milliseconds(0), &watch).memory_limit_bytes, 2000u);
  EXPECT_EQ(watch.watches(), 0u);
}

TEST(CgroupDirMemory, BeyondTheKeptFileLimitDirectoriesAreReadByPath) {
  const size_t limit = KeptFileLimit();
  SetKeptFileLimit(KeptFilesOpen());  // none left
  testing::TempDir t;
  t.Write("cpu.stat", "usage_usec 3000000\n");
  t.Write("memory.max", "max\n");
  CgroupDirs d = V2Dirs(t.path());
  CgroupLimitWatch watch;
  for (int i = 0; i < 2; ++i) {
    uint64_t opens = 0;
    const CgroupStats s = ReadV2Dir(d, std::chrono::hours(1), &watch, &opens);
    EXPECT_EQ(s.cpu_usage_seconds, 3.0);
    EXPECT_EQ(s.memory_limit_bytes, UINT64_MAX);
    EXPECT_EQ(opens, 15u);  // by path nothing is remembered: every file, every time
  }
  EXPECT_FALSE(d.unified.has_descriptor());
  EXPECT_FALSE(d.unified.watched());
  SetKeptFileLimit(limit);
  // Descriptors are taken from the kept-file limit and given back when the directory goes.
  const size_t open_before = KeptFilesOpen();
  {
    CgroupDirs kept = V2Dirs(t.path());
    ReadV2Dir(kept, std::chrono::hours(1));
    EXPECT_TRUE(kept.unified.has_descriptor());
    EXPECT_EQ(KeptFilesOpen(), open_before + 1);
  }
  EXPECT_EQ(KeptFilesOpen(), open_before);
}

}  // namespace
}  // namespace lookout
