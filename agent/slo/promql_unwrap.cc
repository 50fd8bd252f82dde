// The PromQL of OpenSLO queries, reduced to what the SLO engine evaluates (UnwrapQuery in
// spec_parser.h): a selector, optionally in rate() / increase() / irate(), optionally in sum or
// sum by (...). A scanner over the text, not a PromQL parser: anything else is refused, with
// what lookout accepts in the error, rather than read as something it is not.

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "agent/slo/spec_parser.h"

namespace lookout::slo {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Index of the parenthesis closing the one at `open`, skipping quoted strings; npos if none.
size_t FindClose(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\' && c != '`') ++i;
      }
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

bool ConsumeWord(std::string& s, std::string_view word) {
  if (!s.starts_with(word)) return false;
  const std::string rest = Trim(std::string_view(s).substr(word.size()));
  if (rest.empty() || rest[0] != '(') {
    if (!(s.size() > word.size() && std::isspace(static_cast<unsigned char>(s[word.size()])))) {
      return false;
    }
  }
  s = rest;
  return true;
}

// "(a, b)" at the start of s -> labels; the rest stays in s.
Result<std::vector<std::string>> ConsumeLabelList(std::string& s) {
  if (s.empty() || s[0] != '(') return MakeError("query", "expected ( after by");
  const size_t close = s.find(')');
  if (close == std::string::npos) return MakeError("query", "unclosed by (...)");
  std::vector<std::string> labels;
  std::string_view list = std::string_view(s).substr(1, close - 1);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string l = Trim(list.substr(0, comma));
    if (!l.empty()) {
      if (!IsValidLabelName(l)) return MakeError("query", "invalid label name \"" + l + "\"");
      labels.push_back(std::move(l));
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  s = Trim(std::string_view(s).substr(close + 1));
  return labels;
}

}  // namespace

Result<UnwrappedQuery> UnwrapQuery(std::string_view query) {
  auto refuse = [&](const std::string& why) -> Error {
    return MakeError("query", fmt::format("{} in \"{}\": lookout evaluates a selector, optionally "
                                          "in rate(), increase() or irate(), optionally in sum "
                                          "or sum by (...)",
                                          why, query));
  };
  UnwrappedQuery out;
  std::string s = Trim(query);
  if (ConsumeWord(s, "sum")) {
    if (ConsumeWord(s, "by")) {
      auto labels = ConsumeLabelList(s);
      if (!labels.ok()) return refuse(labels.error().detail);
      out.group_by = std::move(labels).value();
      out.has_group_by = true;
    } else if (s.starts_with("without")) {
      return refuse("sum without (...) is not supported");
    }
    if (s.empty() || s[0] != '(') return refuse("expected ( after sum");
    const size_t close = FindClose(s, 0);
    if (close == std::string::npos) return refuse("unbalanced parentheses");
    std::string rest = Trim(std::string_view(s).substr(close + 1));
    s = Trim(std::string_view(s).substr(1, close - 1));
    if (!rest.empty()) {
      if (out.has_group_by || !ConsumeWord(rest, "by")) return refuse("unexpected text after sum");
      auto labels = ConsumeLabelList(rest);
      if (!labels.ok()) return refuse(labels.error().detail);
      if (!rest.empty()) return refuse("unexpected text after by (...)");
      out.group_by = std::move(labels).value();
      out.has_group_by = true;
    }
  }
  for (std::string_view fn : {"increase", "irate", "rate"}) {
    if (!ConsumeWord(s, fn)) continue;
    if (s.empty() || s[0] != '(') return refuse("expected ( after " + std::string(fn));
    const size_t close = FindClose(s, 0);
    if (close == std::string::npos || !Trim(std::string_view(s).substr(close + 1)).empty()) {
      return refuse("unbalanced parentheses");
    }
    std::string inner = Trim(std::string_view(s).substr(1, close - 1));
    const size_t range = inner.rfind('[');
    if (range == std::string::npos || inner.back() != ']') return refuse("expected a [range]");
    s = Trim(std::string_view(inner).substr(0, range));
    break;
  }
  auto sel = ParseSelector(s);
  if (!sel.ok()) return refuse(sel.error().detail);
  out.selector = std::move(sel).value();
  return out;
}

}  // namespace lookout::slo
