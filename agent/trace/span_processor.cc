#include "agent/trace/span_processor.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "agent/common/proto_wire.h"
#include "agent/trace/resource_enricher.h"

namespace lookout::trace {

// The hand-written protobuf wire format (agent/common/proto_wire.h) is this file's vocabulary.
using namespace ::lookout::wire;  // NOLINT(google-build-using-namespace)
namespace {

// Field numbers from opentelemetry/proto/trace/v1/trace.proto and common.proto.
constexpr uint32_t kRequestResourceSpans = 1;
constexpr uint32_t kRsResource = 1, kRsScopeSpans = 2;
constexpr uint32_t kResourceAttributes = 1;
constexpr uint32_t kScopeSpansSpans = 2;
constexpr uint32_t kSpanTraceId = 1, kSpanSpanId = 2, kSpanName = 5, kSpanKind = 6, kSpanStart = 7,
                   kSpanEnd = 8, kSpanAttributes = 9, kSpanStatus = 15;
constexpr uint32_t kStatusCode = 3;
constexpr uint32_t kKeyValueKey = 1, kKeyValueValue = 2;
constexpr uint32_t kAnyString = 1, kAnyBool = 2, kAnyInt = 3, kAnyDouble = 4;
// OTLP nests AnyValue (arrays, kvlists) without limit; we only read the top level, so depth is
// not a concern here, and forwarded bytes are passed through as they are.

Status Malformed(const char* where, const WireReader& r) {
  return MakeError("protobuf", std::string(where) + ": " + (r.error() ? r.error() : "malformed"));
}

bool AllZero(std::string_view s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

// Reads a KeyValue: key, and the value as text when it is a scalar. String values are views
// into the message; bool/int/double values are formatted into `owned` (when given; else they
// read as ""). False when malformed.
bool ReadKeyValue(std::string_view kv, std::string_view& key, std::string_view& value,
                  std::deque<std::string>* owned) {
  WireReader r(kv);
  WireField f;
  key = {};
  value = {};
  std::string_view any;
  while (r.Next(f)) {
    if (f.number == kKeyValueKey && f.type == WireType::kLen) key = f.bytes;
    if (f.number == kKeyValueValue && f.type == WireType::kLen) any = f.bytes;
  }
  if (r.error()) return false;
  WireReader a(any);
  while (a.Next(f)) {
    if (f.number == kAnyString && f.type == WireType::kLen) {
      value = f.bytes;
    } else if (owned != nullptr && f.type == WireType::kVarint &&
               (f.number == kAnyBool || f.number == kAnyInt)) {
      owned->push_back(f.number == kAnyBool ? (f.value ? "true" : "false")
                                            : std::to_string(static_cast<int64_t>(f.value)));
      value = owned->back();
    } else if (owned != nullptr && f.number == kAnyDouble && f.type == WireType::kFixed64) {
      double d;
      std::memcpy(&d, &f.value, 8);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", d);
      owned->push_back(buf);
      value = owned->back();
    }
  }
  return a.error() == nullptr;
}

}  // namespace

SpanProcessor::SpanProcessor(const ResourceEnricher* enricher,
                             std::vector<std::string> metrics_dimensions, double sampling_ratio,
                             bool collect_facts)
    : enricher_(enricher && enricher->active() ? enricher : nullptr),
      dimensions_(std::move(metrics_dimensions)),
      sample_threshold_(sampling_ratio >= 1 ? 0
                        : sampling_ratio <= 0
                            ? (uint64_t{1} << 56)
                            : static_cast<uint64_t>(std::ldexp(1.0 - sampling_ratio, 56))),
      keep_all_(sampling_ratio >= 1),
      collect_facts_(collect_facts) {}

bool SpanProcessor::Sampled(std::string_view trace_id) const {
  if (keep_all_) return true;
  if (trace_id.size() != 16) return false;
  uint64_t r = 0;
  for (size_t i = 9; i < 16; ++i) r = (r << 8) | static_cast<uint8_t>(trace_id[i]);
  return r >= sample_threshold_;
}

Status SpanProcessor::Process(std::string_view request, std::string_view peer_ip,
                              ProcessedRequest& out) const {
  // Cleared, not replaced: a thread-local ProcessedRequest keeps its capacity across requests.
  out.forward.clear();
  out.spans = out.forwarded = out.invalid = out.sampled_out = 0;
  out.invalid_reason.clear();
  out.facts.clear();
  out.dimension_values.clear();
  out.owned_text.clear();
  out.forward.reserve(request.size() + 256);
  WireReader r(request);
  WireField f;
  while (r.Next(f)) {
    if (f.number != kRequestResourceSpans) continue;  // unknown fields are ignored
    if (f.type != WireType::kLen) return MakeError("protobuf", "resource_spans is not a message");
    if (Status st = ProcessResourceSpans(f.raw, f.bytes, peer_ip, out); !st.ok()) return st;
  }
  if (r.error()) return Malformed("ExportTraceServiceRequest", r);
  return Ok{};
}

Status SpanProcessor::ProcessResourceSpans(std::string_view rs_field, std::string_view rs,
                                           std::string_view peer_ip, ProcessedRequest& out) const {
  const size_t ndims = dimensions_.size();
  std::deque<std::string>* owned = ndims > 0 && collect_facts_ ? &out.owned_text : nullptr;
  std::string_view resource;
  std::vector<std::string_view> scopes, others;  // raw fields
  {
    WireReader r(rs);
    WireField f;
    while (r.Next(f)) {
      if (f.number == kRsResource && f.type == WireType::kLen) {
        resource = f.bytes;
      } else if (f.number == kRsScopeSpans && f.type == WireType::kLen) {
        scopes.push_back(f.raw);
      } else {
        others.push_back(f.raw);
      }
    }
    if (r.error()) return Malformed("ResourceSpans", r);
  }
  std::vector<ResourceAttr> attrs;
  {
    WireReader r(resource);
    WireField f;
    while (r.Next(f)) {
      if (f.number != kResourceAttributes || f.type != WireType::kLen) continue;
      ResourceAttr a;
      if (!ReadKeyValue(f.bytes, a.key, a.value, owned)) {
        return MakeError("protobuf", "Resource.attributes: malformed KeyValue");
      }
      attrs.push_back(a);
    }
    if (r.error()) return Malformed("Resource", r);
  }
  std::string_view service_name;
  for (const auto& a : attrs) {
    if (a.key == "service.name") service_name = a.value;
  }
  std::string extra;
  if (enricher_) {
    // Dimensions read the resource as forwarded: what the sender set, then what lookout added
    // (k8s.pod.name, k8s.namespace.name, ... from the pod index), kept in `owned`.
    if (owned == nullptr) {
      enricher_->AppendExtra(attrs, peer_ip, extra, nullptr);
    } else {
      std::vector<std::pair<std::string, std::string>> added;
      enricher_->AppendExtra(attrs, peer_ip, extra, &added);
      for (auto& [k, v] : added) {
        const std::string& key = owned->emplace_back(std::move(k));
        const std::string& value = owned->emplace_back(std::move(v));
        attrs.push_back({key, value});
      }
    }
  }

  // Scopes pass through as they are unless they lose spans (invalid or sampled out); then they
  // are rebuilt from their kept fields.
  std::vector<std::string_view> pieces;
  std::deque<std::string> rebuilt;
  bool dropped_any = false;
  std::vector<std::string_view> span_attrs;
  for (const auto scope_raw : scopes) {
    WireReader outer(scope_raw);
    WireField sf;
    outer.Next(sf);  // already validated as a length-delimited field
    WireReader sr(sf.bytes);
    WireField f;
    bool scope_dropped = false;
    size_t kept_spans = 0;
    std::string kept;  // filled only once a span is dropped
    std::vector<std::string_view> kept_fields;
    while (sr.Next(f)) {
      if (f.number != kScopeSpansSpans || f.type != WireType::kLen) {
        kept_fields.push_back(f.raw);
        continue;
      }
      ++out.spans;
      SpanFacts facts;
      facts.service_name = service_name;
      span_attrs.clear();
      WireReader sp(f.bytes);
      WireField g;
      while (sp.Next(g)) {
        switch (g.number) {
          case kSpanTraceId:
            if (g.type == WireType::kLen) facts.trace_id = g.bytes;
            break;
          case kSpanSpanId:
            if (g.type == WireType::kLen) facts.span_id = g.bytes;
            break;
          case kSpanName:
            if (g.type == WireType::kLen) facts.span_name = g.bytes;
            break;
          case kSpanKind:
            if (g.type == WireType::kVarint) facts.kind = static_cast<int>(g.value & 0xff);
            break;
          case kSpanStart:
            if (g.type == WireType::kFixed64) facts.start_ns = g.value;
            break;
          case kSpanEnd:
            if (g.type == WireType::kFixed64) facts.end_ns = g.value;
            break;
          case kSpanAttributes:
            if (owned != nullptr && g.type == WireType::kLen) span_attrs.push_back(g.bytes);
            break;
          case kSpanStatus:
            if (g.type == WireType::kLen) {
              WireReader st(g.bytes);
              WireField h;
              while (st.Next(h)) {
                if (h.number == kStatusCode && h.type == WireType::kVarint) {
                  facts.status = static_cast<int>(h.value & 0xff);
                }
              }
              if (st.error()) return Malformed("Status", st);
            }
            break;
          default:
            break;
        }
      }
      if (sp.error()) return Malformed("Span", sp);
      const bool valid = facts.trace_id.size() == 16 && facts.span_id.size() == 8 &&
                         !AllZero(facts.trace_id) && !AllZero(facts.span_id);
      if (!valid) {
        ++out.invalid;
        if (out.invalid_reason.empty()) {
          out.invalid_reason =
              "spans need a 16-byte trace_id and an 8-byte span_id, neither all zero";
        }
        scope_dropped = true;
        continue;
      }
      if (collect_facts_) {
        for (size_t d = 0; d < ndims; ++d) {
          std::string_view value;
          bool found = false;
          for (auto kv : span_attrs) {
            std::string_view k, v;
            if (!ReadKeyValue(kv, k, v, owned)) {
              return MakeError("protobuf", "Span.attributes: malformed KeyValue");
            }
            if (k == dimensions_[d]) {
              value = v;
              found = true;
              break;
            }
          }
          for (size_t i = 0; !found && i < attrs.size(); ++i) {
            if (attrs[i].key == dimensions_[d]) {
              value = attrs[i].value;
              found = true;
            }
          }
          out.dimension_values.push_back(value);
        }
        out.facts.push_back(facts);
      }
      if (!Sampled(facts.trace_id)) {
        ++out.sampled_out;
        scope_dropped = true;
        continue;
      }
      ++out.forwarded;
      ++kept_spans;
      kept_fields.push_back(f.raw);
    }
    if (sr.error()) return Malformed("ScopeSpans", sr);
    if (!scope_dropped) {
      pieces.push_back(scope_raw);
      continue;
    }
    dropped_any = true;
    if (kept_spans == 0) continue;  // the scope loses all its spans: leave it out
    std::string body;
    for (auto k : kept_fields) body.append(k);
    std::string& field = rebuilt.emplace_back();
    PutBytesField(field, kRsScopeSpans, body);
    pieces.push_back(field);
  }
  if (pieces.empty()) return Ok{};  // no span of this resource is forwarded
  if (extra.empty() && !dropped_any) {
    out.forward.append(rs_field);  // the common case: bytes pass through untouched
    return Ok{};
  }
  const size_t resource_len = resource.size() + extra.size();
  size_t content_len = LenFieldSize(kRsResource, resource_len);
  for (auto p : pieces) content_len += p.size();
  for (auto o : others) content_len += o.size();
  PutLenPrefix(out.forward, kRequestResourceSpans, content_len);
  PutLenPrefix(out.forward, kRsResource, resource_len);
  out.forward.append(resource);
  out.forward.append(extra);
  for (auto p : pieces) out.forward.append(p);
  for (auto o : others) out.forward.append(o);
  return Ok{};
}

void RecordSpanMetrics(SpanMetrics& metrics, const ProcessedRequest& req) {
  const size_t ndims = metrics.options().dimensions.size();
  const bool dims = ndims > 0 && req.dimension_values.size() == req.facts.size() * ndims;
  SpanMetrics::Batch batch(metrics);
  for (size_t i = 0; i < req.facts.size(); ++i) {
    SpanFacts f = req.facts[i];
    f.dimension_values = dims ? &req.dimension_values[i * ndims] : nullptr;
    batch.Record(f);
  }
}

}  // namespace lookout::trace
