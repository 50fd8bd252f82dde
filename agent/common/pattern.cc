#include "agent/common/pattern.h"

#include <mutex>
#include <stdexcept>

#include "agent/common/hash.h"
#include "agent/common/utf8.h"

namespace lookout {

RE2::Options GoRegexOptions() {
  RE2::Options o(RE2::Quiet);
  o.set_max_mem(int64_t{64} << 20);
  return o;
}

// The answers for the names seen so far. The node collectors match the same few hundred names
// (netstat and vmstat fields, devices, mount points) against the same filters on every scrape:
// RE2 was 8% of a scrape's CPU on a plain host, a look-up here is a fraction of that. Bounded,
// so a filter fed ever-new names (apps' series) stops remembering instead of growing.
struct Pattern::Compiled {
  explicit Compiled(const std::string& src) : re(src, GoRegexOptions()) {}
  static constexpr size_t kMaxRemembered = 4096;
  const RE2 re;
  std::mutex mu;
  StringMap<bool> seen;  // guarded by mu
};

Pattern::Pattern(std::string source) : source_(std::move(source)) {
  if (source_.empty()) return;
  re_ = std::make_shared<Compiled>(source_);
  if (!re_->re.ok()) throw std::invalid_argument(re_->re.error());
}

bool Pattern::Matches(std::string_view s) const {
  if (!re_) return false;
  {
    std::lock_guard lock(re_->mu);
    if (auto it = re_->seen.find(s); it != re_->seen.end()) return it->second;
  }
  const bool m = Search(s);
  std::lock_guard lock(re_->mu);
  if (re_->seen.size() < Compiled::kMaxRemembered) re_->seen.emplace(std::string(s), m);
  return m;
}

bool Pattern::Search(std::string_view s) const {
  // Go's regexp reads an invalid byte as U+FFFD, so `.` matches it; RE2 would not match a lone
  // invalid byte at all (a mount point with a 0xff byte would escape node_exporter's default
  // exclude). Kernel names are rarely invalid, so the repair costs nothing in the usual case.
  if (!ValidUtf8(s)) {
    const std::string repaired = ReplaceEachInvalidByte(s);
    return RE2::PartialMatch(repaired, re_->re);
  }
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re_->re);
}

}  // namespace lookout
