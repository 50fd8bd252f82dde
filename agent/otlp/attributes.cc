#include "agent/otlp/attributes.h"

#include <algorithm>
#include <map>

#include "agent/common/base64.h"
#include "agent/common/hex.h"
#include "agent/common/json.h"
#include "agent/common/number_format.h"
#include "agent/otlp/prometheus_naming.h"

namespace lookout::otlp {
namespace {

namespace pb = opentelemetry::proto::common::v1;

void AppendJson(std::string& out, const pb::AnyValue& v);

}  // namespace

namespace {

void AppendJson(std::string& out, const pb::AnyValue& v) {
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
    case pb::AnyValue::kBytesValue:
      json::AppendQuoted(out, AnyValueToString(v));
      break;
    case pb::AnyValue::kArrayValue: {
      out += '[';
      bool first = true;
      for (const auto& e : v.array_value().values()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, e);
      }
      out += ']';
      break;
    }
    case pb::AnyValue::kKvlistValue: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.kvlist_value().values()) {
        if (!first) out += ',';
        first = false;
        json::AppendQuoted(out, kv.key());
        out += ':';
        AppendJson(out, kv.value());
      }
      out += '}';
      break;
    }
    case pb::AnyValue::VALUE_NOT_SET:
      out += "null";
      break;
    default:
      out += AnyValueToString(v);
  }
}

}  // namespace

std::string AnyValueToString(const pb::AnyValue& v) {
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
      return v.string_value();
    case pb::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case pb::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case pb::AnyValue::kDoubleValue: {
      std::string s;
      AppendDouble(s, v.double_value());
      return s;
    }
    case pb::AnyValue::kBytesValue:
      return Base64(v.bytes_value());
    case pb::AnyValue::kArrayValue:
    case pb::AnyValue::kKvlistValue: {
      std::string s;
      AppendJson(s, v);
      return s;
    }
    default:
      return "";
  }
}

Labels AttributesToLabels(const google::protobuf::RepeatedPtrField<pb::KeyValue>& attrs) {
  // name → (original key → value), so collisions join in key order.
  std::map<std::string, std::map<std::string, std::string>> by_name;
  for (const auto& kv : attrs) {
    by_name[PrometheusLabelName(kv.key())][kv.key()] = AnyValueToString(kv.value());
  }
  Labels out;
  out.reserve(by_name.size());
  for (auto& [name, values] : by_name) {
    std::string joined;
    for (const auto& [k, v] : values) {
      if (!joined.empty()) joined += ';';
      joined += v;
    }
    out.push_back({name, std::move(joined)});
  }
  return out;
}

ResourceIdentity IdentifyResource(const opentelemetry::proto::resource::v1::Resource& r) {
  std::string service_name, service_namespace, instance;
  google::protobuf::RepeatedPtrField<pb::KeyValue> others;
  for (const auto& kv : r.attributes()) {
    if (kv.key() == "service.name") {
      service_name = AnyValueToString(kv.value());
    } else if (kv.key() == "service.namespace") {
      service_namespace = AnyValueToString(kv.value());
    } else if (kv.key() == "service.instance.id") {
      instance = AnyValueToString(kv.value());
    } else {
      *others.Add() = kv;
    }
  }
  ResourceIdentity id;
  std::string job = service_namespace.empty() || service_name.empty()
                        ? service_name
                        : service_namespace + "/" + service_name;
  if (!job.empty()) id.labels.push_back({"job", job});
  if (!instance.empty()) id.labels.push_back({"instance", instance});
  if (!others.empty()) {
    id.target_info = AttributesToLabels(others);
    // job/instance identify the target; an attribute that sanitises to one of them yields.
    std::erase_if(id.target_info,
                  [](const Label& l) { return l.name == "job" || l.name == "instance"; });
    for (const auto& l : id.labels) id.target_info.push_back(l);
    std::sort(id.target_info.begin(), id.target_info.end(),
              [](const Label& a, const Label& b) { return a.name < b.name; });
  }
  return id;
}

std::string HexId(const std::string& bytes) { return Hex(bytes); }

}  // namespace lookout::otlp
