// btrfs: Btrfs filesystems from /sys/fs/btrfs/<uuid>/ and the btrfs ioctls on their mount
// points (node_exporter 1.5, procfs 0.8's btrfs package and dennwc/btrfs):
//   node_btrfs_info{label,uuid} 1, node_btrfs_global_rsv_size_bytes{uuid},
//   node_btrfs_reserved_bytes{block_group_type,uuid} for data, metadata and system,
//   node_btrfs_{used,size}_bytes and node_btrfs_allocation_ratio{block_group_type,mode,uuid} per
//   profile directory under allocation/<type>/,
//   node_btrfs_device_size_bytes{device,uuid} per devices/<name> entry, or, for a filesystem
//   whose mount point answered the ioctls: node_btrfs_device_size_bytes,
//   node_btrfs_device_unused_bytes and node_btrfs_device_errors_total{type} (write, read,
//   flush, corruption, generation), each {btrfs_dev_uuid,device,uuid} per device id.
//
// Which series exist, as node_exporter's: the filesystems are the entries of /sys/fs/btrfs with
// a '-' in their name; no /sys/fs/btrfs: no series, no failure. Values that do not parse read 0
// and values after an unreadable file read 0 (ReadBtrfsStats: procfs's reader). The ioctls go to
// the btrfs mounts of /proc/1/mounts (/proc/mounts when that is absent), each path under
// paths.rootfs, one per device; a filesystem is matched to them by UUID without dashes, and
// falls back to the sysfs device sizes when none answered (not btrfs, not a subvolume root,
// open refused, ...), as node_exporter does, silently.
//
// Where lookout differs: a filesystem that procfs fails on (allocation/system unreadable or
// absent, an entry "a-b" that is a file) is left out with a partial error and the others kept;
// node_exporter fails the whole collector. Two filesystems giving the same series (the same
// metadata_uuid): the first in directory order is kept, as node_exporter's registry keeps it,
// the others counted (duplicate_series). A label value that is not UTF-8 (a label cut at 128
// bytes inside a character, a device name) gets U+FFFD as Go's strings.ToValidUTF8;
// node_exporter panics there and the exporter exits.
#include "agent/collectors/node/btrfs.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "agent/collectors/node/filesystem.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

uint64_t ParseBtrfsValue(std::string_view text) {
  if (text.empty()) return 0;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;  // syntax error: Go returns 0
    const uint64_t d = static_cast<uint64_t>(c - '0');
    // Range error: Go returns the maximum at the digit that overflows, before looking further
    // ("99999999999999999999x" is the maximum, not a syntax error).
    if (v > (UINT64_MAX - d) / 10) return UINT64_MAX;
    v = v * 10 + d;
  }
  return v;
}

double BtrfsLayoutRatio(std::string_view mode, size_t device_count) {
  const double n = static_cast<double>(device_count);
  if (mode == "single" || mode == "raid0") return 1;
  if (mode == "dup" || mode == "raid1" || mode == "raid10") return 2;
  if (mode == "raid5") return n / (n - 1);
  if (mode == "raid6") return n / (n - 2);
  return 0;
}

bool IsBtrfsFilesystemEntry(std::string_view name) {
  return name.find('-') != std::string_view::npos;
}

namespace {

// Go's path.Base, as node_exporter names a device from DEV_INFO's path: "" gives "." (a missing
// device of a degraded filesystem has an empty path), trailing slashes are dropped, "/" stays.
std::string GoPathBase(std::string_view p) {
  if (p.empty()) return ".";
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  const size_t slash = p.rfind('/');
  if (slash != std::string_view::npos && p.size() > 1) p.remove_prefix(slash + 1);
  return std::string(p);
}

bool IsDirNoFollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// procfs's btrfs reader: reads relative to one directory and remembers its last error.
class Reader {
 public:
  Reader(std::string path, KeptFiles* kept, size_t device_count = 0)
      : path_(std::move(path)), kept_(kept), device_count_(device_count) {}

  // readFile: "" when the file is absent or unreadable; an error other than ENOENT is kept.
  std::string ReadFile(const std::string& rel) {
    const std::string path = path_ + "/" + rel;
    SysfsValue v = kept_ != nullptr ? kept_->SysReadFile(path) : SysReadFile(path);
    if (v.err != 0) {
      if (v.err != ENOENT) err_ = SysfsError(path_ + "/" + rel, v);
      return "";
    }
    return std::move(v.text);
  }

  // readValue: 0 once this reader has an error (the file is read all the same).
  uint64_t ReadValue(const std::string& rel) {
    const std::string s = ReadFile(rel);
    if (err_) return 0;
    return ParseBtrfsValue(s);
  }

  // listFiles: the names of a directory; none, and an error kept, when it cannot be listed.
  std::vector<std::string> ListFiles(const std::string& rel) {
    const std::string dir = path_ + "/" + rel;
    auto names = ReadDirNames(dir);
    if (!names) {
      err_ = MakeError("read", dir + ": cannot be listed");
      return {};
    }
    return std::move(*names);
  }

  BtrfsAllocation ReadAllocation(const std::string& rel, std::optional<Error>& parent_err) {
    Reader sr(path_ + "/" + rel, kept_, device_count_);
    BtrfsAllocation a;
    // Every file procfs reads, in its order: a failure among them zeroes the values after it.
    for (const char* f : {"bytes_may_use", "bytes_pinned", "bytes_readonly"}) sr.ReadValue(f);
    a.reserved_bytes = sr.ReadValue("bytes_reserved");
    for (const char* f :
         {"bytes_used", "disk_used", "disk_total", "flags", "total_bytes", "total_bytes_pinned"}) {
      sr.ReadValue(f);
    }
    if (auto names = ReadDirNames(sr.path_)) {
      for (const std::string& mode : *names) {
        if (!IsDirNoFollow(sr.path_ + "/" + mode)) continue;
        BtrfsLayout l;
        l.mode = mode;
        l.total_bytes = sr.ReadValue(mode + "/total_bytes");
        l.used_bytes = sr.ReadValue(mode + "/used_bytes");
        l.ratio = BtrfsLayoutRatio(mode, device_count_);
        a.layouts.push_back(std::move(l));
      }
    } else {
      sr.err_ = MakeError("read", sr.path_ + ": cannot be listed");
    }
    parent_err = sr.err_;  // procfs assigns the sub-reader's error, nil included
    return a;
  }

  void set_device_count(size_t n) { device_count_ = n; }
  std::optional<Error>& err() { return err_; }

 private:
  std::string path_;
  KeptFiles* kept_;
  size_t device_count_;
  std::optional<Error> err_;
};

}  // namespace

Result<BtrfsStats> ReadBtrfsStats(const std::string& uuid_path, KeptFiles* kept) {
  Reader r(uuid_path, kept);
  BtrfsStats s;
  for (const std::string& name : r.ListFiles("devices")) {
    const uint64_t sectors = r.ReadValue("devices/" + name + "/size");
    s.devices.push_back({name, sectors * 512});  // u64 arithmetic wraps, as Go's
  }
  r.set_device_count(s.devices.size());
  s.label = r.ReadFile("label");
  s.uuid = r.ReadFile("metadata_uuid");
  r.ListFiles("features");
  for (const char* f : {"clone_alignment", "nodesize", "quota_override", "sectorsize",
                        "allocation/global_rsv_reserved"}) {
    r.ReadValue(f);
  }
  s.global_rsv_size = r.ReadValue("allocation/global_rsv_size");
  s.allocation[0] = r.ReadAllocation("allocation/data", r.err());
  s.allocation[1] = r.ReadAllocation("allocation/metadata", r.err());
  s.allocation[2] = r.ReadAllocation("allocation/system", r.err());
  if (r.err()) return *r.err();
  if (s.uuid.empty()) s.uuid = uuid_path.substr(uuid_path.rfind('/') + 1);
  return s;
}

namespace {

std::string Hex(const uint8_t* b, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[b[i] >> 4];
    out += kDigits[b[i] & 0xf];
  }
  return out;
}

class KernelBtrfsIoctl final : public BtrfsIoctl {
 public:
  std::optional<BtrfsIoctlFs> Query(const std::string& mount_path) override {
    struct stat st {};
    if (::stat(mount_path.c_str(), &st) != 0) return std::nullopt;
    if (st.st_ino != 256 || !S_ISDIR(st.st_mode)) return std::nullopt;  // not a subvolume root
    struct statfs sfs {};
    if (::statfs(mount_path.c_str(), &sfs) != 0 || sfs.f_type != BTRFS_SUPER_MAGIC) {
      return std::nullopt;
    }
    const int fd = ::open(mount_path.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC);
    if (fd < 0) return std::nullopt;  // EPERM for O_NOATIME when not the owner, as Go's
    auto out = QueryFd(fd);
    ::close(fd);
    return out;
  }

 private:
  static int Ioctl(int fd, unsigned long req, void* arg) {
    int rc = 0;
    do {
      rc = ::ioctl(fd, req, arg);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? errno : 0;
  }

  static std::optional<BtrfsIoctlFs> QueryFd(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    btrfs_ioctl_fs_info_args info{};
    if (Ioctl(fd, BTRFS_IOC_FS_INFO, &info) != 0) return std::nullopt;
    BtrfsIoctlFs fs;
    fs.fsid = Hex(info.fsid, sizeof info.fsid);
    for (uint64_t id = 0; id <= info.max_id; ++id) {
      auto dev = std::make_unique<btrfs_ioctl_dev_info_args>();
      std::memset(dev.get(), 0, sizeof *dev);
      dev->devid = id;
      if (const int e = Ioctl(fd, BTRFS_IOC_DEV_INFO, dev.get()); e != 0) {
        if (e == ENODEV) continue;  // device ids have gaps
        return std::nullopt;
      }
      btrfs_ioctl_get_dev_stats stats{};
      stats.devid = id;
      stats.nr_items = kDevStatsItems;
      stats.flags = 0;
      if (Ioctl(fd, BTRFS_IOC_GET_DEV_STATS, &stats) != 0) return std::nullopt;
      BtrfsIoctlDevice d;
      const auto* p = reinterpret_cast<const char*>(dev->path);
      d.path.assign(p, ::strnlen(p, sizeof dev->path));
      const std::string u = Hex(dev->uuid, sizeof dev->uuid);
      d.uuid = u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" +
               u.substr(16, 4) + "-" + u.substr(20);
      d.bytes_used = dev->bytes_used;
      d.total_bytes = dev->total_bytes;
      for (size_t i = 0; i < d.errors.size(); ++i) d.errors[i] = stats.values[i];
      fs.devices.push_back(std::move(d));
      if (fs.devices.size() == info.num_devices) break;
    }
    return fs;
  }

  // The kernel copies out only the first nr_items counters: ask for all five (write, read,
  // flush, corruption, generation), which node_btrfs_device_errors_total reports. Whether
  // node_exporter 1.5's library asks for them too is not verified (no btrfs mount here; README).
  static constexpr uint64_t kDevStatsItems = BTRFS_DEV_STAT_VALUES_MAX;
};

struct Key {
  size_t family;
  Labels labels;
  bool operator<(const Key& o) const {
    if (family != o.family) return family < o.family;
    if (labels.size() != o.labels.size()) return labels.size() < o.labels.size();
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].name != o.labels[i].name) return labels[i].name < o.labels[i].name;
      if (labels[i].value != o.labels[i].value) return labels[i].value < o.labels[i].value;
    }
    return false;
  }
};

enum Family : size_t {
  kInfo,
  kGlobalRsv,
  kReserved,
  kUsed,
  kSize,
  kRatio,
  kDeviceSize,
  kDeviceUnused,
  kDeviceErrors,
  kFamilyCount
};

class BtrfsCollector final : public Collector {
 public:
  BtrfsCollector(const NodeOptions& cfg, std::shared_ptr<BtrfsIoctl> ioctl)
      : paths_(cfg.paths),
        dir_(cfg.paths.Sys("fs/btrfs")),
        max_(cfg.max_file_bytes),
        ioctl_(std::move(ioctl)) {}
  std::string_view Name() const override { return "btrfs"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();  // first: a run that ends early still closes what it left
    const auto entries = ReadDirNames(dir_);
    if (!entries) return Ok{};  // no btrfs: no series, no failure
    SkippedEntries skipped;
    std::vector<BtrfsStats> filesystems;
    for (const std::string& name : *entries) {
      if (!IsBtrfsFilesystemEntry(name)) continue;
      auto s = ReadBtrfsStats(dir_ + "/" + name, &kept_);
      if (!s.ok()) {
        skipped.Add(MakeError(s.error().reason, dir_ + "/" + name + ": " + s.error().detail));
        continue;
      }
      filesystems.push_back(std::move(*s));
    }
    if (filesystems.empty()) return skipped.ToStatus();
    const std::map<std::string, BtrfsIoctlFs> by_fsid = QueryMounts();

    std::vector<MetricFamily> f(kFamilyCount);
    f[kInfo] = {"node_btrfs_info", "Filesystem information", MetricType::kGauge, {}, {}};
    f[kGlobalRsv] = {
        "node_btrfs_global_rsv_size_bytes", "Size of global reserve.", MetricType::kGauge, {}, {}};
    f[kReserved] = {"node_btrfs_reserved_bytes",
                    "Amount of space reserved for a data type",
                    MetricType::kGauge,
                    {},
                    {}};
    f[kUsed] = {"node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                MetricType::kGauge,
                {},
                {}};
    f[kSize] = {"node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                MetricType::kGauge,
                {},
                {}};
    f[kRatio] = {"node_btrfs_allocation_ratio",
                 "Data allocation ratio for a layout/data type",
                 MetricType::kGauge,
                 {},
                 {}};
    f[kDeviceSize] = {"node_btrfs_device_size_bytes",
                      "Size of a device that is part of the filesystem.",
                      MetricType::kGauge,
                      {},
                      {}};
    f[kDeviceUnused] = {"node_btrfs_device_unused_bytes",
                        "Unused bytes unused on a device that is part of the filesystem.",
                        MetricType::kGauge,
                        {},
                        {}};
    f[kDeviceErrors] = {"node_btrfs_device_errors_total",
                        "Errors reported for the device",
                        MetricType::kCounter,
                        {},
                        {}};
    std::set<Key> seen;
    auto add = [&](Family fam, double v, Labels labels) {
      if (!seen.insert(Key{fam, labels}).second) {
        skipped.Add(
            MakeError("duplicate_series", std::string(f[fam].name) + ": a series seen before"));
        return;
      }
      AddSample(f[fam], v, std::move(labels));
    };

    static constexpr std::array<const char*, 3> kTypes = {"data", "metadata", "system"};
    static constexpr std::array<const char*, 5> kErrorTypes = {"write", "read", "flush",
                                                               "corruption", "generation"};
    for (const BtrfsStats& s : filesystems) {
      const std::string uuid = ToValidUtf8(s.uuid);
      add(kInfo, 1, {{"label", ToValidUtf8(s.label)}, {"uuid", uuid}});
      add(kGlobalRsv, static_cast<double>(s.global_rsv_size), {{"uuid", uuid}});
      for (size_t t = 0; t < kTypes.size(); ++t) {
        const BtrfsAllocation& a = s.allocation[t];
        add(kReserved, static_cast<double>(a.reserved_bytes),
            {{"block_group_type", kTypes[t]}, {"uuid", uuid}});
        for (const BtrfsLayout& l : a.layouts) {
          const Labels labels = {
              {"block_group_type", kTypes[t]}, {"mode", ToValidUtf8(l.mode)}, {"uuid", uuid}};
          add(kUsed, static_cast<double>(l.used_bytes), labels);
          add(kSize, static_cast<double>(l.total_bytes), labels);
          add(kRatio, l.ratio, labels);
        }
      }
      std::string fsid = s.uuid;
      std::erase(fsid, '-');
      const auto it = by_fsid.find(fsid);
      if (it == by_fsid.end()) {
        for (const BtrfsDevice& d : s.devices) {
          add(kDeviceSize, static_cast<double>(d.size_bytes),
              {{"device", ToValidUtf8(d.name)}, {"uuid", uuid}});
        }
        continue;
      }
      for (const BtrfsIoctlDevice& d : it->second.devices) {
        const std::string device = ToValidUtf8(GoPathBase(d.path));
        const Labels labels = {{"btrfs_dev_uuid", d.uuid}, {"device", device}, {"uuid", uuid}};
        add(kDeviceSize, static_cast<double>(d.total_bytes), labels);
        add(kDeviceUnused, static_cast<double>(d.total_bytes - d.bytes_used), labels);  // wraps
        for (size_t e = 0; e < kErrorTypes.size(); ++e) {
          add(kDeviceErrors, static_cast<double>(d.errors[e]),
              {{"btrfs_dev_uuid", d.uuid},
               {"device", device},
               {"type", kErrorTypes[e]},
               {"uuid", uuid}});
        }
      }
    }
    for (MetricFamily& fam : f) {
      if (!fam.samples.empty()) out.push_back(std::move(fam));
    }
    return skipped.ToStatus();
  }

 private:
  // node_exporter's getIoctlStats: the first mount of each btrfs filesystem that answers, by
  // fsid. Nothing (the sysfs fallback for all) when the mounts file cannot be read or parsed.
  std::map<std::string, BtrfsIoctlFs> QueryMounts() const {
    std::map<std::string, BtrfsIoctlFs> by_fsid;
    const std::string first = paths_.Proc("1/mounts");
    auto text = ReadFileLimited(first, max_);
    if (!text.ok() && IsMissing(text.error(), first)) {
      text = ReadFileLimited(paths_.Proc("mounts"), max_);
    }
    if (!text.ok()) return by_fsid;
    const auto mounts = ParseMounts(*text);
    if (!mounts.ok()) return by_fsid;
    std::set<std::string> devices_done;
    for (const MountEntry& m : *mounts) {
      if (m.fs_type != "btrfs" || devices_done.count(m.device)) continue;
      auto fs = ioctl_->Query(paths_.Root(m.mount_point));
      if (!fs || by_fsid.count(fs->fsid)) continue;
      devices_done.insert(m.device);
      std::string fsid = fs->fsid;
      by_fsid.emplace(std::move(fsid), std::move(*fs));
    }
    return by_fsid;
  }

  const HostPaths paths_;
  const std::string dir_;
  const size_t max_;
  const std::shared_ptr<BtrfsIoctl> ioctl_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<BtrfsIoctl> NewKernelBtrfsIoctl() { return std::make_unique<KernelBtrfsIoctl>(); }

std::unique_ptr<Collector> NewBtrfsCollector(const NodeOptions& cfg,
                                             std::shared_ptr<BtrfsIoctl> ioctl) {
  return std::make_unique<BtrfsCollector>(cfg, std::move(ioctl));
}

std::unique_ptr<Collector> NewBtrfsCollector(const NodeOptions& cfg) {
  return NewBtrfsCollector(cfg, NewKernelBtrfsIoctl());
}

}  // namespace lookout
