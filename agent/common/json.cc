#include "agent/common/json.h"

#include <charconv>

namespace lookout::json {
namespace {

template <typename T>
std::optional<T> Integer(Lookup v) {
  T n{};
  if (v.get(n) == simdjson::SUCCESS) return n;
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;  // from_chars: no '+'
  const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return n;
}

}  // namespace

Result<Element> Parse(simdjson::dom::parser& parser, std::string_view text,
                      const ParseOptions& options) {
  // The input has no padding after it: parse() copies it into a padded buffer.
  Element root;
  simdjson::error_code e = parser.allocate(text.size(), options.max_depth);
  if (e == simdjson::SUCCESS) e = parser.parse(text.data(), text.size()).get(root);
  if (e != simdjson::SUCCESS) return MakeError("json", simdjson::error_message(e));
  return root;
}

std::string_view Str(Lookup v) {
  std::string_view s;
  return v.get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
}

std::optional<int64_t> Int64(Lookup v) { return Integer<int64_t>(v); }
std::optional<uint64_t> Uint64(Lookup v) { return Integer<uint64_t>(v); }

void AppendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace lookout::json
