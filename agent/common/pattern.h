#pragma once
// Regular expressions as the field writes them: RE2 syntax, which is Go's, so node_exporter's
// flags, Prometheus's selectors and relabeling all read the same. One place for the RE2 options
// every regular expression in lookout is compiled with.

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

namespace lookout {

// RE2 options matching Go's regexp where RE2 differs by default: quiet (errors are returned,
// not logged) and a 64 MiB program budget, since RE2's default 8 MiB refuses some long
// alternations that Go (no such limit), and so Prometheus, accepts.
RE2::Options GoRegexOptions();

// A regular expression from config in RE2 syntax, Go's and so node_exporter's and Prometheus's,
// searched like node_exporter's flags (regexp.MatchString: the user writes ^...$ where wanted).
// Empty source = matches nothing. Thread-safety: Matches() is safe from any thread (RE2 is; the
// answers it remembers for names already seen are behind a mutex).
class Pattern {
 public:
  Pattern() = default;
  explicit Pattern(std::string source);  // throws std::invalid_argument (RE2's message)
  bool Matches(std::string_view s) const;
  bool empty() const { return source_.empty(); }
  const std::string& source() const { return source_; }

 private:
  struct Compiled;
  bool Search(std::string_view s) const;  // RE2, uncached
  std::string source_;
  std::shared_ptr<Compiled> re_;  // shared by config copies
};

}  // namespace lookout
