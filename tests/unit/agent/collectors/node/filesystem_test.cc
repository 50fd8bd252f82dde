#include "agent/collectors/node/filesystem.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using namespace std::chrono_literals;

TEST(ParseMounts, EscapedSpacesAndReadOnly) {
  auto m = ParseMounts(testing::ReadFixture("node/proc/1/mounts"));
  ASSERT_TRUE(m.ok());
  bool saw_space = false;
  for (const auto& e : *m) {
    if (e.device == "/dev/sdb1") {
      saw_space = true;
      EXPECT_EQ(e.mount_point, "/mnt/data disk");
      EXPECT_FALSE(e.read_only);
    }
    if (e.mount_point == "/boot") {
      EXPECT_TRUE(e.read_only);
    }
  }
  EXPECT_TRUE(saw_space);
  // node_exporter 1.5 decodes only \040 and \011 (fstab(5)); \134 and \012 stay escaped.
  EXPECT_EQ(UnescapeMountPoint("a\\011b\\134c\\012d\\040e"), "a\tb\\134c\\012d e");
  EXPECT_EQ(UnescapeMountPoint("trailing\\04"), "trailing\\04");  // truncated escape kept
  // An NFS export with a space keeps its escape in the device, as node_exporter's label has it.
  auto nfs = ParseMounts("server:/export\\040share /mnt/nfs\\011tab nfs4 rw,relatime 0 0\n");
  ASSERT_TRUE(nfs.ok());
  EXPECT_EQ(nfs->at(0).device, "server:/export\\040share");
  EXPECT_EQ(nfs->at(0).mount_point, "/mnt/nfs\ttab");
  EXPECT_FALSE(ParseMounts("/dev/sda1 /boot\n").ok());
}

TEST(FilesystemCollector, FiltersDedupesAndReportsErrors) {
  auto c = NewFilesystemCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  // "/" (listed twice), "/boot" (missing under the fixture root) and "/mnt/data disk"; /proc,
  // /sys, /dev*, /run tmpfs? (not excluded by type), cgroup2 and overlay are filtered.
  const Labels root = {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", "/"}};
  const Labels boot = {{"device", "/dev/sda1"}, {"fstype", "ext4"}, {"mountpoint", "/boot"}};
  const Labels data = {
      {"device", "/dev/sdb1"}, {"fstype", "xfs"}, {"mountpoint", "/mnt/data disk"}};
  EXPECT_EQ(r.Value("node_filesystem_device_error", root), 0);
  EXPECT_GT(r.Value("node_filesystem_size_bytes", root), 0);
  EXPECT_EQ(r.Value("node_filesystem_device_error", boot), 1);
  // As node_exporter 1.5: a failed statfs leaves only device_error, no read-only flag.
  EXPECT_TRUE(std::isnan(r.Value("node_filesystem_readonly", boot)));
  EXPECT_TRUE(std::isnan(r.Value("node_filesystem_size_bytes", boot)));
  EXPECT_EQ(r.Value("node_filesystem_device_error", data), 0);
  // tmpfs on /run is not excluded by node_exporter's upstream defaults. The NFS mount (a tab in
  // its mount point) and /mnt/back\134slash (kept escaped, as node_exporter keeps it) are not
  // under the fixture root: statfs fails, they report device_error 1 with their labels.
  EXPECT_EQ(r.SeriesCount("node_filesystem_device_error"), 6u);
  EXPECT_EQ(r.Value("node_filesystem_device_error", {{"device", "server:/export\\040share"},
                                                     {"fstype", "nfs4"},
                                                     {"mountpoint", "/mnt/nfs\ttab"}}),
            1);
  EXPECT_EQ(
      r.Value("node_filesystem_device_error",
              {{"device", "/dev/sdc1"}, {"fstype", "ext4"}, {"mountpoint", "/mnt/back\\134slash"}}),
      1);
  EXPECT_TRUE(
      std::isnan(r.Value("node_filesystem_readonly",
                         {{"device", "proc"}, {"fstype", "proc"}, {"mountpoint", "/proc"}})));
}

// A statfs that hangs for one mount until released, like a dead NFS server.
struct HangingStatfs {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> calls_to_hung{0};

  int operator()(const char* path, struct statfs* st) {
    if (std::strstr(path, "/mnt/data disk") != nullptr) {
      calls_to_hung.fetch_add(1);
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    }
    std::memset(st, 0, sizeof(*st));
    st->f_bsize = 4096;
    st->f_blocks = 100;
    return 0;
  }
};

TEST(FilesystemCollector, HungMountIsTimeBoxedThenSkippedUntilItAnswers) {
  auto hang = std::make_shared<HangingStatfs>();
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.filesystem.mount_timeout = std::chrono::milliseconds(100);
  auto c = NewFilesystemCollector(
      cfg, [hang](const char* p, struct statfs* st) { return (*hang)(p, st); });
  const Labels data = {
      {"device", "/dev/sdb1"}, {"fstype", "xfs"}, {"mountpoint", "/mnt/data disk"}};
  const Labels root = {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", "/"}};

  auto r1 = testing::Run(*c);
  ASSERT_TRUE(r1.status.ok());
  EXPECT_EQ(r1.Value("node_filesystem_device_error", data), 1);
  EXPECT_EQ(r1.Value("node_filesystem_size_bytes", root), 409600);  // later mounts still served

  // While it stays hung, later scrapes do not call statfs on it again (no new stuck thread).
  auto r2 = testing::Run(*c);
  EXPECT_EQ(r2.Value("node_filesystem_device_error", data), 1);
  EXPECT_EQ(hang->calls_to_hung.load(), 1);

  {
    std::lock_guard lock(hang->mu);
    hang->release = true;
  }
  hang->cv.notify_all();
  // Once the hung call returns, the mount is served again.
  double err = 1;
  for (int i = 0; i < 200 && err != 0; ++i) {
    std::this_thread::sleep_for(10ms);
    err = testing::Run(*c).Value("node_filesystem_device_error", data);
  }
  EXPECT_EQ(err, 0);
}

TEST(StatfsRunner, BatchContinuesPastAHungPathAndCapsStuckWorkers) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> unstuck{-1};
  std::vector<size_t> stuck_indexes;
  StatfsRunner runner(2, [&](const char* path, struct statfs* st) {
    if (path[1] == 'h') {  // "/hung..."
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    }
    st->f_bsize = 1;
    return path[1] == 'e' ? (errno = ENOENT, -1) : 0;  // "/enoent"
  });
  auto r = runner.RunBatch(
      {"/a", "/hung1", "/enoent", "/hung2", "/b", "/c"}, 50ms,
      [&](size_t i) { stuck_indexes.push_back(i); },
      [&](size_t i) { unstuck = static_cast<int>(i); });
  EXPECT_EQ(stuck_indexes, (std::vector<size_t>{1, 3}));
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].outcome, StatfsRunner::Outcome::kOk);
  EXPECT_EQ(r[1].outcome, StatfsRunner::Outcome::kTimeout);
  EXPECT_EQ(r[2].outcome, StatfsRunner::Outcome::kError);
  EXPECT_EQ(r[2].err, ENOENT);
  EXPECT_EQ(r[3].outcome, StatfsRunner::Outcome::kTimeout);
  // Two workers are now stuck (the cap): the rest is not attempted.
  EXPECT_EQ(r[4].outcome, StatfsRunner::Outcome::kTooManyStuck);
  EXPECT_EQ(r[5].outcome, StatfsRunner::Outcome::kTooManyStuck);
  EXPECT_EQ(runner.stuck(), 2);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && runner.stuck() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(runner.stuck(), 0);
  EXPECT_TRUE(unstuck == 1 || unstuck == 3);
  auto again = runner.RunBatch({"/b"}, 1000ms);
  EXPECT_EQ(again[0].outcome, StatfsRunner::Outcome::kOk);
}

}  // namespace
}  // namespace lookout
