// netclass: network interface attributes from /sys/class/net/<iface> (node_network_up,
// node_network_info, node_network_mtu_bytes, node_network_speed_bytes, ...), with the rules
// node_exporter 1.5 (procfs) follows for which series exist: an attribute the kernel refuses for
// the device's kind or state (EINVAL, EOPNOTSUPP: speed of a virtual NIC, carrier of a down one)
// or that is missing simply has no series.
//
// Interfaces come and go (veth pairs of pods): one removed while it is read is left out of this
// scrape; the others are reported (node_exporter fails the whole collector then). Each scrape
// lists the directory; the attribute files of each interface are kept open between scrapes
// (within the process's kept-file limit, kept_files.h) and re-read with pread.
#include "agent/collectors/node/netclass.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

enum Attr : size_t {
  kAddrAssignType,
  kAddress,
  kBroadcast,
  kCarrier,
  kCarrierChanges,
  kCarrierUpCount,
  kCarrierDownCount,
  kDevId,
  kDormant,
  kDuplex,
  kFlags,
  kIfalias,
  kIfindex,
  kIflink,
  kLinkMode,
  kMtu,
  kNameAssignType,
  kNetdevGroup,
  kOperstate,
  kSpeed,
  kTxQueueLen,
  kType,
};
static_assert(kType + 1 == kNetClassAttrs.size());

}  // namespace

Result<NetClassIface> ParseNetClassIface(std::string_view name, const NetClassRaw& raw) {
  NetClassIface n;
  n.name = std::string(name);
  auto str = [&](size_t i) { return raw[i] ? std::string(TrimGoSpace(*raw[i])) : std::string(); };
  n.address = str(kAddress);
  n.broadcast = str(kBroadcast);
  n.duplex = str(kDuplex);
  n.ifalias = str(kIfalias);
  n.operstate = str(kOperstate);
  std::optional<int64_t>* const nums[] = {&n.addr_assign_type,
                                          &n.carrier,
                                          &n.carrier_changes,
                                          &n.carrier_up_count,
                                          &n.carrier_down_count,
                                          &n.dev_id,
                                          &n.dormant,
                                          &n.flags,
                                          &n.ifindex,
                                          &n.iflink,
                                          &n.link_mode,
                                          &n.mtu,
                                          &n.name_assign_type,
                                          &n.netdev_group,
                                          &n.speed,
                                          &n.tx_queue_len,
                                          &n.type};
  const size_t num_attrs[] = {
      kAddrAssignType, kCarrier, kCarrierChanges, kCarrierUpCount, kCarrierDownCount,
      kDevId,          kDormant, kFlags,          kIfindex,        kIflink,
      kLinkMode,       kMtu,     kNameAssignType, kNetdevGroup,    kSpeed,
      kTxQueueLen,     kType};
  static_assert(std::size(nums) == std::size(num_attrs));
  for (size_t k = 0; k < std::size(nums); ++k) {
    const size_t i = num_attrs[k];
    if (!raw[i]) continue;
    auto v = ParseGoInt(TrimGoSpace(*raw[i]), 0);
    if (!v) {
      return MakeError("parse", "/sys/class/net/" + n.name + "/" + std::string(kNetClassAttrs[i]) +
                                    ": not an integer");
    }
    *nums[k] = *v;
  }
  return n;
}

std::vector<MetricFamily> NetClassFamilies(const std::vector<NetClassIface>& ifaces,
                                           bool ignore_invalid_speed) {
  std::vector<MetricFamily> out;
  if (ifaces.empty()) return out;
  MetricFamily up{"node_network_up",
                  "Value is 1 if operstate is 'up', 0 otherwise.",
                  MetricType::kGauge,
                  "",
                  {}};
  MetricFamily info{"node_network_info",
                    "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
                    MetricType::kGauge,
                    "",
                    {}};
  for (const auto& n : ifaces) {
    AddSample(up, n.operstate == "up" ? 1 : 0, {{"device", n.name}});
    // node_exporter panics on a label value that is not UTF-8 (e.g. an ifalias cut at 128 bytes
    // inside a character); the bad bytes become U+FFFD here.
    AddSample(info, 1,
              {{"address", ToValidUtf8(n.address)},
               {"broadcast", ToValidUtf8(n.broadcast)},
               {"device", n.name},
               {"duplex", ToValidUtf8(n.duplex)},
               {"ifalias", ToValidUtf8(n.ifalias)},
               {"operstate", ToValidUtf8(n.operstate)}});
  }
  out.push_back(std::move(up));
  out.push_back(std::move(info));

  struct Field {
    const char* name;
    MetricType type;
    std::optional<int64_t> NetClassIface::*member;
  };
  static constexpr Field kFields[] = {
      {"address_assign_type", MetricType::kGauge, &NetClassIface::addr_assign_type},
      {"carrier", MetricType::kGauge, &NetClassIface::carrier},
      {"carrier_changes_total", MetricType::kCounter, &NetClassIface::carrier_changes},
      {"carrier_up_changes_total", MetricType::kCounter, &NetClassIface::carrier_up_count},
      {"carrier_down_changes_total", MetricType::kCounter, &NetClassIface::carrier_down_count},
      {"device_id", MetricType::kGauge, &NetClassIface::dev_id},
      {"dormant", MetricType::kGauge, &NetClassIface::dormant},
      {"flags", MetricType::kGauge, &NetClassIface::flags},
      {"iface_id", MetricType::kGauge, &NetClassIface::ifindex},
      {"iface_link", MetricType::kGauge, &NetClassIface::iflink},
      {"iface_link_mode", MetricType::kGauge, &NetClassIface::link_mode},
      {"mtu_bytes", MetricType::kGauge, &NetClassIface::mtu},
      {"name_assign_type", MetricType::kGauge, &NetClassIface::name_assign_type},
      {"net_dev_group", MetricType::kGauge, &NetClassIface::netdev_group},
      {"speed_bytes", MetricType::kGauge, &NetClassIface::speed},
      {"transmit_queue_length", MetricType::kGauge, &NetClassIface::tx_queue_len},
      {"protocol_type", MetricType::kGauge, &NetClassIface::type},
  };
  for (const auto& field : kFields) {
    MetricFamily f{std::string("node_network_") + field.name,
                   std::string("Network device property: ") + field.name,
                   field.type,
                   "",
                   {}};
    const bool speed = field.member == &NetClassIface::speed;
    for (const auto& n : ifaces) {
      const auto& v = n.*field.member;
      if (!v) continue;
      if (!speed) {
        AddSample(f, static_cast<double>(*v), {{"device", n.name}});
      } else if (*v >= 0 || !ignore_invalid_speed) {
        // int64(speed * 1000 * 1000 / 8) in Go: wrapping multiply, truncating divide.
        const auto bytes =
            static_cast<int64_t>(static_cast<uint64_t>(*v) * uint64_t{1000} * uint64_t{1000}) / 8;
        AddSample(f, static_cast<double>(bytes), {{"device", n.name}});
      }
    }
    if (!f.samples.empty()) out.push_back(std::move(f));
  }
  return out;
}

SysfsAttr ClassifySysfsErrno(int err) {
  switch (err) {
    case ENOENT:
    case EACCES:
    case EPERM:
    case EOPNOTSUPP:
    case EINVAL:
    case EISDIR:  // a directory: procfs reads regular files only
    case ELOOP:   // a symlink (opened with O_NOFOLLOW): likewise
      return SysfsAttr::kAbsent;
    case ENODEV:  // the device's sysfs node is being removed
      return SysfsAttr::kGone;
    default:
      return SysfsAttr::kValue;  // not a skip: the caller reports an error
  }
}

Result<SysfsAttr> ReadSysfsFd(int fd, std::string& value, PreadFn pread_fn) {
  if (pread_fn == nullptr) pread_fn = ::pread;
  value.clear();
  char buf[128];  // procfs reads sysfs attributes with one read of at most 128 bytes
  ssize_t n;
  do {
    n = pread_fn(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    const SysfsAttr c = ClassifySysfsErrno(err);
    if (c != SysfsAttr::kValue) return c;
    return MakeError("read", std::strerror(err));
  }
  value.assign(buf, static_cast<size_t>(n));
  return SysfsAttr::kValue;
}

namespace {

constexpr int kAttrOpenFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;

// -1 and the classification when the attribute cannot be opened; an error for other failures.
Result<int> OpenSysfsAttr(int dirfd, const char* name, SysfsAttr& why) {
  const int fd = ::openat(dirfd, name, kAttrOpenFlags);
  if (fd >= 0) return fd;
  const int err = errno;
  why = ClassifySysfsErrno(err);
  if (why != SysfsAttr::kValue) return -1;
  return MakeError("open", std::string(name) + ": " + std::strerror(err));
}

}  // namespace

Result<SysfsAttr> ReadSysfsAttr(int dirfd, const char* name, std::string& value, PreadFn pread_fn) {
  value.clear();
  SysfsAttr why = SysfsAttr::kValue;
  auto fd = OpenSysfsAttr(dirfd, name, why);
  if (!fd.ok()) return fd.error();
  if (*fd < 0) return why;
  auto r = ReadSysfsFd(*fd, value, pread_fn);
  ::close(*fd);
  if (!r.ok()) return MakeError("read", std::string(name) + ": " + r.error().detail);
  return r;
}

namespace {

// The open attribute files of one interface, kept across scrapes: a pread at offset 0 makes
// sysfs regenerate the value, and costs a third of open+read+close (the kernel's path walk and
// file setup). An attribute that could not be opened (missing, not permitted, not a regular
// file) stays absent for this instance of the interface. The instance is the directory's inode:
// a device removed and created again under the same name gets new files.
// Its descriptors count against the process's kept-file limit (kept_files.h).
struct IfaceFiles {
  dev_t dev = 0;
  ino_t ino = 0;
  std::array<int, kNetClassAttrs.size()> fds;  // -1: absent
  size_t open_fds = 0;
  size_t reserved = 0;  // taken from the kept-file limit, given back with the files

  IfaceFiles() { fds.fill(-1); }
  IfaceFiles(const IfaceFiles&) = delete;
  IfaceFiles& operator=(const IfaceFiles&) = delete;
  ~IfaceFiles() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
    ReleaseKeptFiles(reserved);
  }
};

class NetclassCollector final : public Collector {
 public:
  explicit NetclassCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("class/net")),
        filter_(cfg.netclass),
        ignore_invalid_speed_(cfg.netclass_ignore_invalid_speed) {}
  std::string_view Name() const override { return "netclass"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    std::lock_guard lock(mu_);  // one scrape at a time uses the kept files
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) return MakeError("open", dir_ + ": " + std::strerror(errno));
    const int classfd = ::dirfd(d);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st {};
        if (::fstatat(classfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
      }
      if (type == DT_REG) continue;  // bonding_masters
      if (filter_.Ignored(n)) continue;
      names.emplace_back(n);
    }
    std::sort(names.begin(), names.end());
    // Interfaces gone since the last scrape give their files back.
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (std::binary_search(names.begin(), names.end(), it->first)) {
        ++it;
      } else {
        Drop(it++);
      }
    }
    std::vector<NetClassIface> ifaces;
    ifaces.reserve(names.size());
    Status st = Ok{};
    for (const auto& name : names) {
      auto iface = ReadIface(classfd, name);
      if (!iface.ok()) {
        st = iface.error();
        break;
      }
      if (*iface) ifaces.push_back(std::move(**iface));
    }
    ::closedir(d);
    if (!st.ok()) return st;
    for (auto& f : NetClassFamilies(ifaces, ignore_invalid_speed_)) out.push_back(std::move(f));
    return Ok{};
  }

 private:
  using Cache = std::map<std::string, std::unique_ptr<IfaceFiles>, std::less<>>;

  void Drop(Cache::iterator it) { cache_.erase(it); }

  // The directory `name` points to now, if it is one.
  static bool Identity(int classfd, const std::string& name, dev_t& dev, ino_t& ino) {
    struct stat st {};
    if (::fstatat(classfd, name.c_str(), &st, 0) != 0 || !S_ISDIR(st.st_mode)) return false;
    dev = st.st_dev;
    ino = st.st_ino;
    return true;
  }

  // The kept files of `name`, opened on first sight (nullptr: over the kept-file limit, or gone).
  Result<IfaceFiles*> Files(int classfd, const std::string& name, bool& gone) {
    dev_t dev = 0;
    ino_t ino = 0;
    if (!Identity(classfd, name, dev, ino)) {
      gone = true;
      if (auto it = cache_.find(name); it != cache_.end()) Drop(it);
      return static_cast<IfaceFiles*>(nullptr);
    }
    if (auto it = cache_.find(name); it != cache_.end()) {
      if (it->second->dev == dev && it->second->ino == ino) return it->second.get();
      Drop(it);  // another device under the same name
    }
    const int ifd = ::openat(classfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ifd < 0) {
      gone = errno == ENOENT || errno == ENOTDIR || errno == ENODEV;
      if (gone) return static_cast<IfaceFiles*>(nullptr);
      return MakeError("open", dir_ + "/" + name + ": " + std::strerror(errno));
    }
    auto files = std::make_unique<IfaceFiles>();
    // 22 descriptors an interface, within the process's kept-file limit; an interface beyond it
    // is read by opening its files each scrape.
    if (!ReserveKeptFiles(kNetClassAttrs.size())) {
      ::close(ifd);
      return static_cast<IfaceFiles*>(nullptr);
    }
    files->reserved = kNetClassAttrs.size();
    struct stat st {};
    if (::fstat(ifd, &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
      ::close(ifd);  // replaced between the two looks: read it uncached this time
      return static_cast<IfaceFiles*>(nullptr);
    }
    files->dev = dev;
    files->ino = ino;
    for (size_t i = 0; i < kNetClassAttrs.size(); ++i) {
      SysfsAttr why = SysfsAttr::kValue;
      auto fd = OpenSysfsAttr(ifd, kNetClassAttrs[i].data(), why);
      if (!fd.ok()) {
        ::close(ifd);
        return MakeError("open", dir_ + "/" + name + "/" + fd.error().detail);
      }
      if (*fd < 0 && why == SysfsAttr::kGone) {
        ::close(ifd);
        gone = true;
        return static_cast<IfaceFiles*>(nullptr);
      }
      files->fds[i] = *fd;
      if (*fd >= 0) ++files->open_fds;
    }
    ::close(ifd);
    ReleaseKeptFiles(files->reserved - files->open_fds);  // the attributes it does not have
    files->reserved = files->open_fds;
    return cache_.insert_or_assign(name, std::move(files)).first->second.get();
  }

  // nullopt: the interface went away while it was read.
  Result<std::optional<NetClassIface>> ReadIface(int classfd, const std::string& name) {
    bool gone = false;
    auto files = Files(classfd, name, gone);
    if (!files.ok()) return files.error();
    if (gone) return std::optional<NetClassIface>();
    if (*files == nullptr) return ReadIfaceUncached(classfd, name);
    IfaceFiles& f = **files;
    std::array<std::string, kNetClassAttrs.size()> values;  // raw points into these
    NetClassRaw raw;
    bool any_refused = false;
    for (size_t i = 0; i < kNetClassAttrs.size(); ++i) {
      if (f.fds[i] < 0) continue;
      auto r = ReadSysfsFd(f.fds[i], values[i]);
      if (!r.ok()) {
        return MakeError("read", dir_ + "/" + name + "/" + std::string(kNetClassAttrs[i]) + ": " +
                                     r.error().detail);
      }
      if (*r == SysfsAttr::kGone) {
        Drop(cache_.find(name));
        return std::optional<NetClassIface>();
      }
      if (*r == SysfsAttr::kValue) {
        raw[i] = values[i];
      } else {
        any_refused = true;
      }
    }
    // A device being unregistered refuses reads (EINVAL) before its files go away: only a
    // directory that is still the one this name points to counts.
    dev_t dev = 0;
    ino_t ino = 0;
    if (any_refused && (!Identity(classfd, name, dev, ino) || dev != f.dev || ino != f.ino)) {
      Drop(cache_.find(name));
      return std::optional<NetClassIface>();
    }
    auto parsed = ParseNetClassIface(name, raw);
    if (!parsed.ok()) return parsed.error();
    return std::optional<NetClassIface>(std::move(*parsed));
  }

  // Over the kept-file limit: open, read and close each file.
  Result<std::optional<NetClassIface>> ReadIfaceUncached(int classfd, const std::string& name) {
    const int ifd = ::openat(classfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ifd < 0) {
      // ENOENT: removed since the listing; ENOTDIR: a dangling or odd entry.
      if (errno == ENOENT || errno == ENOTDIR || errno == ENODEV) {
        return std::optional<NetClassIface>();
      }
      return MakeError("open", dir_ + "/" + name + ": " + std::strerror(errno));
    }
    std::array<std::string, kNetClassAttrs.size()> values;  // raw points into these
    NetClassRaw raw;
    bool any_absent = false;
    for (size_t i = 0; i < kNetClassAttrs.size(); ++i) {
      auto r = ReadSysfsAttr(ifd, kNetClassAttrs[i].data(), values[i]);
      if (!r.ok()) {
        ::close(ifd);
        return MakeError(r.error().reason, dir_ + "/" + name + "/" + r.error().detail);
      }
      if (*r == SysfsAttr::kGone) {
        ::close(ifd);
        return std::optional<NetClassIface>();
      }
      if (*r == SysfsAttr::kValue) {
        raw[i] = values[i];
      } else {
        any_absent = true;
      }
    }
    // A missing file may also mean the whole interface was removed meanwhile.
    bool same = true;
    if (any_absent) {
      struct stat a {
      }, b{};
      same = ::fstat(ifd, &a) == 0 && ::fstatat(classfd, name.c_str(), &b, 0) == 0 &&
             a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    }
    ::close(ifd);
    if (!same) return std::optional<NetClassIface>();
    auto parsed = ParseNetClassIface(name, raw);
    if (!parsed.ok()) return parsed.error();
    return std::optional<NetClassIface>(std::move(*parsed));
  }

  const std::string dir_;
  const DeviceFilter filter_;
  const bool ignore_invalid_speed_;
  std::mutex mu_;
  Cache cache_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Collector> NewNetclassCollector(const NodeOptions& cfg) {
  return std::make_unique<NetclassCollector>(cfg);
}

std::vector<Option<NodeOptions>> NetclassOptionRows() {
  auto rows = DeviceFilterOptions(
      &NodeOptions::netclass, "", "^$",
      "node_exporter's `--collector.netclass.ignored-devices` (default `^$`: none); "
      "`device_include` is a lookout extension");
  rows.push_back(option::Bool<NodeOptions>(
      "ignore_invalid_speed", &NodeOptions::netclass_ignore_invalid_speed, "false",
      "`--collector.netclass.ignore-invalid-speed`: no `node_network_speed_bytes` for a negative "
      "speed (-1 = unknown); node_exporter 1.5 reports it (as -125000) by default"));
  return rows;
}

}  // namespace lookout
