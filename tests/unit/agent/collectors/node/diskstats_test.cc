#include "agent/collectors/node/diskstats.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseDiskstats, KernelsWith11Or15Or17Fields) {
  auto d = ParseDiskstats(testing::ReadFixture("node/proc/diskstats"));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 7u);
  EXPECT_EQ((*d)[1].device, "sda");
  EXPECT_EQ((*d)[1].count, 17u);
  EXPECT_EQ((*d)[3].device, "vda");
  EXPECT_EQ((*d)[3].count, 11u);
  EXPECT_EQ((*d)[4].count, 15u);
  EXPECT_FALSE(ParseDiskstats("8 0 sda 1 2 3\n").ok());
  EXPECT_FALSE(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n").ok());
  EXPECT_TRUE(ParseDiskstats("").ok());  // no block devices is valid
}

TEST(ParseUdevData, Properties) {
  auto u = ParseUdevData(testing::ReadFixture("node/root/run/udev/data/b8:0"));
  EXPECT_EQ(u.model, "Samsung_SSD_860_EVO_500GB");
  EXPECT_EQ(u.serial, "S3Z1NB0K123456A");
  EXPECT_EQ(u.wwn, "0x5002538e40a1b2c3");
  EXPECT_EQ(u.path, "pci-0000:00:1f.2-ata-1");
  EXPECT_EQ(u.revision, "RVT04B6Q");
}

TEST(DiskstatsCollector, UnitsFilterAndInfo) {
  auto c = NewDiskstatsCollector(testing::FixtureNodeOptions());
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  // Default exclude drops loop0, sda1 and nvme0n1p1; sda, vda, nvme0n1 and cciss/c0d0 stay.
  EXPECT_EQ(r.SeriesCount("node_disk_reads_completed_total"), 4u);
  EXPECT_EQ(r.Value("node_disk_reads_completed_total", {{"device", "cciss/c0d0"}}), 5011);
  EXPECT_TRUE(std::isnan(r.Value("node_disk_reads_completed_total", {{"device", "sda1"}})));
  EXPECT_EQ(r.Value("node_disk_read_bytes_total", {{"device", "sda"}}), 11357394.0 * 512);
  EXPECT_DOUBLE_EQ(r.Value("node_disk_read_time_seconds_total", {{"device", "sda"}}), 114.732);
  EXPECT_EQ(r.Value("node_disk_io_now", {{"device", "vda"}}), 1);
  EXPECT_EQ(r.Value("node_disk_flush_requests_total", {{"device", "sda"}}), 156291);
  // vda's kernel line has no discard/flush columns: no such series for it.
  EXPECT_TRUE(std::isnan(r.Value("node_disk_discards_completed_total", {{"device", "vda"}})));
  EXPECT_EQ(r.Value("node_disk_info", {{"device", "sda"},
                                       {"major", "8"},
                                       {"minor", "0"},
                                       {"model", "Samsung_SSD_860_EVO_500GB"},
                                       {"path", "pci-0000:00:1f.2-ata-1"},
                                       {"revision", "RVT04B6Q"},
                                       {"serial", "S3Z1NB0K123456A"},
                                       {"wwn", "0x5002538e40a1b2c3"}}),
            1);
}

}  // namespace
// The cciss driver's disks are named with a '/' ("cciss/c0d0"): one device, all its fields.
TEST(ParseDiskstats, ASlashInTheDeviceName) {
  auto d = ParseDiskstats(testing::ReadFixture("node/proc/diskstats"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->back().device, "cciss/c0d0");
  EXPECT_EQ(d->back().major, "104");
  EXPECT_EQ(d->back().v[0], 5011);
}

}  // namespace lookout
