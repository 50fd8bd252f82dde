#include "agent/common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstring>
#include <limits>

namespace lookout {

ssize_t PreadOrRead(int fd, void* buf, size_t n, off_t offset) {
  ssize_t r = 0;
  do {
    r = ::pread(fd, buf, n, offset);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ESPIPE) {
    do {
      r = ::read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
  }
  return r;
}

namespace {

// Whether a read that got `n` of `want` bytes ended the file, for short_read_is_eof readers. A
// whole page is never taken as the end: kernfs answers binary and preallocated attributes a
// page per read.
bool EndsFile(ssize_t n, size_t want, bool short_read_is_eof) {
  if (n == 0) return true;
  const auto got = static_cast<size_t>(n);
  return short_read_is_eof && got < want && got % 4096 != 0;
}

}  // namespace

// Reads all of fd from offset 0 with pread (so a kept-open procfs file is regenerated), at most
// max_bytes; one byte more is read to tell "exactly max" from "too large".
Result<std::string> ReadFdLimited(int fd, const std::string& path, size_t max_bytes,
                                  bool short_read_is_eof, int* read_errno) {
  const auto failed = [&] {
    if (read_errno != nullptr) *read_errno = errno;
    return MakeError("read", path + ": " + std::strerror(errno));
  };
  // Most kernel files fit a page: the first read goes to the stack, not to a zero-filled string.
  char first[4096];
  const size_t first_want = std::min(sizeof first, max_bytes + 1);
  ssize_t n = PreadOrRead(fd, first, first_want, 0);
  if (n < 0) return failed();
  std::string out(first, static_cast<size_t>(n));
  bool done = EndsFile(n, first_want, short_read_is_eof);
  size_t chunk = 8192;  // procfs files report size 0, so read on in growing chunks
  while (!done) {
    const size_t old = out.size();
    if (old >= max_bytes + 1) break;
    out.resize(std::min(old + chunk, max_bytes + 1));
    const size_t want = out.size() - old;
    n = PreadOrRead(fd, out.data() + old, want, static_cast<off_t>(old));
    if (n < 0) return failed();
    out.resize(old + static_cast<size_t>(n));
    done = EndsFile(n, want, short_read_is_eof);
    chunk = std::min<size_t>(chunk * 2, 1 << 20);
  }
  if (out.size() > max_bytes) {
    return MakeError("too_large", path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return MakeError("open", path + ": " + std::strerror(errno));
  auto r = ReadFdLimited(fd, path, max_bytes);
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
  return ReadFdLimited(fd_, path_, max_bytes);
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

SysfsValue SysReadFile(const std::string& path) { return SysReadFileAt(AT_FDCWD, path.c_str()); }

SysfsValue SysReadFileAt(int dir_fd, const char* rel) {
  const int fd = ::openat(dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return SysfsValue{errno, {}};
  SysfsValue v = SysReadFd(fd);
  ::close(fd);
  return v;
}

SysfsValue SysReadFd(int fd) {
  SysfsValue v;
  char buf[128];
  const ssize_t n = PreadOrRead(fd, buf, sizeof buf, 0);
  v.err = n < 0 ? errno : 0;
  if (n > 0) v.text = std::string(TrimGoSpace(std::string_view(buf, static_cast<size_t>(n))));
  return v;
}

SysfsValue ReadSysfsWhole(const std::string& path, size_t max_bytes) {
  return ReadSysfsWholeAt(AT_FDCWD, path.c_str(), max_bytes);
}

SysfsValue ReadSysfsWholeAt(int dir_fd, const char* rel, size_t max_bytes) {
  const int fd = ::openat(dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return SysfsValue{errno, {}};
  SysfsValue v = ReadSysfsWholeFd(fd, max_bytes);
  ::close(fd);
  return v;
}

SysfsValue ReadSysfsWholeFd(int fd, size_t max_bytes, bool short_read_is_eof) {
  SysfsValue v;
  std::string text;
  char buf[4096];
  while (true) {
    const ssize_t n = PreadOrRead(fd, buf, sizeof buf, static_cast<off_t>(text.size()));
    if (n < 0) {
      v.err = errno;  // ENODATA, EINVAL, EIO: the driver refused
      break;
    }
    const std::string_view got(buf, static_cast<size_t>(n));
    const bool end = EndsFile(n, sizeof buf, short_read_is_eof);
    if (text.empty() && end) {  // all of it in one read: no copy through `text`
      if (got.size() > max_bytes) {
        v.err = EFBIG;
      } else {
        v.text = std::string(TrimGoSpace(got));
      }
      return v;
    }
    text.append(got);
    if (text.size() > max_bytes) {
      v.err = EFBIG;
      break;
    }
    if (end) break;
  }
  if (v.err == 0) v.text = std::string(TrimGoSpace(text));
  return v;
}

Error SysfsError(std::string_view what, const SysfsValue& v) {
  return MakeError(v.err == ENOENT ? "open" : "read",
                   std::string(what) + ": " + std::strerror(v.err));
}

std::optional<std::vector<std::string>> ReadDirNames(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsMissing(const Error& e, const std::string& path) {
  return e.reason == "open" && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT;
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

namespace {

bool IsGoSpace(uint32_t cp) {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// The code point of the well-formed 1-3 byte UTF-8 sequence s[i, i+len), or UINT32_MAX. (Every
// Go space is below U+10000, so 4-byte sequences never matter here.)
uint32_t DecodeAt(std::string_view s, size_t i, size_t len) {
  if (i + len > s.size()) return UINT32_MAX;
  const auto b = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k]));
  };
  if (len == 1) return b(0) < 0x80 ? b(0) : UINT32_MAX;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return UINT32_MAX;
  }
  if (len == 2 && (b(0) & 0xE0) == 0xC0) {
    const uint32_t cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    return cp >= 0x80 ? cp : UINT32_MAX;
  }
  if (len == 3 && (b(0) & 0xF0) == 0xE0) {
    const uint32_t cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    return cp >= 0x800 ? cp : UINT32_MAX;
  }
  return UINT32_MAX;
}

// Bytes of the Go white space starting at s[i], or 0.
size_t GoSpaceAt(std::string_view s, size_t i) {
  for (size_t len = 1; len <= 3; ++len) {
    if (IsGoSpace(DecodeAt(s, i, len))) return len;
  }
  return 0;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// strconv's underscoreOK: '_' only between digits, or between a base prefix and a digit.
bool UnderscoreOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

locale_t CLocale() {
  static const locale_t kLoc = ::newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return kLoc;
}

}  // namespace

void SplitGoFields(std::string_view s, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < s.size();) {
    const size_t sp = GoSpaceAt(s, i);
    if (sp != 0) {
      if (start != std::string_view::npos) out.push_back(s.substr(start, i - start));
      start = std::string_view::npos;
      i += sp;
    } else {
      if (start == std::string_view::npos) start = i;
      ++i;
    }
  }
  if (start != std::string_view::npos) out.push_back(s.substr(start));
}

namespace {

// strconv's shared core: the magnitude of s in `base` (0 = Go's prefixes and '_' rules), with
// its sign when `signed_ok`; nullopt on a syntax error or more than 64 bits.
std::optional<uint64_t> GoMagnitude(std::string_view s, int base, bool signed_ok, bool& neg) {
  if (s.empty() || (base != 0 && (base < 2 || base > 36))) return std::nullopt;
  const std::string_view s0 = s;
  neg = false;
  if (signed_ok && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const bool base0 = base == 0;
  if (base0) {
    base = 10;
    if (s[0] == '0') {
      if (s.size() >= 3 && Lower(s[1]) == 'b') {
        base = 2;
        s.remove_prefix(2);
      } else if (s.size() >= 3 && Lower(s[1]) == 'o') {
        base = 8;
        s.remove_prefix(2);
      } else if (s.size() >= 3 && Lower(s[1]) == 'x') {
        base = 16;
        s.remove_prefix(2);
      } else {
        base = 8;
        s.remove_prefix(1);
      }
    }
  }
  uint64_t n = 0;
  bool underscores = false;
  const uint64_t cutoff = UINT64_MAX / static_cast<uint64_t>(base) + 1;
  for (const char c : s) {
    int d = 0;
    if (c == '_' && base0) {
      underscores = true;
      continue;
    }
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (Lower(c) >= 'a' && Lower(c) <= 'z') {
      d = Lower(c) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    if (n >= cutoff) return std::nullopt;
    n *= static_cast<uint64_t>(base);
    const uint64_t n1 = n + static_cast<uint64_t>(d);
    if (n1 < n) return std::nullopt;
    n = n1;
  }
  if (underscores && !UnderscoreOk(s0)) return std::nullopt;
  return n;
}

}  // namespace

std::optional<int64_t> ParseGoInt(std::string_view s, int base) {
  bool neg = false;
  const auto m = GoMagnitude(s, base, true, neg);
  if (!m) return std::nullopt;
  const uint64_t n = *m;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  if (!neg && n >= kLimit) return std::nullopt;
  if (neg && n > kLimit) return std::nullopt;
  if (neg) return n == kLimit ? INT64_MIN : -static_cast<int64_t>(n);
  return static_cast<int64_t>(n);
}

std::optional<uint64_t> ParseGoUint(std::string_view s, int base) {
  bool neg = false;
  return GoMagnitude(s, base, false, neg);
}

std::optional<double> ParseGoFloat(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // Special values: [+-]inf, [+-]infinity, nan (no sign), any case.
  {
    std::string_view t = s;
    double sign = 1;
    const bool has_sign = t[0] == '+' || t[0] == '-';
    if (has_sign) {
      sign = t[0] == '-' ? -1 : 1;
      t.remove_prefix(1);
    }
    std::string lower;
    for (char c : t.substr(0, 9)) lower += Lower(c);
    if (t.size() <= 8 && (lower == "inf" || lower == "infinity")) {
      return sign * std::numeric_limits<double>::infinity();
    }
    if (!has_sign && lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  // Validate against Go's grammar (readFloat), collecting the digits without '_'.
  std::string clean;
  clean.reserve(s.size() + 1);
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') clean += s[i++];
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && Lower(s[i + 1]) == 'x') {
    hex = true;
    clean += "0x";
    i += 2;
  }
  bool underscores = false, sawdot = false, sawdigits = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c == '.') {
      if (sawdot) break;
      sawdot = true;
      clean += c;
      continue;
    }
    if ((c >= '0' && c <= '9') || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      sawdigits = true;
      clean += c;
      continue;
    }
    break;
  }
  if (!sawdigits) return std::nullopt;
  const char exp_char = hex ? 'p' : 'e';
  if (i < s.size() && Lower(s[i]) == exp_char) {
    clean += exp_char;
    ++i;
    if (i >= s.size()) return std::nullopt;
    if (s[i] == '+' || s[i] == '-') clean += s[i++];
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    for (; i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); ++i) {
      if (s[i] == '_') {
        underscores = true;
        continue;
      }
      clean += s[i];
    }
  } else if (hex) {
    return std::nullopt;  // a hexadecimal float needs its p exponent
  }
  if (i != s.size()) return std::nullopt;
  if (underscores && !UnderscoreOk(s)) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = ::strtod_l(clean.c_str(), &end, CLocale());
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  if (errno == ERANGE && std::isinf(v)) return std::nullopt;  // overflow: Go's ErrRange
  return v;
}

std::string_view TrimGoSpace(std::string_view s) {
  while (!s.empty()) {
    size_t n = 0;
    for (size_t len = 1; len <= 3 && n == 0; ++len) {
      if (IsGoSpace(DecodeAt(s, 0, len))) n = len;
    }
    if (n == 0) break;
    s.remove_prefix(n);
  }
  while (!s.empty()) {
    size_t n = 0;
    for (size_t len = 1; len <= 3 && len <= s.size() && n == 0; ++len) {
      if (IsGoSpace(DecodeAt(s, s.size() - len, len))) n = len;
    }
    if (n == 0) break;
    s.remove_suffix(n);
  }
  return s;
}

}  // namespace lookout
