#include "agent/common/pattern.h"

#include <stdexcept>

#include "agent/common/utf8.h"

namespace lookout {

RE2::Options GoRegexOptions() {
  RE2::Options o(RE2::Quiet);
  o.set_max_mem(int64_t{64} << 20);
  return o;
}

struct Pattern::Compiled {
  explicit Compiled(const std::string& src) : re(src, GoRegexOptions()) {}
  const RE2 re;
};

Pattern::Pattern(std::string source) : source_(std::move(source)) {
  if (source_.empty()) return;
  re_ = std::make_shared<Compiled>(source_);
  if (!re_->re.ok()) throw std::invalid_argument(re_->re.error());
}

bool Pattern::Matches(std::string_view s) const {
  if (!re_) return false;
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
