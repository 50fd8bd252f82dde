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
#include <utility>

namespace lookout {

namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;  // as file_util's plain reads
constexpr size_t kDefaultLimitCap = 4096;  // node.max_kept_files's default
constexpr size_t kUnset = SIZE_MAX;

std::atomic<size_t> g_limit{kUnset};
std::atomic<size_t> g_open{0};

size_t DefaultLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return kDefaultLimitCap;
  }
  return std::min<size_t>(kDefaultLimitCap, static_cast<size_t>(rl.rlim_cur) / 4);
}

}  // namespace

bool ReserveKeptFile() {
  const size_t limit = KeptFileLimit();
  size_t cur = g_open.load(std::memory_order_relaxed);
  do {
    if (cur >= limit) return false;
  } while (!g_open.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  return true;
}

void ReleaseKeptFile() { g_open.fetch_sub(1, std::memory_order_relaxed); }

namespace {

bool SameIdentity(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

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
  if (!exists || !d.exists || !SameIdentity(st, d.id)) {
    CloseFiles(d);
    // procfs does not touch a directory's times when an entry appears (/proc/net/ip_vs when
    // the module loads), so an absent file there is looked for again on every read.
    struct statfs fs {};
    d.not_procfs = exists && ::statfs(it->first.c_str(), &fs) == 0 && fs.f_type != PROC_SUPER_MAGIC;
  }
  d.exists = exists;
  d.id = st;
  return d;
}

int KeptFiles::Descriptor(const std::string& path, int& err, int& transient,
                          bool& short_read_is_eof) {
  const auto [dir_path, name] = SplitPath(path);
  Dir& d = Visit(dir_path);
  short_read_is_eof = d.not_procfs;
  if (d.exists) {
    auto it = d.files.find(name);
    if (it != d.files.end() && it->second >= 0) return it->second;
    if (it != d.files.end() && it->second == kAbsent) {
      err = ENOENT;
      return -1;
    }
  }
  const int fd = ::open(path.c_str(), kOpenFlags);
  if (fd < 0) {
    err = errno;
    // Absent stays absent while the directory keeps its identity (no entry added).
    if (err == ENOENT && d.not_procfs) d.files.insert_or_assign(std::string(name), kAbsent);
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
  s.fd = Descriptor(path, s.err, transient, s.short_read_is_eof);
  if (transient >= 0) {
    s.fd = transient;
    s.kept = false;
  }
  return s;
}

bool KeptFiles::Release(const std::string& path, const Source& s, bool read_failed) {
  if (!s.kept) {
    ::close(s.fd);
    return false;
  }
  if (read_failed) Forget(path);
  return read_failed;
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
  if (Release(path, s, v.err != 0)) return lookout::SysReadFile(path);
  return v;
}

SysfsValue KeptFiles::ReadSysfsWhole(const std::string& path, size_t max_bytes) {
  if (!in_scrape_) return lookout::ReadSysfsWhole(path, max_bytes);
  const Source s = Acquire(path);
  if (s.fd < 0) return SysfsValue{s.err, {}};
  SysfsValue v = ReadSysfsWholeFd(s.fd, max_bytes, s.short_read_is_eof);
  if (Release(path, s, v.err != 0 && v.err != EFBIG)) {
    return lookout::ReadSysfsWhole(path, max_bytes);
  }
  return v;
}

Result<std::string> KeptFiles::ReadFileLimited(const std::string& path, size_t max_bytes) {
  if (!in_scrape_) return lookout::ReadFileLimited(path, max_bytes);
  const Source s = Acquire(path);
  if (s.fd < 0) return MakeError("open", path + ": " + std::strerror(s.err));
  auto r = ReadFdLimited(s.fd, path, max_bytes, s.short_read_is_eof);
  if (Release(path, s, !r.ok() && r.error().reason == "read")) {
    return lookout::ReadFileLimited(path, max_bytes);
  }
  return r;
}

}  // namespace lookout
