#include "agent/common/json.h"

#include <charconv>

#include "agent/common/hex.h"

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

// simdjson 3.0 refuses an integer literal beyond 64 bits (NUMBER_ERROR) where JSON, and the proto3
// JSON mapping OTLP/JSON uses, read it as a number: JavaScript's JSON.stringify writes doubles
// from 2^64 to 1e21 that way (2e19 -> 20000000000000000000). On that error only, such literals
// (outside strings) get ".0" appended, so they parse as the doubles they denote; integers that
// fit are untouched and stay exact.
std::string WidenBigIntegers(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[i + 1];
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + (c == '-');
      while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
      const std::string_view literal = text.substr(i, j - i);
      out.append(literal);
      const bool fraction_or_exponent =
          j < text.size() && (text[j] == '.' || text[j] == 'e' || text[j] == 'E');
      if (!fraction_or_exponent && literal.size() > (c == '-' ? 1u : 0u)) {
        bool fits;
        if (c == '-') {
          int64_t v;
          const auto r = std::from_chars(literal.data(), literal.data() + literal.size(), v);
          fits = r.ec == std::errc();
        } else {
          uint64_t v;
          const auto r = std::from_chars(literal.data(), literal.data() + literal.size(), v);
          fits = r.ec == std::errc();
        }
        if (!fits) out += ".0";
      }
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace

Result<Element> Parse(simdjson::dom::parser& parser, std::string_view text,
                      const ParseOptions& options) {
  // The input has no padding after it: parse() copies it into a padded buffer.
  Element root;
  simdjson::error_code e = parser.allocate(text.size(), options.max_depth);
  if (e == simdjson::SUCCESS) e = parser.parse(text.data(), text.size()).get(root);
  if (e == simdjson::NUMBER_ERROR) {
    // NUMBER_ERROR is also a malformed number (01, 1e400): retried only when a literal was
    // widened. The widened copy may then be freed: elements point into the parser's buffers.
    const std::string widened = WidenBigIntegers(text);
    if (widened.size() != text.size()) {
      e = parser.allocate(widened.size(), options.max_depth);
      if (e == simdjson::SUCCESS) e = parser.parse(widened.data(), widened.size()).get(root);
    }
  }
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
          AppendHex(out, std::string_view(&ch, 1));
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace lookout::json
