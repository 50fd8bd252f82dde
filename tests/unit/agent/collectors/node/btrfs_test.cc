#include "agent/collectors/node/btrfs.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

constexpr const char* kTank = "fs/btrfs/7e6c4f5a-1b9d-4c2e-8f3a-5d0b9e21c6a4";
constexpr const char* kTankUuid = "7e6c4f5a-1b9d-4c2e-8f3a-5d0b9e21c6a4";
constexpr const char* kHomeUuid = "c3e1b72d-9a40-4f6e-b1d8-2f7a6e0c9b15";

// Answers for the mount points it knows, records every path asked.
class FakeIoctl final : public BtrfsIoctl {
 public:
  std::optional<BtrfsIoctlFs> Query(const std::string& mount_path) override {
    std::lock_guard l(mu);
    asked.push_back(mount_path);
    const auto it = answers.find(mount_path);
    if (it == answers.end()) return std::nullopt;
    return it->second;
  }
  std::mutex mu;
  std::map<std::string, BtrfsIoctlFs> answers;
  std::vector<std::string> asked;
};

size_t Series(const std::vector<MetricFamily>& out) {
  size_t n = 0;
  for (const auto& f : out) n += f.samples.size();
  return n;
}

double Value(const std::vector<MetricFamily>& out, std::string_view name, const Labels& want) {
  const MetricFamily* f = testing::FindFamily(out, name);
  if (f == nullptr) return std::nan("");
  for (const auto& s : f->samples) {
    if (s.labels == want) return s.value;
  }
  return std::nan("");
}

TEST(ParseBtrfsValue, GoParseUintWithItsErrorIgnored) {
  EXPECT_EQ(ParseBtrfsValue("536870912"), 536870912u);
  EXPECT_EQ(ParseBtrfsValue("007"), 7u);
  EXPECT_EQ(ParseBtrfsValue(""), 0u);
  EXPECT_EQ(ParseBtrfsValue("garbage"), 0u);
  EXPECT_EQ(ParseBtrfsValue("-5"), 0u);
  EXPECT_EQ(ParseBtrfsValue("+16"), 0u);
  EXPECT_EQ(ParseBtrfsValue("0x10"), 0u);
  EXPECT_EQ(ParseBtrfsValue("1_000"), 0u);
  EXPECT_EQ(ParseBtrfsValue("12 34"), 0u);
  EXPECT_EQ(ParseBtrfsValue("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseBtrfsValue("99999999999999999999"), UINT64_MAX);   // range error: the maximum
  EXPECT_EQ(ParseBtrfsValue("99999999999999999999x"), UINT64_MAX);  // overflow seen first
  EXPECT_EQ(ParseBtrfsValue("9x9999999999999999999"), 0u);          // syntax error first
}

TEST(BtrfsLayoutRatio, AsProcfsComputesIt) {
  EXPECT_EQ(BtrfsLayoutRatio("single", 3), 1);
  EXPECT_EQ(BtrfsLayoutRatio("raid0", 3), 1);
  EXPECT_EQ(BtrfsLayoutRatio("dup", 1), 2);
  EXPECT_EQ(BtrfsLayoutRatio("raid10", 4), 2);
  EXPECT_EQ(BtrfsLayoutRatio("raid5", 2), 2);
  EXPECT_EQ(BtrfsLayoutRatio("raid5", 4), 4.0 / 3);
  EXPECT_TRUE(std::isinf(BtrfsLayoutRatio("raid5", 1)));
  EXPECT_TRUE(std::isinf(BtrfsLayoutRatio("raid6", 2)));
  EXPECT_EQ(BtrfsLayoutRatio("raid6", 1), -1);
  EXPECT_EQ(BtrfsLayoutRatio("raid1c3", 3), 0);
  EXPECT_TRUE(IsBtrfsFilesystemEntry(kTankUuid));
  EXPECT_FALSE(IsBtrfsFilesystemEntry("features"));
}

TEST(ReadBtrfsStats, FixtureAndProcfsReaderRules) {
  testing::CopiedSysfs t;
  const std::string tank = t.dir.path() + "/" + kTank;
  auto s = ReadBtrfsStats(tank);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->uuid, kTankUuid);
  EXPECT_EQ(s->label, "tank");
  EXPECT_EQ(s->global_rsv_size, 536870912u);
  ASSERT_EQ(s->devices.size(), 2u);
  EXPECT_EQ(s->devices[0].name, "sdb");
  EXPECT_EQ(s->devices[0].size_bytes, 7814037168ull * 512);
  ASSERT_EQ(s->allocation[0].layouts.size(), 2u);  // data: raid1 and a leftover single
  EXPECT_EQ(s->allocation[0].layouts[0].mode, "raid1");
  EXPECT_EQ(s->allocation[0].layouts[0].ratio, 2);
  EXPECT_EQ(s->allocation[1].reserved_bytes, 49152u);

  // An unreadable file before allocation/: the values read after it are 0, no error (procfs's
  // reader keeps the error until allocation/data's reader replaces it).
  std::filesystem::remove(tank + "/label");
  std::filesystem::create_directory(tank + "/label");
  s = ReadBtrfsStats(tank);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->label, "");
  EXPECT_EQ(s->global_rsv_size, 0u);
  EXPECT_EQ(s->allocation[1].reserved_bytes, 49152u);  // a fresh reader there

  // Unreadable under allocation/data: zeros after it in data, no error.
  std::filesystem::remove(tank + "/allocation/data/raid1/used_bytes");
  std::filesystem::create_directory(tank + "/allocation/data/raid1/used_bytes");
  s = ReadBtrfsStats(tank);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->allocation[0].layouts[0].total_bytes, 2199023255552u);
  EXPECT_EQ(s->allocation[0].layouts[1].total_bytes, 0u);

  // metadata_uuid empty: the directory's name.
  t.dir.Write(std::string(kTank) + "/metadata_uuid", "\n");
  EXPECT_EQ(ReadBtrfsStats(tank)->uuid, kTankUuid);

  // allocation/system unreadable: the error procfs (and node_exporter) fails on.
  std::filesystem::remove_all(tank + "/allocation/system");
  EXPECT_FALSE(ReadBtrfsStats(tank).ok());
}

TEST(BtrfsCollector, FixtureTreeABadFilesystemAndTheIoctls) {
  testing::CopiedSysfs t;
  testing::TempDir proc;
  proc.Write("1/mounts",
             "/dev/sda1 / xfs rw,relatime 0 0\n"
             "/dev/sda3 /home btrfs rw,relatime,subvolid=256,subvol=/@home 0 0\n"
             "/dev/sdb /srv/tank btrfs rw,relatime,subvolid=5,subvol=/ 0 0\n"
             "/dev/sdb /srv/tank/backups btrfs rw,relatime,subvolid=259,subvol=/backups 0 0\n");
  t.cfg.paths.procfs = proc.path();
  t.cfg.paths.rootfs = "/host";
  auto fake = std::make_shared<FakeIoctl>();

  // Nothing answers: the sysfs device sizes, 34 series as node_exporter 1.5 gives on this tree.
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewBtrfsCollector(t.cfg, fake)->Collect(out).ok());
  EXPECT_EQ(Series(out), 34u);
  EXPECT_EQ(fake->asked,
            (std::vector<std::string>{"/host/home", "/host/srv/tank", "/host/srv/tank/backups"}));
  EXPECT_EQ(Value(out, "node_btrfs_info", {{"label", "tank"}, {"uuid", kTankUuid}}), 1);
  EXPECT_EQ(Value(out, "node_btrfs_device_size_bytes", {{"device", "sdb"}, {"uuid", kTankUuid}}),
            4000787030016.0);
  EXPECT_EQ(Value(out, "node_btrfs_allocation_ratio",
                  {{"block_group_type", "metadata"}, {"mode", "dup"}, {"uuid", kHomeUuid}}),
            2);
  EXPECT_EQ(testing::FindFamily(out, "node_btrfs_device_errors_total"), nullptr);

  // tank's mount point answers: its devices come from the ioctls, home's from sysfs.
  BtrfsIoctlFs fs;
  fs.fsid = "7e6c4f5a1b9d4c2e8f3a5d0b9e21c6a4";
  fs.devices.push_back({"/dev/sdb", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 1000, 4000, {}});
  fs.devices.push_back(
      {"/dev/sdc", "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 5000, 4000, {0, 3, 0, 1, 0}});
  fake->answers["/host/srv/tank"] = fs;
  fake->asked.clear();
  out.clear();
  ASSERT_TRUE(NewBtrfsCollector(t.cfg, fake)->Collect(out).ok());
  // The second mount of /dev/sdb is not asked: that device is done.
  EXPECT_EQ(fake->asked, (std::vector<std::string>{"/host/home", "/host/srv/tank"}));
  const Labels sdc = {{"btrfs_dev_uuid", "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
                      {"device", "sdc"},
                      {"uuid", kTankUuid}};
  EXPECT_EQ(Value(out, "node_btrfs_device_size_bytes", sdc), 4000);
  EXPECT_EQ(Value(out, "node_btrfs_device_unused_bytes", sdc), 18446744073709551616.0 - 1000);
  EXPECT_EQ(Value(out, "node_btrfs_device_errors_total",
                  {{"btrfs_dev_uuid", "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
                   {"device", "sdc"},
                   {"type", "read"},
                   {"uuid", kTankUuid}}),
            3);
  EXPECT_EQ(Value(out, "node_btrfs_device_size_bytes", {{"device", "sda3"}, {"uuid", kHomeUuid}}),
            429496729600.0);
  EXPECT_EQ(Series(out), 34u - 2 + 2 * 7);

  // A missing device of a degraded filesystem: DEV_INFO's path is empty, named "." as Go's
  // path.Base("") names it.
  fs.devices[1].path = "";
  fake->answers["/host/srv/tank"] = fs;
  out.clear();
  ASSERT_TRUE(NewBtrfsCollector(t.cfg, fake)->Collect(out).ok());
  EXPECT_EQ(Value(out, "node_btrfs_device_size_bytes",
                  {{"btrfs_dev_uuid", "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
                   {"device", "."},
                   {"uuid", kTankUuid}}),
            4000);

  // One filesystem that procfs fails on: left out with a partial error, the other kept.
  fake->answers.clear();
  std::filesystem::remove_all(t.dir.path() + "/" + kTank + "/allocation/system");
  out.clear();
  auto st = NewBtrfsCollector(t.cfg, fake)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  const MetricFamily* info = testing::FindFamily(out, "node_btrfs_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->samples.size(), 1u);
  EXPECT_EQ(testing::LabelValue(info->samples[0], "label"), "home");

  // No /sys/fs/btrfs: nothing, no failure, no ioctl.
  std::filesystem::remove_all(t.dir.path() + "/fs/btrfs");
  fake->asked.clear();
  out.clear();
  EXPECT_TRUE(NewBtrfsCollector(t.cfg, fake)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(fake->asked.empty());
}

TEST(BtrfsCollector, SameUuidTwiceAndALabelThatIsNotUtf8) {
  testing::CopiedSysfs t;
  t.cfg.paths.procfs = t.dir.path() + "/no-proc";  // no mounts: the sysfs path only
  t.dir.Write(std::string(kTank) + "/metadata_uuid", std::string(kHomeUuid) + "\n");
  t.dir.Write(std::string(kTank) + "/label", "ta\xffnk\n");
  std::vector<MetricFamily> out;
  auto st = NewBtrfsCollector(t.cfg, std::make_shared<FakeIoctl>())->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(st.error().reason, "duplicate_series");
  EXPECT_EQ(Series(out), 27u);  // node_exporter 1.5 drops the same 7 (after panicking on \xff)
  // The first in directory order (tank's) is kept.
  EXPECT_EQ(Value(out, "node_btrfs_global_rsv_size_bytes", {{"uuid", kHomeUuid}}), 536870912);
  EXPECT_EQ(Value(out, "node_btrfs_info", {{"label", "ta\xef\xbf\xbdnk"}, {"uuid", kHomeUuid}}), 1);
}

}  // namespace
}  // namespace lookout
