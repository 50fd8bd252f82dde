#include "agent/common/json.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace lookout::json {
namespace {

const std::vector<Value>& EmptyArray() {
  static const std::vector<Value> empty;
  return empty;
}
const std::vector<Value::Member>& EmptyObject() {
  static const std::vector<Value::Member> empty;
  return empty;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80), or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : s_(text), opts_(options) {}

  Result<Value> Run() {
    Value v;
    if (!ParseValue(v, 0)) return Fail();
    SkipSpace();
    if (pos_ != s_.size()) {
      SetError("unexpected data after the top-level value");
      return Fail();
    }
    return v;
  }

 private:
  Error Fail() const {
    return MakeError("json", error_ + " at byte " + std::to_string(error_pos_));
  }
  bool SetError(const char* msg) {
    if (error_.empty()) {
      error_ = msg;
      error_pos_ = pos_;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return SetError("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value& out, size_t depth) {
    SkipSpace();
    if (pos_ >= s_.size()) return SetError("unexpected end of input");
    switch (s_[pos_]) {
      case '{':
        return ParseObject(out, depth + 1);
      case '[':
        return ParseArray(out, depth + 1);
      case '"': {
        std::string str;
        if (!ParseString(str)) return false;
        out = Value::String(std::move(str));
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        out = Value::Bool(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        out = Value::Bool(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        out = Value::Null();
        return true;
      default:
        return ParseNumber(out);
    }
  }

  bool ParseObject(Value& out, size_t depth) {
    if (depth > opts_.max_depth) return SetError("nesting too deep");
    ++pos_;  // '{'
    std::vector<Value::Member> members;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      out = Value::Object(std::move(members));
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return SetError("expected a string key");
      Value::Member m;
      if (!ParseString(m.first)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return SetError("expected ':'");
      ++pos_;
      if (!ParseValue(m.second, depth)) return false;
      members.push_back(std::move(m));
      SkipSpace();
      if (pos_ >= s_.size()) return SetError("unexpected end of input in object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        out = Value::Object(std::move(members));
        return true;
      }
      return SetError("expected ',' or '}'");
    }
  }

  bool ParseArray(Value& out, size_t depth) {
    if (depth > opts_.max_depth) return SetError("nesting too deep");
    ++pos_;  // '['
    std::vector<Value> items;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      out = Value::Array(std::move(items));
      return true;
    }
    while (true) {
      items.emplace_back();
      if (!ParseValue(items.back(), depth)) return false;
      SkipSpace();
      if (pos_ >= s_.size()) return SetError("unexpected end of input in array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        out = Value::Array(std::move(items));
        return true;
      }
      return SetError("expected ',' or ']'");
    }
  }

  bool Hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) return SetError("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + i];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        out |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        out |= c - 'A' + 10;
      } else {
        return SetError("invalid \\u escape");
      }
    }
    pos_ += 4;
    return true;
  }

  bool ParseString(std::string& out) {
    ++pos_;  // opening quote
    // Fast path: copy runs of plain ASCII in one go.
    while (true) {
      size_t run = pos_;
      while (run < s_.size()) {
        const unsigned char c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return SetError("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return SetError("control character in string");
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(s_.substr(pos_));
        if (n == 0) return SetError("invalid UTF-8 in string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      // Backslash escape.
      ++pos_;
      if (pos_ >= s_.size()) return SetError("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (s_.substr(pos_, 2) != "\\u") return SetError("unpaired surrogate");
            pos_ += 2;
            if (!Hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return SetError("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return SetError("unpaired surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return SetError("invalid escape");
      }
    }
  }

  bool ParseNumber(Value& out) {
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return SetError("invalid value");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return SetError("invalid number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return SetError("invalid number");
    }
    out = Value::Number(std::string(s_.substr(start, pos_ - start)));
    return true;
  }

  std::string_view s_;
  const ParseOptions& opts_;
  size_t pos_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};

bool IsIntegerText(std::string_view t) {
  if (t.empty()) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  return true;
}

}  // namespace

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}
Value Value::Number(std::string text) {
  Value v;
  v.type_ = Type::kNumber;
  v.text_ = std::move(text);
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.text_ = std::move(s);
  return v;
}
Value Value::Array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.array_ = std::move(items);
  return v;
}
Value Value::Object(std::vector<Member> members) {
  Value v;
  v.type_ = Type::kObject;
  v.object_ = std::move(members);
  return v;
}

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& m : object_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

std::string_view Value::AsString() const {
  return type_ == Type::kString ? std::string_view(text_) : std::string_view();
}

std::optional<double> Value::AsDouble() const {
  if (type_ != Type::kNumber) return std::nullopt;
  // strtod accepts everything JSON's number grammar does; the text is NUL-terminated.
  char* end = nullptr;
  const double d = std::strtod(text_.c_str(), &end);
  if (end != text_.c_str() + text_.size()) return std::nullopt;
  return d;
}

std::optional<int64_t> Value::AsInt64() const {
  if (type_ != Type::kNumber && type_ != Type::kString) return std::nullopt;
  if (!IsIntegerText(text_)) return std::nullopt;
  int64_t v = 0;
  const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (r.ec != std::errc() || r.ptr != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> Value::AsUint64() const {
  if (type_ != Type::kNumber && type_ != Type::kString) return std::nullopt;
  if (!IsIntegerText(text_) || text_[0] == '-') return std::nullopt;
  uint64_t v = 0;
  const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (r.ec != std::errc() || r.ptr != text_.data() + text_.size()) return std::nullopt;
  return v;
}

const std::vector<Value>& Value::array() const {
  return type_ == Type::kArray ? array_ : EmptyArray();
}
const std::vector<Value::Member>& Value::object() const {
  return type_ == Type::kObject ? object_ : EmptyObject();
}

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).Run();
}

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
