#include "agent/common/otlp_status.h"

#include "agent/common/proto_wire.h"

namespace lookout::otlp {

using wire::WireField;
using wire::WireReader;
using wire::WireType;

namespace {
constexpr std::string_view kRetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";
}

PartialSuccess ParsePartialSuccess(std::string_view resp) {
  PartialSuccess out;
  WireReader r(resp);
  WireField f;
  while (r.Next(f)) {
    if (f.number != 1 || f.type != WireType::kLen) continue;
    WireReader p(f.bytes);
    WireField g;
    while (p.Next(g)) {
      if (g.number == 1 && g.type == WireType::kVarint) {
        out.rejected_spans = static_cast<int64_t>(g.value);
      } else if (g.number == 2 && g.type == WireType::kLen) {
        out.error_message = std::string(g.bytes);
      }
    }
  }
  return out;
}

std::optional<std::chrono::milliseconds> ParseRetryInfo(std::string_view status) {
  WireReader r(status);
  WireField f;
  while (r.Next(f)) {
    if (f.number != 3 || f.type != WireType::kLen) continue;  // details: repeated Any
    std::string_view type_url, value;
    WireReader any(f.bytes);
    WireField g;
    while (any.Next(g)) {
      if (g.number == 1 && g.type == WireType::kLen) type_url = g.bytes;
      if (g.number == 2 && g.type == WireType::kLen) value = g.bytes;
    }
    if (type_url != kRetryInfoType) continue;
    WireReader ri(value);
    while (ri.Next(g)) {
      if (g.number != 1 || g.type != WireType::kLen) continue;  // retry_delay: Duration
      int64_t seconds = 0, nanos = 0;
      WireReader dur(g.bytes);
      WireField h;
      while (dur.Next(h)) {
        if (h.number == 1 && h.type == WireType::kVarint) seconds = static_cast<int64_t>(h.value);
        if (h.number == 2 && h.type == WireType::kVarint) nanos = static_cast<int32_t>(h.value);
      }
      if (seconds < 0 || nanos < 0 || seconds > 86400) return std::nullopt;
      return std::chrono::milliseconds(seconds * 1000 + nanos / 1000000);
    }
  }
  return std::nullopt;
}

std::string MakeRetryInfoStatus(int code, std::string_view message,
                                std::chrono::milliseconds delay) {
  std::string duration;
  wire::PutTag(duration, 1, WireType::kVarint);
  wire::PutVarint(duration, static_cast<uint64_t>(delay.count() / 1000));
  if (delay.count() % 1000 != 0) {
    wire::PutTag(duration, 2, WireType::kVarint);
    wire::PutVarint(duration, static_cast<uint64_t>(delay.count() % 1000) * 1000000);
  }
  std::string retry_info;
  wire::PutBytesField(retry_info, 1, duration);
  std::string any;
  wire::PutBytesField(any, 1, kRetryInfoType);
  wire::PutBytesField(any, 2, retry_info);
  std::string out;
  wire::PutTag(out, 1, WireType::kVarint);
  wire::PutVarint(out, static_cast<uint64_t>(code));
  wire::PutBytesField(out, 2, message);
  wire::PutBytesField(out, 3, any);
  return out;
}

}  // namespace lookout::otlp
