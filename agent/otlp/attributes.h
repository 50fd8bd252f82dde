#pragma once
// OTLP attributes as Prometheus labels, and the resource's identity (job, instance,
// target_info), per the OpenTelemetry Prometheus compatibility rules, for the OTLP metrics store
// (metric_store.cc), with the ID encodings it and the codec need: HexId for exemplar labels,
// Base64 for the codec's OTLP/JSON IDs (metrics and traces). Span metrics read attributes on the
// wire (agent/trace) and share only the naming rules (prometheus_naming.h). Pure functions;
// thread-safe.

#include <string>

#include "lookout/metrics/metric.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"

namespace lookout::otlp {

// Strings as they are; bool "true"/"false"; ints in decimal; doubles shortest round-trip
// (AppendDouble: "NaN", "+Inf", "-Inf" too); arrays and maps as JSON; bytes as base64; an unset
// value as "" (null inside an array or map).
std::string AnyValueToString(const opentelemetry::proto::common::v1::AnyValue& v);

// Label names from PrometheusLabelName(); keys that collide after sanitising are joined with ';'
// in key order (as the specification says). Sorted by name.
Labels AttributesToLabels(
    const google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>& attrs);

struct ResourceIdentity {
  Labels labels;       // job (service.namespace/service.name) and instance (service.instance.id)
  Labels target_info;  // job, instance and every other resource attribute; empty if none other
};
ResourceIdentity IdentifyResource(const opentelemetry::proto::resource::v1::Resource& r);

// Lower-case hex of an ID's bytes (hex.h), for the trace_id and span_id labels of exemplars.
std::string HexId(const std::string& bytes);

}  // namespace lookout::otlp
