#pragma once
// OTLP request/response bodies over HTTP: binary protobuf or OTLP/JSON (lowerCamelCase names,
// integer enums, 64-bit integers as strings, trace/span IDs as hex, unknown fields ignored).
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace google::protobuf {
class Message;
}

namespace lookout::otlp {

enum class Encoding { kProtobuf, kJson };

// application/x-protobuf → protobuf, application/json → JSON (parameters ignored); else nullopt.
std::optional<Encoding> EncodingFromContentType(std::string_view content_type);
std::string_view ContentTypeOf(Encoding e);

// Errors (reason): "protobuf" or "json", with what was wrong in detail.
Status Decode(std::string_view body, Encoding encoding, google::protobuf::Message* out);
// The spans of an OTLP/JSON ExportTraceServiceRequest that Decode refused (its IDs, types or
// values are wrong) but that is a JSON object: resourceSpans[].scopeSpans[].spans[] (and the
// older instrumentationLibrarySpans). nullopt when the body is not JSON at all.
std::optional<int64_t> CountJsonSpans(std::string_view body);
std::string Encode(const google::protobuf::Message& msg, Encoding encoding);

}  // namespace lookout::otlp
