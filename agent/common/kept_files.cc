#include "agent/common/kept_files.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <utility>

namespace lookout {

namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;  // as file_util's plain reads
constexpr size_t kDefaultLimitCap = 4096;                      // node.max_kept_files's default
constexpr size_t kUnset = SIZE_MAX;

std::atomic<size_t> g_limit{kUnset};
std::atomic<size_t> g_open{0};

size_t DefaultLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return kDefaultLimitCap;
  return KeptFileShare(kDefaultLimitCap, rl.rlim_cur);
}

}  // namespace

size_t KeptFileShare(size_t configured, rlim_t soft) {
  if (soft == RLIM_INFINITY) return configured;
  return std::min(configured, static_cast<size_t>(soft / 4));
}

bool ReserveKeptFiles(size_t n) {
  const size_t limit = KeptFileLimit();
  size_t cur = g_open.load(std::memory_order_relaxed);
  do {
    if (cur > limit || n > limit - cur) return false;
  } while (!g_open.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

void ReleaseKeptFiles(size_t n) { g_open.fetch_sub(n, std::memory_order_relaxed); }

namespace {

// The directory and the file name of `path` ("." for a bare name).
std::pair<std::string_view, std::string_view> SplitPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {".", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

void SetKeptFileLimit(size_t limit) { g_limit.store(limit, std::memory_order_relaxed); }

size_t KeptFileLimit() {
  size_t limit = g_limit.load(std::memory_order_relaxed);
  if (limit == kUnset) {
    limit = DefaultLimit();
    size_t unset = kUnset;
    if (!g_limit.compare_exchange_strong(unset, limit)) limit = unset;  // another thread set it
  }
  return limit;
}

bool SameFileIdentity(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

size_t KeptFilesOpen() { return g_open.load(std::memory_order_relaxed); }

KeptFiles::~KeptFiles() {
  for (auto& [path, dir] : dirs_) CloseFiles(dir);
}

void KeptFiles::CloseFiles(Dir& d) {
  for (const auto& [name, fd] : d.files) {
    if (fd < 0) continue;
    ::close(fd);
    --open_;
    ReleaseKeptFile();
  }
  d.files.clear();
}

KeptFiles::Dir& KeptFiles::Visit(std::string_view dir_path) {
  auto it = dirs_.find(dir_path);
  if (it == dirs_.end()) it = dirs_.emplace(std::string(dir_path), Dir{}).first;
  Dir& d = it->second;
  if (d.visited == scrape_) return d;
  d.visited = scrape_;
  struct stat st {};
  const int rc = ::stat(it->first.c_str(), &st);
  d.stat_err = rc != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
  const bool exists = d.stat_err == 0;
  d.settled = exists && d.exists && SameFileIdentity(st, d.id);
  if (!d.settled) {
    CloseFiles(d);
    struct statfs fs {};
    d.kind = Kind::kRegular;
    if (exists && ::statfs(it->first.c_str(), &fs) == 0) {
      if (fs.f_type == PROC_SUPER_MAGIC) d.kind = Kind::kProcfs;
      if (fs.f_type == SYSFS_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC ||
          fs.f_type == CGROUP_SUPER_MAGIC) {
        d.kind = Kind::kKernfs;
      }
    }
  }
  d.exists = exists;
  d.id = st;
  // Directory times come from the coarse clock (a tick) and some filesystems keep whole
  // seconds; two seconds covers both. A time ahead of the clock counts as recent.
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  d.recent = exists && now.tv_sec - st.st_ctim.tv_sec < 2;
  return d;
}

int KeptFiles::Descriptor(const std::string& path, Source& s, int& transient) {
  const auto [dir_path, name] = SplitPath(path);
  Dir& d = Visit(dir_path);
  s.kind = d.kind;
  s.check_links = d.kind == Kind::kRegular && d.recent;
  if (d.exists) {
    auto it = d.files.find(name);
    if (it != d.files.end() && it->second >= 0) {
      s.kept_before = true;
      return it->second;
    }
    if (it != d.files.end() && it->second == kAbsent) {
      s.err = ENOENT;
      return -1;
    }
  }
  const int fd = ::open(path.c_str(), kOpenFlags);
  if (fd < 0) {
    s.err = errno;
    if (s.err == ENOENT && d.settled && d.kind != Kind::kProcfs) {
      d.files.insert_or_assign(std::string(name), kAbsent);
    }
    return -1;
  }
  if (!d.exists || !ReserveKeptFile()) {
    transient = fd;  // over the limit (or a directory we could not stat): read it the plain way
    return -1;
  }
  d.files.insert_or_assign(std::string(name), fd);
  ++open_;
  return fd;
}

void KeptFiles::Forget(const std::string& path) {
  const auto [dir_path, name] = SplitPath(path);
  auto dir = dirs_.find(dir_path);
  if (dir == dirs_.end()) return;
  auto it = dir->second.files.find(name);
  if (it == dir->second.files.end() || it->second < 0) return;
  ::close(it->second);
  dir->second.files.erase(it);
  --open_;
  ReleaseKeptFile();
}

void KeptFiles::EndScrape() {
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->second.visited == scrape_) {
      ++it;
      continue;
    }
    CloseFiles(it->second);  // a device that went away, or a directory this run did not need
    it = dirs_.erase(it);
  }
}

KeptFiles::Source KeptFiles::Acquire(const std::string& path) {
  Source s;
  int transient = -1;
  s.fd = Descriptor(path, s, transient);
  if (transient >= 0) {
    s.fd = transient;
    s.kept = false;
  }
  return s;
}

bool KeptFiles::Release(const std::string& path, const Source& s, int read_errno) {
  if (!s.kept) {
    ::close(s.fd);
    return false;
  }
  bool stale = false;
  if (read_errno != 0) {
    stale = s.kept_before && (read_errno == ENODEV || read_errno == ESTALE ||
                              (read_errno == EIO && s.kind == Kind::kProcfs));
  } else if (s.check_links) {
    struct stat st {};
    stale = ::fstat(s.fd, &st) != 0 || st.st_nlink == 0;
  }
  if (stale) Forget(path);
  return stale;
}

KeptFiles::Scrape::Scrape(KeptFiles& owner) : owner_(owner), lock_(owner.mu_) {
  ++owner_.scrape_;
  owner_.in_scrape_ = true;
}

KeptFiles::Scrape::~Scrape() {
  owner_.EndScrape();
  owner_.in_scrape_ = false;
}

int KeptFiles::StatDir(const std::string& dir) {
  if (in_scrape_) return Visit(dir).stat_err;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

SysfsValue KeptFiles::SysReadFile(const std::string& path) {
  if (!in_scrape_) return lookout::SysReadFile(path);
  const Source s = Acquire(path);
  if (s.fd < 0) return SysfsValue{s.err, {}};
  SysfsValue v = SysReadFd(s.fd);
  if (Release(path, s, v.err)) return lookout::SysReadFile(path);
  return v;
}

SysfsValue KeptFiles::ReadSysfsWhole(const std::string& path, size_t max_bytes) {
  if (!in_scrape_) return lookout::ReadSysfsWhole(path, max_bytes);
  const Source s = Acquire(path);
  if (s.fd < 0) return SysfsValue{s.err, {}};
  SysfsValue v = ReadSysfsWholeFd(s.fd, max_bytes, s.short_read_is_eof());
  if (Release(path, s, v.err == EFBIG ? 0 : v.err)) {
    return lookout::ReadSysfsWhole(path, max_bytes);
  }
  return v;
}

Result<std::string> KeptFiles::ReadFileLimited(const std::string& path, size_t max_bytes) {
  if (!in_scrape_) return lookout::ReadFileLimited(path, max_bytes);
  const Source s = Acquire(path);
  if (s.fd < 0) return MakeError("open", path + ": " + std::strerror(s.err));
  int read_errno = 0;
  auto r = ReadFdLimited(s.fd, path, max_bytes, s.short_read_is_eof(), &read_errno);
  if (Release(path, s, read_errno)) {
    return lookout::ReadFileLimited(path, max_bytes);
  }
  return r;
}

}  // namespace lookout
