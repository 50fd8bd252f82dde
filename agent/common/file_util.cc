#include "agent/common/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace lookout {

namespace {

// Reads all of fd from offset 0 with pread (so a kept-open procfs file is regenerated), at most
// max_bytes; one byte more is read to tell "exactly max" from "too large".
Result<std::string> ReadAllAt0(int fd, const std::string& path, size_t max_bytes) {
  std::string out;
  size_t chunk = 8192;  // procfs files report size 0, so read in growing chunks
  while (true) {
    const size_t old = out.size();
    if (old >= max_bytes + 1) break;
    out.resize(std::min(old + chunk, max_bytes + 1));
    const ssize_t n = ::pread(fd, out.data() + old, out.size() - old, static_cast<off_t>(old));
    if (n < 0) {
      if (errno == EINTR) {
        out.resize(old);
        continue;
      }
      return MakeError("read", path + ": " + std::strerror(errno));
    }
    out.resize(old + static_cast<size_t>(n));
    if (n == 0) break;
    chunk = std::min<size_t>(chunk * 2, 1 << 20);
  }
  if (out.size() > max_bytes) {
    return MakeError("too_large", path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

}  // namespace

Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError("open", path + ": " + std::strerror(errno));
  auto r = ReadAllAt0(fd, path, max_bytes);
  ::close(fd);
  return r;
}

CachedFile::~CachedFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> CachedFile::ReadOnce(size_t max_bytes) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return MakeError("open", path_ + ": " + std::strerror(errno));
  }
  return ReadAllAt0(fd_, path_, max_bytes);
}

Result<std::string> CachedFile::Read(size_t max_bytes) {
  std::lock_guard lock(mu_);
  auto r = ReadOnce(max_bytes);
  if (!r.ok() && r.error().reason == "read" && fd_ >= 0) {
    ::close(fd_);  // stale: the file was replaced or its device went away; try a fresh open
    fd_ = -1;
    r = ReadOnce(max_bytes);
  }
  if (!r.ok() && r.error().reason == "open") fd_ = -1;
  return r;
}

void SplitFields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= n) break;
    const size_t start = i;
    while (i < n && line[i] != ' ' && line[i] != '\t') ++i;
    out.push_back(line.substr(start, i - start));
  }
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseI64(std::string_view s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace lookout
