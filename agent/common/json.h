#pragma once
// A small, strict JSON (RFC 8259) reader for untrusted input: the kubelet's /pods, the API
// server's PodList, and later OTLP/JSON. None of our chosen libraries parses JSON, and what we
// need is narrow: a bounded DOM with exact integers.
//
// - Nesting depth is capped (ParseOptions::max_depth): deep input is an error, not a stack
//   overflow. Input size is the caller's limit (it already holds the whole body).
// - Strings are unescaped (\uXXXX with surrogate pairs) and must be valid UTF-8, so they can be
//   used as label values as they are.
// - Numbers keep their source text, so 64-bit integers are exact (AsInt64/AsUint64) and doubles
//   are parsed only when asked.
// - Objects keep member order; Find() returns the first member with a key.
//
// Value is a plain value type; a parsed tree is immutable and may be shared between threads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout::json {

class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_bool() const { return type_ == Type::kBool; }

  // Lenient accessors for optional fields: a missing or wrongly typed field reads as empty.
  const Value* Find(std::string_view key) const;  // nullptr unless an object with that key
  std::string_view AsString() const;              // "" unless a string
  bool AsBool() const { return type_ == Type::kBool && bool_; }
  std::optional<double> AsDouble() const;  // numbers only
  // Integers: a number without fraction/exponent, or (OTLP/JSON encodes 64-bit integers as
  // strings) a string holding one. nullopt on anything else or on overflow.
  std::optional<int64_t> AsInt64() const;
  std::optional<uint64_t> AsUint64() const;
  const std::vector<Value>& array() const;    // empty unless an array
  const std::vector<Member>& object() const;  // empty unless an object

  // Builders, used by the parser and by tests.
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Number(std::string text);  // text must be a valid JSON number
  static Value String(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Object(std::vector<Member> members);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;  // string content, or the number's source text
  std::vector<Value> array_;
  std::vector<Member> object_;
};

struct ParseOptions {
  size_t max_depth = 128;
};

// Errors have reason "json" and a detail with the byte offset.
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

// Appends `s` as a JSON string literal (quotes and escapes) to `out`.
void AppendQuoted(std::string& out, std::string_view s);

}  // namespace lookout::json
