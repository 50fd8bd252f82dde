#pragma once
// UTF-8 checks for text that ends up in an exposition: Prometheus and OpenMetrics require label
// values and HELP text to be valid UTF-8, and a single bad byte fails a whole scrape.
// Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lookout {

// Length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 when the bytes there are
// not one (bad lead byte, truncated, overlong, a surrogate, beyond U+10FFFF).
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

inline bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// `s` with each run of invalid bytes replaced by one U+FFFD, as Go's strings.ToValidUTF8(s,
// "\uFFFD") does (node_exporter repairs label values that way: "X\xff\xfe" -> "X\uFFFD").
inline std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_invalid_run = false;
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      if (!in_invalid_run) out += "\xEF\xBF\xBD";
      in_invalid_run = true;
      ++i;
    } else {
      out.append(s.substr(i, len));
      in_invalid_run = false;
      i += len;
    }
  }
  return out;
}

// `s` with each invalid byte replaced by its own U+FFFD: what Go's regexp sees when it decodes
// a string (utf8.DecodeRuneInString gives RuneError, width 1, per bad byte), so `.` matches each
// bad byte once. For matching as Go matches; labels are repaired with ToValidUtf8.
inline std::string ReplaceEachInvalidByte(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace lookout
