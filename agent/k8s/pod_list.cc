#include "agent/k8s/pod_list.h"

#include <string>
#include <utility>

#include "agent/common/json.h"

namespace lookout {
namespace {

std::string Str(const json::Value* v) {
  return v != nullptr ? std::string(v->AsString()) : std::string();
}

std::map<std::string, std::string> StringMap(const json::Value* v) {
  std::map<std::string, std::string> out;
  if (v == nullptr) return out;
  for (const auto& [k, val] : v->object()) {
    if (val.is_string()) out.emplace(k, std::string(val.AsString()));
  }
  return out;
}

// Spec containers by name, in order; then statuses fill in the runtime ID and image.
void AddContainers(const json::Value* specs, const json::Value* statuses, bool init, Pod& pod) {
  if (specs == nullptr) return;
  const size_t first = pod.containers.size();
  for (const auto& c : specs->array()) {
    ContainerInfo info;
    info.name = Str(c.Find("name"));
    if (info.name.empty()) continue;
    info.image = Str(c.Find("image"));
    info.init = init;
    if (const auto* ports = c.Find("ports")) {
      for (const auto& p : ports->array()) {
        const auto port =
            p.Find("containerPort") ? p.Find("containerPort")->AsInt64() : std::nullopt;
        if (!port || *port <= 0 || *port > 65535) continue;
        ContainerPortInfo pi;
        pi.name = Str(p.Find("name"));
        pi.port = static_cast<int>(*port);
        pi.protocol = Str(p.Find("protocol"));
        if (pi.protocol.empty()) pi.protocol = "TCP";
        info.ports.push_back(std::move(pi));
      }
    }
    pod.containers.push_back(std::move(info));
  }
  if (statuses == nullptr) return;
  for (const auto& st : statuses->array()) {
    const std::string_view name = st.Find("name") ? st.Find("name")->AsString() : "";
    for (size_t i = first; i < pod.containers.size(); ++i) {
      ContainerInfo& c = pod.containers[i];
      if (c.name != name) continue;
      const auto [runtime, id] =
          SplitContainerId(st.Find("containerID") ? st.Find("containerID")->AsString() : "");
      c.runtime = std::string(runtime);
      c.id = std::string(id);
      const std::string image = Str(st.Find("image"));
      if (!image.empty()) c.image = image;
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
  auto doc = json::Parse(text);
  if (!doc.ok()) return doc.error();
  const json::Value& root = *doc;
  if (!root.is_object()) return MakeError("format", "PodList: top level is not an object");
  const json::Value* items = root.Find("items");
  // The kubelet omits "items" when no pod runs; "items": null is also seen.
  if (items != nullptr && !items->is_array() && !items->is_null()) {
    return MakeError("format", "PodList: \"items\" is not an array");
  }
  const json::Value* kind = root.Find("kind");
  if (kind != nullptr && kind->AsString() != "PodList") {
    return MakeError("format", "expected kind PodList, got " + std::string(kind->AsString()));
  }
  std::vector<Pod> pods;
  if (items == nullptr) return pods;
  pods.reserve(items->array().size());
  for (const auto& item : items->array()) {
    Pod pod;
    const json::Value* meta = item.Find("metadata");
    if (meta == nullptr) continue;
    pod.uid = Str(meta->Find("uid"));
    pod.name = Str(meta->Find("name"));
    pod.namespace_name = Str(meta->Find("namespace"));
    if (pod.uid.empty() || pod.name.empty() || pod.namespace_name.empty()) continue;
    pod.labels = StringMap(meta->Find("labels"));
    pod.annotations = StringMap(meta->Find("annotations"));
    const json::Value* spec = item.Find("spec");
    const json::Value* status = item.Find("status");
    if (spec != nullptr) {
      pod.node_name = Str(spec->Find("nodeName"));
      pod.host_network = spec->Find("hostNetwork") && spec->Find("hostNetwork")->AsBool();
    }
    if (status != nullptr) {
      pod.phase = Str(status->Find("phase"));
      pod.qos_class = Str(status->Find("qosClass"));
      pod.pod_ip = Str(status->Find("podIP"));
      pod.host_ip = Str(status->Find("hostIP"));
      if (const auto* ips = status->Find("podIPs")) {
        for (const auto& ip : ips->array()) {
          std::string s = Str(ip.Find("ip"));
          if (!s.empty()) pod.pod_ips.push_back(std::move(s));
        }
      }
      if (pod.pod_ips.empty() && !pod.pod_ip.empty()) pod.pod_ips.push_back(pod.pod_ip);
    }
    AddContainers(spec ? spec->Find("initContainers") : nullptr,
                  status ? status->Find("initContainerStatuses") : nullptr, true, pod);
    AddContainers(spec ? spec->Find("containers") : nullptr,
                  status ? status->Find("containerStatuses") : nullptr, false, pod);
    pods.push_back(std::move(pod));
  }
  return pods;
}

}  // namespace lookout
