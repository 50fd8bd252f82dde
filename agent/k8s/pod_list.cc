#include "agent/k8s/pod_list.h"

#include <string>
#include <utility>

#include "agent/common/json.h"

namespace lookout {
namespace {

using json::Lookup;

std::map<std::string, std::string> StringMap(Lookup v) {
  std::map<std::string, std::string> out;
  simdjson::dom::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return out;
  for (const auto [k, val] : obj) {
    std::string_view s;
    if (val.get_string().get(s) == simdjson::SUCCESS) out.emplace(k, s);
  }
  return out;
}

// Spec containers by name, in order; then statuses fill in the runtime ID and image.
void AddContainers(Lookup specs, Lookup statuses, bool init, Pod& pod) {
  simdjson::dom::array spec_list;
  if (specs.get_array().get(spec_list) != simdjson::SUCCESS) return;
  const size_t first = pod.containers.size();
  for (const json::Element c : spec_list) {
    ContainerInfo info;
    info.name = json::Str(c["name"]);
    if (info.name.empty()) continue;
    info.image = json::Str(c["image"]);
    info.init = init;
    simdjson::dom::array ports;
    if (c["ports"].get_array().get(ports) == simdjson::SUCCESS) {
      for (const json::Element p : ports) {
        const auto port = json::Int64(p["containerPort"]);
        if (!port || *port <= 0 || *port > 65535) continue;
        ContainerPortInfo pi;
        pi.name = json::Str(p["name"]);
        pi.port = static_cast<int>(*port);
        pi.protocol = json::Str(p["protocol"]);
        if (pi.protocol.empty()) pi.protocol = "TCP";
        info.ports.push_back(std::move(pi));
      }
    }
    pod.containers.push_back(std::move(info));
  }
  simdjson::dom::array status_list;
  if (statuses.get_array().get(status_list) != simdjson::SUCCESS) return;
  for (const json::Element st : status_list) {
    const std::string_view name = json::Str(st["name"]);
    for (size_t i = first; i < pod.containers.size(); ++i) {
      ContainerInfo& c = pod.containers[i];
      if (c.name != name) continue;
      const auto [runtime, id] = SplitContainerId(json::Str(st["containerID"]));
      c.runtime = std::string(runtime);
      c.id = std::string(id);
      const std::string_view image = json::Str(st["image"]);
      if (!image.empty()) c.image = std::string(image);
      break;
    }
  }
}

}  // namespace

std::pair<std::string_view, std::string_view> SplitContainerId(std::string_view id) {
  const size_t sep = id.find("://");
  if (sep == std::string_view::npos) return {std::string_view(), id};
  return {id.substr(0, sep), id.substr(sep + 3)};
}

Result<std::vector<Pod>> ParsePodList(std::string_view text) {
  simdjson::dom::parser parser;
  auto doc = json::Parse(parser, text);
  if (!doc.ok()) return doc.error();
  const json::Element root = *doc;
  if (!root.is_object()) return MakeError("format", "PodList: top level is not an object");
  // The kubelet omits "items" when no pod runs; "items": null is also seen.
  json::Element items;
  const bool has_items = root["items"].get(items) == simdjson::SUCCESS && !items.is_null();
  if (has_items && !items.is_array()) {
    return MakeError("format", "PodList: \"items\" is not an array");
  }
  const Lookup kind = root["kind"];
  if (kind.error() == simdjson::SUCCESS && json::Str(kind) != "PodList") {
    return MakeError("format", "expected kind PodList, got " + std::string(json::Str(kind)));
  }
  std::vector<Pod> pods;
  if (!has_items) return pods;
  const simdjson::dom::array item_list = items.get_array().value_unsafe();
  pods.reserve(item_list.size());
  for (const json::Element item : item_list) {
    Pod pod;
    const Lookup meta = item["metadata"];
    pod.uid = json::Str(meta["uid"]);
    pod.name = json::Str(meta["name"]);
    pod.namespace_name = json::Str(meta["namespace"]);
    if (pod.uid.empty() || pod.name.empty() || pod.namespace_name.empty()) continue;
    pod.labels = StringMap(meta["labels"]);
    pod.annotations = StringMap(meta["annotations"]);
    const Lookup spec = item["spec"];
    const Lookup status = item["status"];
    pod.node_name = json::Str(spec["nodeName"]);
    bool host_network = false;
    pod.host_network =
        spec["hostNetwork"].get_bool().get(host_network) == simdjson::SUCCESS && host_network;
    pod.phase = json::Str(status["phase"]);
    pod.qos_class = json::Str(status["qosClass"]);
    pod.pod_ip = json::Str(status["podIP"]);
    pod.host_ip = json::Str(status["hostIP"]);
    simdjson::dom::array ips;
    if (status["podIPs"].get_array().get(ips) == simdjson::SUCCESS) {
      for (const json::Element ip : ips) {
        std::string s(json::Str(ip["ip"]));
        if (!s.empty()) pod.pod_ips.push_back(std::move(s));
      }
    }
    if (pod.pod_ips.empty() && !pod.pod_ip.empty()) pod.pod_ips.push_back(pod.pod_ip);
    AddContainers(spec["initContainers"], status["initContainerStatuses"], true, pod);
    AddContainers(spec["containers"], status["containerStatuses"], false, pod);
    pods.push_back(std::move(pod));
  }
  return pods;
}

}  // namespace lookout
