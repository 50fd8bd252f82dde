#include "agent/otlp/otlp_codec.h"

#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <mutex>

#include "agent/common/base64.h"
#include "agent/common/json.h"
#include "agent/otlp/attributes.h"

namespace lookout::otlp {
namespace {

// OTLP/JSON writes trace and span IDs as hex; protobuf's JSON mapping expects base64 for
// bytes. The IDs are rewritten to base64 before protobuf's parser sees them.
bool IsIdKey(std::string_view k) {
  return k == "traceId" || k == "spanId" || k == "parentSpanId" || k == "trace_id" ||
         k == "span_id" || k == "parent_span_id";
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool HexToBase64(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes += static_cast<char>(hi * 16 + lo);
  }
  out += Base64(bytes);
  return true;
}

// Writes the parsed tree back as JSON with IDs rewritten. False on a bad ID. Recursion is
// bounded by the parse's max_depth.
bool Rewrite(json::Element v, std::string& out, bool id_value) {
  using Type = simdjson::dom::element_type;
  switch (v.type()) {
    case Type::NULL_VALUE:
      out += "null";
      return true;
    case Type::BOOL:
      out += v.get_bool().value_unsafe() ? "true" : "false";
      return true;
    // Integers are exact 64-bit values; other numbers are doubles.
    case Type::INT64:
      out += std::to_string(v.get_int64().value_unsafe());
      return true;
    case Type::UINT64:
      out += std::to_string(v.get_uint64().value_unsafe());
      return true;
    case Type::DOUBLE: {
      char buf[32];
      snprintf(buf, sizeof buf, "%.17g", v.get_double().value_unsafe());
      out += buf;
      return true;
    }
    case Type::STRING:
      if (id_value) {
        std::string b64;
        if (!HexToBase64(json::Str(v), b64)) return false;
        json::AppendQuoted(out, b64);
      } else {
        json::AppendQuoted(out, json::Str(v));
      }
      return true;
    case Type::ARRAY: {
      out += '[';
      bool first = true;
      const simdjson::dom::array items = v.get_array().value_unsafe();  // a copy: 2 words
      for (const json::Element e : items) {
        if (!first) out += ',';
        first = false;
        if (!Rewrite(e, out, false)) return false;
      }
      out += ']';
      return true;
    }
    case Type::OBJECT: {
      out += '{';
      bool first = true;
      const simdjson::dom::object members = v.get_object().value_unsafe();
      for (const auto [k, e] : members) {
        if (!first) out += ',';
        first = false;
        json::AppendQuoted(out, k);
        out += ':';
        if (!Rewrite(e, out, IsIdKey(k))) return false;
      }
      out += '}';
      return true;
    }
  }
  return true;
}

}  // namespace

std::optional<Encoding> EncodingFromContentType(std::string_view ct) {
  std::string lower;
  for (char c : ct.substr(0, ct.find(';'))) {
    if (c == ' ' || c == '\t') continue;
    lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  }
  if (lower == "application/x-protobuf" || lower == "application/protobuf") {
    return Encoding::kProtobuf;
  }
  if (lower == "application/json") return Encoding::kJson;
  return std::nullopt;
}

std::string_view ContentTypeOf(Encoding e) {
  return e == Encoding::kJson ? "application/json" : "application/x-protobuf";
}

Status Decode(std::string_view body, Encoding encoding, google::protobuf::Message* out) {
  // libprotobuf logs every bad UTF-8 string it meets to stderr: untrusted senders must not be
  // able to write our logs. Decode failures are answered and counted instead.
  static std::once_flag quiet;
  std::call_once(quiet, [] { google::protobuf::SetLogHandler(nullptr); });
  if (encoding == Encoding::kProtobuf) {
    if (body.size() > static_cast<size_t>(INT32_MAX) ||
        !out->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return MakeError("protobuf", "body is not a valid " + out->GetTypeName());
    }
    return Ok{};
  }
  simdjson::dom::parser parser;
  auto tree = json::Parse(parser, body, {.max_depth = 64});
  if (!tree.ok()) return tree.error();
  if (!tree->is_object()) return MakeError("json", "body is not a JSON object");
  std::string rewritten;
  rewritten.reserve(body.size() + body.size() / 8);
  if (!Rewrite(*tree, rewritten, false)) {
    return MakeError("json", "traceId/spanId must be hex strings");
  }
  google::protobuf::util::JsonParseOptions opt;
  opt.ignore_unknown_fields = true;  // OTLP: receivers ignore fields they do not know
  const auto st = google::protobuf::util::JsonStringToMessage(rewritten, out, opt);
  if (!st.ok()) return MakeError("json", std::string(st.message()));
  return Ok{};
}

std::string Encode(const google::protobuf::Message& msg, Encoding encoding) {
  std::string out;
  if (encoding == Encoding::kProtobuf) {
    msg.SerializeToString(&out);
  } else {
    google::protobuf::util::JsonPrintOptions opt;
    (void)google::protobuf::util::MessageToJsonString(msg, &out, opt);
  }
  return out;
}

std::optional<int64_t> CountJsonSpans(std::string_view body) {
  simdjson::dom::parser parser;
  auto tree = json::Parse(parser, body, {.max_depth = 64});
  if (!tree.ok() || !tree->is_object()) return std::nullopt;
  int64_t spans = 0;
  simdjson::dom::array rs;
  if ((*tree)["resourceSpans"].get_array().get(rs) != simdjson::SUCCESS) return spans;
  for (const json::Element r : rs) {
    for (const char* scopes : {"scopeSpans", "instrumentationLibrarySpans"}) {
      simdjson::dom::array ss;
      if (r[scopes].get_array().get(ss) != simdjson::SUCCESS) continue;
      for (const json::Element s : ss) {
        simdjson::dom::array sp;
        if (s["spans"].get_array().get(sp) == simdjson::SUCCESS) {
          spans += static_cast<int64_t>(sp.size());
        }
      }
    }
  }
  return spans;
}

}  // namespace lookout::otlp
