#pragma once
// Reading small kernel files (procfs, sysfs) and splitting them without copies.

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// Reads a whole file. Errors: reason "open" (missing or unreadable), "read", "too_large" (more
// than max_bytes: kernel files are small, so this is corruption or the wrong path).
Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

// True when `e` (from ReadFileLimited or CachedFile::Read of `path`) failed because the file does
// not exist (ENOENT): a kernel feature that is absent, which node_exporter skips. Any other
// failure to open (EACCES, EIO, ...) is an error to report.
bool IsMissing(const Error& e, const std::string& path);

// procfs's util.SysReadFile, which node_exporter reads most sysfs attributes with: one read(2)
// of at most 128 bytes (sysfs answers a whole attribute in one read), then Go's
// strings.TrimSpace. `err` is the errno of the open or read that failed (ENOENT: absent; EACCES:
// not for this user; ENODATA, EINVAL, EIO: the driver refused), 0 on success.
struct SysfsValue {
  int err = 0;
  std::string text;
};
SysfsValue SysReadFile(const std::string& path);

// The whole file (procfs's util.ReadUintFromFile / ReadIntFromFile read it all), trimmed as
// above; `err` as above, EFBIG when it holds more than max_bytes.
SysfsValue ReadSysfsWhole(const std::string& path, size_t max_bytes);

// The two above with `rel` opened under the directory `dir_fd` (openat(2); AT_FDCWD: as they
// are). A collector reading many files of one directory walks its path once this way: on a
// 64-CPU machine that is most of cpufreq's cost.
SysfsValue SysReadFileAt(int dir_fd, const char* rel);
SysfsValue ReadSysfsWholeAt(int dir_fd, const char* rel, size_t max_bytes);

// The two above on a descriptor already open, read with pread(2) from offset 0 (a kept-open sysfs
// or procfs file regenerates its content that way); the descriptor stays open.
// `short_read_is_eof`: a read that returns less than asked (and not a whole page: kernfs gives
// binary attributes a page per read) is taken as the end, saving the read that would return 0.
// True for sysfs text attributes (one read) and regular files; not for procfs, whose seq_files
// may stop short of a buffer they could fill. A descriptor that cannot seek (a FIFO planted in
// a kernel file's place: ESPIPE) is read with read(2).
SysfsValue SysReadFd(int fd);
SysfsValue ReadSysfsWholeFd(int fd, size_t max_bytes, bool short_read_is_eof = false);

// ReadFileLimited on a descriptor already open (pread from offset 0); `path` names it in errors,
// `read_errno` (when given) gets the errno of a read that failed.
Result<std::string> ReadFdLimited(int fd, const std::string& path, size_t max_bytes,
                                  bool short_read_is_eof = false, int* read_errno = nullptr);

// pread(2), or read(2) where the descriptor cannot seek (ESPIPE); EINTR retried.
ssize_t PreadOrRead(int fd, void* buf, size_t n, off_t offset);

// The error for a SysfsValue that failed: reason "open" for ENOENT, else "read"; `what` names
// the file in the detail.
Error SysfsError(std::string_view what, const SysfsValue& v);

// The names in a directory, sorted, without "." and ".." (Go's os.ReadDir / ioutil.ReadDir
// order, which decides which of two equal series node_exporter keeps). nullopt when the directory
// cannot be opened (absent, not a directory, not readable).
std::optional<std::vector<std::string>> ReadDirNames(const std::string& path);

// procfs's os.IsNotExist || os.IsPermission: a file node_exporter skips instead of failing on.
inline bool AbsentOrForbidden(int err) { return err == ENOENT || err == EACCES || err == EPERM; }

// A kernel file read on every scrape, kept open: pread(2) at offset 0 makes procfs and sysfs
// regenerate the content, and skipping open/close per scrape saves a path walk each time. On any
// read error the file is reopened once (the object behind it may have been replaced).
// Thread-safety: Read() may be called from several threads; reads of one file are serialised.
class CachedFile {
 public:
  explicit CachedFile(std::string path) : path_(std::move(path)) {}
  ~CachedFile();
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;
  // Same errors as ReadFileLimited.
  Result<std::string> Read(size_t max_bytes);
  const std::string& path() const { return path_; }

 private:
  Result<std::string> ReadOnce(size_t max_bytes);
  const std::string path_;
  std::mutex mu_;
  int fd_ = -1;  // guarded by mu_
};

// Calls fn(line) for each line, without the trailing '\n'.
template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Go's bufio.Scanner with ScanLines, as node_exporter reads most /proc files: each line without
// its "\n" (and a "\r" before it); a final line without "\n" counts. A line longer than the
// scanner's 64 KiB buffer stops the scan with too_long() set; whether that is an error depends
// on whether the Go code mirrored checks Scanner.Err() (say so where it is used).
//   GoLineScanner lines(text);
//   for (std::string_view line; lines.Next(line);) { ... }
//   if (lines.too_long()) ...
class GoLineScanner {
 public:
  explicit GoLineScanner(std::string_view text) : rest_(text) {}
  bool Next(std::string_view& line) {
    if (rest_.empty() || too_long_) return false;
    const size_t nl = rest_.find('\n');
    const size_t consumed = nl == std::string_view::npos ? rest_.size() : nl + 1;
    if (nl == std::string_view::npos ? consumed >= kMaxToken : consumed > kMaxToken) {
      too_long_ = true;
      return false;
    }
    line = rest_.substr(0, nl == std::string_view::npos ? rest_.size() : nl);
    rest_.remove_prefix(consumed);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }
  bool too_long() const { return too_long_; }

 private:
  static constexpr size_t kMaxToken = 65536;  // bufio.MaxScanTokenSize
  std::string_view rest_;
  bool too_long_ = false;
};

// Splits on runs of spaces and tabs; `out` is cleared first (reuse it to avoid allocations).
void SplitFields(std::string_view line, std::vector<std::string_view>& out);

std::optional<uint64_t> ParseU64(std::string_view s);
std::optional<int64_t> ParseI64(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);

std::string_view TrimSpace(std::string_view s);

// Go's strings.TrimSpace: strips Unicode white space (ASCII \t \n \v \f \r and space, U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) from both ends. For
// values node_exporter reads that way, so both agree on what a file holds.
std::string_view TrimGoSpace(std::string_view s);

// Go's strings.Fields: splits on runs of that same white space; `out` is cleared first.
void SplitGoFields(std::string_view s, std::vector<std::string_view>& out);

// Go's strconv.ParseInt(s, base, 64) for base 0 (sign, 0x/0o/0b/0 prefixes, '_' separators) or
// a plain base from 2 to 36 (sign, digits only). nullopt on a syntax or range error.
std::optional<int64_t> ParseGoInt(std::string_view s, int base);

// Go's strconv.ParseUint(s, base, 64): as ParseGoInt without a sign, up to 2^64-1.
std::optional<uint64_t> ParseGoUint(std::string_view s, int base);

// Go's strconv.ParseFloat(s, 64): decimal and hexadecimal (with a p exponent) forms, '_'
// separators where Go allows them, inf/infinity (signed) and nan in any case. nullopt on a
// syntax error and on overflow (Go returns an error with ±Inf there); underflow gives 0.
std::optional<double> ParseGoFloat(std::string_view s);

}  // namespace lookout
