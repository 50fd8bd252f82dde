#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collectors/node/node_options.h"
#include "agent/common/kept_files.h"
#include "lookout/collector.h"
#include "lookout/result.h"

namespace lookout {

// One filesystem of /sys/fs/btrfs/<uuid>/, what node_exporter 1.5 exposes of it (procfs 0.8's
// btrfs.Stats). Sizes in bytes.
struct BtrfsLayout {
  std::string mode;  // the profile directory: single, dup, raid0, raid1, raid10, raid5, raid6, ...
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;
  double ratio = 0;  // BtrfsLayoutRatio
};
struct BtrfsAllocation {
  uint64_t reserved_bytes = 0;       // allocation/<type>/bytes_reserved
  std::vector<BtrfsLayout> layouts;  // its subdirectories, sorted by name
};
struct BtrfsDevice {
  std::string name;         // the entry of devices/ (sda3, dm-0, nvme0n1p2)
  uint64_t size_bytes = 0;  // devices/<name>/size (512-byte sectors) * 512, wrapping as a u64
};
struct BtrfsStats {
  std::string uuid;   // metadata_uuid, or the directory name when that is empty or absent
  std::string label;  // label ("" when absent)
  uint64_t global_rsv_size = 0;
  std::array<BtrfsAllocation, 3> allocation;  // data, metadata, system
  std::vector<BtrfsDevice> devices;           // sorted by name
};

// procfs 0.8's btrfs.GetStats(uuid_path), read in the same order with the same error rules, so
// the same values come out: a file that is absent reads as "" (value 0); any other failure to
// read a file or list a directory is remembered as the reader's error, after which that
// reader's values read as 0. The filesystem's own reader is replaced by each allocation/<type>
// reader's error in turn, so only a failure under allocation/system (or its absence) makes this
// an error (reason "read") where procfs fails GetStats and node_exporter the whole collector;
// a failure elsewhere (devices/ missing, label a directory, a layout file unreadable) gives
// zeros for the values read after it. Values are ParseBtrfsValue of the trimmed text. With
// `kept` (the collector's, within its Scrape) the files stay open between scrapes.
Result<BtrfsStats> ReadBtrfsStats(const std::string& uuid_path, KeptFiles* kept = nullptr);

// Go's strconv.ParseUint(s, 10, 64) with its error ignored, as procfs reads every btrfs value:
// digits only (no sign, prefix or '_'); 0 for anything else; 2^64-1 when the digits overflow.
uint64_t ParseBtrfsValue(std::string_view text);

// The allocation ratio procfs gives a profile: 1 for single and raid0; 2 for dup, raid1 and
// raid10; n/(n-1) for raid5 and n/(n-2) for raid6 with n = the number of devices/ entries
// (+Inf, negative or NaN for too few devices, as Go's float division gives); 0 otherwise
// (raid1c3, raid1c4).
double BtrfsLayoutRatio(std::string_view mode, size_t device_count);

// Go's Glob "*-*" on /sys/fs/btrfs: the filesystems are the entries with a '-' in their name
// (not "features").
bool IsBtrfsFilesystemEntry(std::string_view name);

// Per-device numbers from the btrfs ioctls node_exporter 1.5 issues on each btrfs mount point
// (dennwc/btrfs): BTRFS_IOC_FS_INFO, then BTRFS_IOC_DEV_INFO and BTRFS_IOC_GET_DEV_STATS per
// device id.
struct BtrfsIoctlDevice {
  std::string path;  // as the kernel names it (/dev/sdb); the `device` label is its last part
  std::string uuid;  // the device's UUID, 8-4-4-4-12 lower-case hex
  uint64_t bytes_used = 0;
  uint64_t total_bytes = 0;
  std::array<uint64_t, 5> errors{};  // write, read, flush, corruption, generation
};
struct BtrfsIoctlFs {
  std::string fsid;  // 32 lower-case hex digits, no dashes
  std::vector<BtrfsIoctlDevice> devices;
};

// Queries one mount point. Thread-safety: Query() may be called from several scrapes at once.
class BtrfsIoctl {
 public:
  virtual ~BtrfsIoctl() = default;
  // nullopt where node_exporter skips the mount point: stat fails, not a directory with inode
  // 256 on a filesystem with btrfs's magic, open(O_RDONLY|O_NOATIME) fails, FS_INFO fails, or a
  // DEV_INFO (other than ENODEV, a gap in the ids) or GET_DEV_STATS fails.
  virtual std::optional<BtrfsIoctlFs> Query(const std::string& mount_path) = 0;
};

// The kernel's ioctls, as node_exporter 1.5 issues them, asking GET_DEV_STATS for all five
// counters (BTRFS_DEV_STAT_VALUES_MAX).
std::unique_ptr<BtrfsIoctl> NewKernelBtrfsIoctl();

// The collector with the ioctls injected (tests); node_collectors.h has the usual factory.
std::unique_ptr<Collector> NewBtrfsCollector(const NodeOptions& cfg,
                                             std::shared_ptr<BtrfsIoctl> ioctl);

}  // namespace lookout
