#pragma once
// Builds OTLP trace requests with the protobuf-generated classes (an encoder independent of the
// agent's hand-written wire scanner) for the trace tests.

#include <random>
#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace lookout::testing {

namespace pbt = opentelemetry::proto::trace::v1;
using TraceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

inline void SetStringAttr(
    google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* attrs,
    const std::string& k, const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

inline std::string Id(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  s[0] = 1;  // never all zero
  return s;
}

// One resource (service.name = service) with one scope of `spans` server spans named
// "GET /x" (even) and "POST /y" (odd), each lasting (i % 20) ms, every `error_every`-th an error.
inline pbt::ResourceSpans* AddResource(TraceRequest& req, const std::string& service, int spans,
                                       std::mt19937_64& rng, int error_every = 0) {
  auto* rs = req.add_resource_spans();
  SetStringAttr(rs->mutable_resource()->mutable_attributes(), "service.name", service);
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("test");
  for (int i = 0; i < spans; ++i) {
    auto* s = ss->add_spans();
    s->set_trace_id(Id(rng, 16));
    s->set_span_id(Id(rng, 8));
    s->set_name(i % 2 ? "POST /y" : "GET /x");
    s->set_kind(pbt::Span::SPAN_KIND_SERVER);
    s->set_start_time_unix_nano(1'700'000'000'000'000'000ull);
    s->set_end_time_unix_nano(1'700'000'000'000'000'000ull + (i % 20) * 1'000'000ull);
    SetStringAttr(s->mutable_attributes(), "http.method", i % 2 ? "POST" : "GET");
    auto* code = s->add_attributes();
    code->set_key("http.status_code");
    code->mutable_value()->set_int_value(i % 2 ? 201 : 200);
    if (error_every > 0 && i % error_every == 0) {
      s->mutable_status()->set_code(pbt::Status::STATUS_CODE_ERROR);
    }
  }
  return rs;
}

}  // namespace lookout::testing
