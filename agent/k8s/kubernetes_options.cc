#include "agent/k8s/kubernetes_options.h"

#include <sys/stat.h>

#include "agent/common/expand_env.h"

namespace lookout {

KubernetesOptions KubernetesOptions::Resolved() const {
  KubernetesOptions r = *this;
  r.node_name = ExpandEnv(node_name);
  r.kubelet_url = ExpandEnv(kubelet_url);
  r.api_server_url = ExpandEnv(api_server_url);
  r.token_file = ExpandEnv(token_file);
  r.ca_file = ExpandEnv(ca_file);
  if (r.mode == Mode::kAuto) {
    struct stat st {};
    const bool in_pod = !r.token_file.empty() && ::stat(r.token_file.c_str(), &st) == 0;
    r.mode = in_pod ? Mode::kKubelet : Mode::kOff;
  }
  return r;
}

std::string KubernetesOptions::PodListUrl() const {
  if (mode != Mode::kApiServer) return kubelet_url;
  std::string url = api_server_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v1/pods?fieldSelector=spec.nodeName%3D" + node_name;
}

const OptionTable<KubernetesOptions>& KubernetesOptionTable() {
  using O = KubernetesOptions;
  using M = O::Mode;
  static const OptionTable<O> kTable{{
      option::Enum<O, M>("mode", &O::mode,
                         {{"auto", M::kAuto},
                          {"kubelet", M::kKubelet},
                          {"apiserver", M::kApiServer},
                          {"off", M::kOff}},
                         "auto",
                         "where pod metadata comes from: `kubelet` (GET the kubelet's `/pods`), "
                         "`apiserver` (GET `/api/v1/pods?fieldSelector=spec.nodeName=<node>`), "
                         "`off`; `auto` = `kubelet` when the service-account token file exists "
                         "(running in a pod), else `off`. Pod collectors run only when it is on"),
      option::Str<O>("node_name", &O::node_name, "${NODE_NAME}",
                     "this node (downward API); pods of other nodes in an answer are ignored"),
      option::Str<O>("kubelet_url", &O::kubelet_url, "https://${HOST_IP:-127.0.0.1}:10250/pods",
                     "the kubelet's PodList"),
      option::Str<O>("api_server_url", &O::api_server_url,
                     "https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_"
                     "SERVICE_PORT:-443}",
                     "API server base URL (apiserver mode)"),
      option::Str<O>("token_file", &O::token_file,
                     "/var/run/secrets/kubernetes.io/serviceaccount/token",
                     "bearer token; re-read on every refresh (projected tokens rotate); `\"\"` "
                     "sends none"),
      option::Str<O>("ca_file", &O::ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                     "CA that must have signed the server's certificate; `\"\"` = system trust "
                     "store"),
      option::Bool<O>("insecure_skip_verify", &O::insecure_skip_verify, "false",
                      "skip certificate verification. Kubelets with self-signed serving "
                      "certificates (kubeadm's default without `serverTLSBootstrap`) fail "
                      "verification: enable kubelet serving-cert bootstrap, use `apiserver` mode, "
                      "or set this knowingly"),
      option::Dur<O>("refresh_interval", &O::refresh_interval, Duration(1000), Duration(86'400'000),
                     "30s", "how often the pod list is fetched"),
      option::Dur<O>("min_refresh_interval", &O::min_refresh_interval, Duration(100),
                     Duration(3'600'000), "2s",
                     "a cgroup of a pod the index does not know triggers an early refresh, at "
                     "most this often"),
      option::Dur<O>("timeout", &O::timeout, Duration(100), Duration(600'000), "5s",
                     "whole request, connect included"),
      option::Dur<O>("stale_after", &O::stale_after, Duration(0), Duration(7 * 86'400'000LL), "5m",
                     "while refreshes fail, the last good pod list keeps labelling series this "
                     "long; after it, pod series disappear (never mislabelled, never stale "
                     "forever)"),
      option::Int<O>("max_response_bytes", &O::max_response_bytes, 4096, int64_t{1} << 32,
                     "67108864", "a larger answer fails the refresh (`reason=\"too_large\"`)"),
  }};
  return kTable;
}

}  // namespace lookout
