#pragma once
// Reading small kernel files (procfs, sysfs) and splitting them without copies.

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

// Go's strconv.ParseFloat(s, 64): decimal and hexadecimal (with a p exponent) forms, '_'
// separators where Go allows them, inf/infinity (signed) and nan in any case. nullopt on a
// syntax error and on overflow (Go returns an error with ±Inf there); underflow gives 0.
std::optional<double> ParseGoFloat(std::string_view s);

}  // namespace lookout
