// KeptFiles: the same answers as the plain file_util reads, through descriptors kept between
// scrapes, and never a stale one: files changed in place, deleted, replaced or added, directories
// replaced, the process-wide limit, and directories a scrape no longer reads.
#include "agent/common/kept_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

// Directory times have a clock tick's granularity (a few ms): a change right after a scrape
// must land in a later tick for the identity check to see it, as it does on a real machine.
void NextTick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Restores the process-wide limit a test changes.
class LimitGuard {
 public:
  explicit LimitGuard(size_t limit) : saved_(KeptFileLimit()) { SetKeptFileLimit(limit); }
  ~LimitGuard() { SetKeptFileLimit(saved_); }
  LimitGuard(const LimitGuard&) = delete;
  LimitGuard& operator=(const LimitGuard&) = delete;

 private:
  size_t saved_;
};

TEST(KeptFilesTest, ReadsAnswerAsThePlainReadsDo) {
  testing::TempDir dir;
  const std::string page(4096, '7');
  dir.Write("d/small", " 42\n");
  dir.Write("d/empty", "");
  dir.Write("d/page", page);                     // exactly one read buffer
  dir.Write("d/big", std::string(5000, 'x'));    // a short second read
  dir.Write("d/huge", std::string(70000, 'y'));  // several chunks
  const std::string d = dir.path() + "/d/";
  KeptFiles kept;
  for (int round = 0; round < 3; ++round) {  // first open, then kept descriptors
    const auto scrape = kept.Begin();
    for (const char* name : {"small", "empty", "page", "big", "huge", "absent"}) {
      const std::string path = d + name;
      SCOPED_TRACE(path + " round " + std::to_string(round));
      const SysfsValue a = kept.SysReadFile(path), b = SysReadFile(path);
      EXPECT_EQ(a.err, b.err);
      EXPECT_EQ(a.text, b.text);
      for (size_t max : {size_t{10}, size_t{4096}, size_t{1} << 20}) {
        const SysfsValue c = kept.ReadSysfsWhole(path, max), e = ReadSysfsWhole(path, max);
        EXPECT_EQ(c.err, e.err) << max;
        EXPECT_EQ(c.text, e.text) << max;
        const auto f = kept.ReadFileLimited(path, max);
        const auto g = ReadFileLimited(path, max);
        ASSERT_EQ(f.ok(), g.ok()) << max;
        if (f.ok()) {
          EXPECT_EQ(*f, *g) << max;
        } else {
          EXPECT_EQ(f.error().reason, g.error().reason) << max;
          EXPECT_EQ(f.error().detail, g.error().detail) << max;
        }
      }
    }
  }
  EXPECT_EQ(kept.open_files(), 5u);  // one per existing file, whatever the read
}

TEST(KeptFilesTest, KeepsDescriptorsAndSeesContentChangedInPlace) {
  testing::TempDir dir;
  dir.Write("cpu0/cpufreq/scaling_cur_freq", "1200000\n");
  const std::string path = dir.path() + "/cpu0/cpufreq/scaling_cur_freq";
  KeptFiles kept;
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(path).text, "1200000");
  }
  const size_t fds = OpenDescriptors();
  for (const char* value : {"2400000\n", "800000\n", "3100000\n"}) {
    dir.Write("cpu0/cpufreq/scaling_cur_freq", value);  // truncated and rewritten: same inode
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(path).text + "\n", value);
  }
  EXPECT_EQ(OpenDescriptors(), fds);  // no open per read, no leak
  EXPECT_EQ(kept.open_files(), 1u);
}

TEST(KeptFilesTest, AFileDeletedReplacedOrAddedIsSeenAtOnce) {
  testing::TempDir dir;
  dir.Write("hwmon0/temp1_input", "41000\n");
  const std::string d = dir.path() + "/hwmon0/";
  KeptFiles kept;
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(d + "temp1_input").text, "41000");
    EXPECT_EQ(kept.SysReadFile(d + "temp2_input").err, ENOENT);
  }
  NextTick();
  fs::remove(d + "temp1_input");
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(d + "temp1_input").err, ENOENT);  // not the kept old value
  }
  NextTick();
  dir.Write("hwmon0/new", "52000\n");
  fs::rename(d + "new", d + "temp1_input");    // an atomic replace: a new inode
  dir.Write("hwmon0/temp2_input", "33000\n");  // was absent
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(d + "temp1_input").text, "52000");
    EXPECT_EQ(kept.SysReadFile(d + "temp2_input").text, "33000");
  }
  NextTick();
  fs::remove_all(d);  // the device goes, another comes under the same name
  dir.Write("hwmon0/temp1_input", "60000\n");
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(d + "temp1_input").text, "60000");
    EXPECT_EQ(kept.SysReadFile(d + "temp2_input").err, ENOENT);
  }
  EXPECT_EQ(kept.open_files(), 1u);
}

// A file deleted or replaced after its directory was checked (mid-scrape here; in the same
// clock tick as the directory's last change on a real filesystem) is caught by its link count.
TEST(KeptFilesTest, AFileDeletedOrReplacedAfterTheDirectoryCheckIsNotReadStale) {
  testing::TempDir dir;
  dir.Write("zone/temp", "1\n");
  dir.Write("zone/mode", "enabled\n");
  const std::string d = dir.path() + "/zone/";
  KeptFiles kept;
  {
    const auto scrape = kept.Begin();
    EXPECT_EQ(kept.SysReadFile(d + "temp").text, "1");
    EXPECT_EQ(kept.SysReadFile(d + "mode").text, "enabled");
  }
  const auto scrape = kept.Begin();
  EXPECT_EQ(kept.StatDir(d.substr(0, d.size() - 1)), 0);  // the identity check of this scrape
  fs::remove(d + "temp");
  dir.Write("zone/new", "disabled\n");
  fs::rename(d + "new", d + "mode");
  EXPECT_EQ(kept.SysReadFile(d + "temp").err, ENOENT);
  EXPECT_EQ(kept.SysReadFile(d + "mode").text, "disabled");
}

// A FIFO where a kernel file should be cannot be pread: it is read(2) instead, as before.
TEST(KeptFilesTest, AFifoInAFilesPlaceReadsAsThePlainReadsDo) {
  testing::TempDir dir;
  dir.Write("d/x", "1\n");
  const std::string fifo = dir.path() + "/d/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  KeptFiles kept;
  const auto scrape = kept.Begin();
  const SysfsValue a = kept.SysReadFile(fifo), b = SysReadFile(fifo);
  EXPECT_EQ(a.err, b.err);
  EXPECT_EQ(a.err, 0);  // no writer: end of file at once
  EXPECT_EQ(kept.ReadSysfsWhole(fifo, 100).err, 0);
  EXPECT_TRUE(kept.ReadFileLimited(fifo, 100).ok());
}

TEST(KeptFilesTest, StatDirAnswersForTheDirectory) {
  testing::TempDir dir;
  dir.Write("cpu0/cpufreq/scaling_cur_freq", "1\n");
  dir.Write("cpu1/cpufreq", "a file, not a directory\n");
  KeptFiles kept;
  const auto check = [&] {
    EXPECT_EQ(kept.StatDir(dir.path() + "/cpu0/cpufreq"), 0);
    EXPECT_EQ(kept.StatDir(dir.path() + "/cpu1/cpufreq"), ENOTDIR);
    EXPECT_EQ(kept.StatDir(dir.path() + "/cpu2/cpufreq"), ENOENT);
  };
  {
    const auto scrape = kept.Begin();
    check();
  }
  check();  // outside a scrape
}

TEST(KeptFilesTest, OnlyTheLimitIsKeptAndTheRestIsReadAllTheSame) {
  testing::TempDir dir;
  for (int i = 0; i < 4; ++i) dir.Write("d/f" + std::to_string(i), std::to_string(i) + "\n");
  const size_t before = KeptFilesOpen();
  LimitGuard limit(before + 2);
  const size_t fds = OpenDescriptors();
  {
    KeptFiles kept;
    for (int round = 0; round < 2; ++round) {
      const auto scrape = kept.Begin();
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(kept.SysReadFile(dir.path() + "/d/f" + std::to_string(i)).text,
                  std::to_string(i));
      }
    }
    EXPECT_EQ(kept.open_files(), 2u);
    EXPECT_EQ(KeptFilesOpen(), before + 2);
    EXPECT_EQ(OpenDescriptors(), fds + 2);
  }
  EXPECT_EQ(KeptFilesOpen(), before);  // given back with the set
  EXPECT_EQ(OpenDescriptors(), fds);
}

TEST(KeptFilesTest, ALimitOfZeroKeepsNothing) {
  testing::TempDir dir;
  dir.Write("d/f", "1\n");
  LimitGuard limit(0);
  KeptFiles kept;
  const auto scrape = kept.Begin();
  EXPECT_EQ(kept.SysReadFile(dir.path() + "/d/f").text, "1");
  EXPECT_EQ(kept.open_files(), 0u);
}

TEST(KeptFilesTest, ADirectoryAScrapeNoLongerReadsGivesItsFilesBack) {
  testing::TempDir dir;
  dir.Write("a/x", "1\n");
  dir.Write("b/y", "2\n");
  KeptFiles kept;
  {
    const auto scrape = kept.Begin();
    kept.SysReadFile(dir.path() + "/a/x");
    kept.SysReadFile(dir.path() + "/b/y");
  }
  EXPECT_EQ(kept.open_files(), 2u);
  {
    const auto scrape = kept.Begin();
    kept.SysReadFile(dir.path() + "/a/x");  // b is gone from the listing, say
  }
  EXPECT_EQ(kept.open_files(), 1u);
}

TEST(KeptFilesTest, OutsideAScrapeTheReadsArePlain) {
  testing::TempDir dir;
  dir.Write("d/f", "7\n");
  KeptFiles kept;
  EXPECT_EQ(kept.SysReadFile(dir.path() + "/d/f").text, "7");
  EXPECT_EQ(*kept.ReadFileLimited(dir.path() + "/d/f", 100), "7\n");
  EXPECT_EQ(kept.open_files(), 0u);
}

TEST(KeptFilesTest, ProcfsFilesAreRegeneratedOnEachRead) {
  KeptFiles kept;
  std::string first;
  {
    const auto scrape = kept.Begin();
    auto r = kept.ReadFileLimited("/proc/self/stat", 1 << 16);
    ASSERT_TRUE(r.ok()) << r.error().detail;
    first = *r;
  }
  const volatile double burn = [] {
    double x = 0;
    for (int i = 0; i < 50'000'000; ++i) x += i * 1e-9;  // CPU time, so utime moves
    return x;
  }();
  (void)burn;
  const auto scrape = kept.Begin();
  auto r = kept.ReadFileLimited("/proc/self/stat", 1 << 16);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(kept.open_files(), 1u);
  EXPECT_NE(*r, first);  // the kept descriptor gives today's content, not the first read's
}

}  // namespace
}  // namespace lookout
