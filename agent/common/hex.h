#pragma once
// Lowercase hex of raw bytes: OTLP trace and span IDs as the OTLP/JSON encoding, Jaeger and the
// exemplar labels (`trace_id`, `span_id`) write them. Pure; thread-safe.

#include <string>
#include <string_view>

namespace lookout {

inline void AppendHex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
}

inline std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  AppendHex(out, bytes);
  return out;
}

}  // namespace lookout
