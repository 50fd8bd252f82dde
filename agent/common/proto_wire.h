#pragma once
// Protobuf wire format, read and written by hand for the span hot path: the agent forwards
// span bytes it does not need to understand, so it scans messages field by field instead of
// decoding them into objects (and re-serializing them). Only what enrichment, sampling and
// span metrics need is looked at.
//
// Pure functions on byte views; thread-safe. Every read is bounds-checked: a truncated or
// malformed message makes Next() return false and sets error().

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lookout::wire {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// One field of a message as it appears on the wire. For kLen, `bytes` is the payload; for the
// others, `value` holds the number (fixed ones raw, little-endian decoded). `raw` is the whole
// field, tag included, for copying it through unchanged.
struct WireField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t value = 0;
  std::string_view bytes;
  std::string_view raw;
};

class WireReader {
 public:
  explicit WireReader(std::string_view msg) : p_(msg.data()), end_(msg.data() + msg.size()) {}

  // False at the end of the message or on malformed input (then error() is non-null).
  bool Next(WireField& f) {
    if (p_ == end_ || error_ != nullptr) return false;
    const char* start = p_;
    uint64_t tag;
    if (!Varint(tag)) return Fail("truncated tag");
    f.number = static_cast<uint32_t>(tag >> 3);
    if (f.number == 0 || (tag >> 3) > 0x1fffffff) return Fail("bad field number");
    switch (tag & 7) {
      case 0:
        f.type = WireType::kVarint;
        if (!Varint(f.value)) return Fail("truncated varint");
        break;
      case 1:
        f.type = WireType::kFixed64;
        if (end_ - p_ < 8) return Fail("truncated fixed64");
        std::memcpy(&f.value, p_, 8);
        p_ += 8;
        break;
      case 2: {
        f.type = WireType::kLen;
        uint64_t len;
        if (!Varint(len)) return Fail("truncated length");
        if (len > static_cast<uint64_t>(end_ - p_)) return Fail("length beyond message");
        f.bytes = std::string_view(p_, len);
        p_ += len;
        break;
      }
      case 5: {
        f.type = WireType::kFixed32;
        if (end_ - p_ < 4) return Fail("truncated fixed32");
        uint32_t v;
        std::memcpy(&v, p_, 4);
        f.value = v;
        p_ += 4;
        break;
      }
      default:
        return Fail("unsupported wire type");  // groups (3, 4) are not used by OTLP
    }
    f.raw = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  const char* error() const { return error_; }

 private:
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const auto b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Fail(const char* why) {
    error_ = why;
    return false;
  }

  const char* p_;
  const char* end_;
  const char* error_ = nullptr;
};

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

inline void PutTag(std::string& out, uint32_t number, WireType type) {
  PutVarint(out, (static_cast<uint64_t>(number) << 3) | static_cast<uint8_t>(type));
}

// Tag + length prefix of a length-delimited field whose payload (`len` bytes) follows.
inline void PutLenPrefix(std::string& out, uint32_t number, size_t len) {
  PutTag(out, number, WireType::kLen);
  PutVarint(out, len);
}

inline void PutBytesField(std::string& out, uint32_t number, std::string_view bytes) {
  PutLenPrefix(out, number, bytes.size());
  out.append(bytes);
}

inline size_t LenFieldSize(uint32_t number, size_t len) {
  return VarintSize(static_cast<uint64_t>(number) << 3) + VarintSize(len) + len;
}

// An OTLP KeyValue with a string AnyValue: {1: key, 2: {1: value}}.
inline void PutStringKeyValue(std::string& out, uint32_t field, std::string_view key,
                              std::string_view value) {
  const size_t any = LenFieldSize(1, value.size());
  const size_t kv = LenFieldSize(1, key.size()) + LenFieldSize(2, any);
  PutLenPrefix(out, field, kv);
  PutBytesField(out, 1, key);
  PutLenPrefix(out, 2, any);
  PutBytesField(out, 1, value);
}

}  // namespace lookout::wire
