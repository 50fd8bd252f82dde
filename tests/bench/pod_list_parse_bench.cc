// Parsing the kubelet's / API server's PodList at 110 pods (Kubernetes' default per-node limit)
// and at 5,000 pods (the API server's answer for a large cluster, read on every refresh), with
// the extraction pod_list.cc does (metadata, labels, annotations, containers, ports, statuses),
// so every variant does the same work and yields the same std::vector<Pod>.
//
// The list is built from the committed fixture (tests/fixtures/pods/v2_systemd_containerd:
// 5 realistic pods, written compactly as the kubelet and API server send it) repeated with
// distinct UIDs. Counters: pods, bytes of JSON, heap allocations per parse and peak extra heap
// bytes during one parse (a counting operator new; a fresh parser every iteration, so
// simdjson's buffers are counted too: they are sized to the input but only partly touched) and
// the peak growth of resident memory during the first parse of the process (VmHWM; run one variant
// per process, --benchmark_filter=Name, for a clean figure).
//
// Variants: ParsePodList (the production parser: simdjson's DOM API since 2026-11-29; before, a
// hand-written reader whose figures the README keeps), and the same extraction written with
// nlohmann::json (DOM) and simdjson On-Demand.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <simdjson.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/common/file_util.h"
#include "agent/k8s/pod_list.h"

// Counting allocator: live bytes (by malloc_usable_size), their peak and the number of calls.
namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocs{0};

void* CountedAlloc(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  const int64_t live = g_live.fetch_add(static_cast<int64_t>(malloc_usable_size(p))) +
                       static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  g_allocs.fetch_add(1);
  return p;
}
void CountedFree(void* p) {
  if (p == nullptr) return;
  g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)));
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return CountedAlloc(n); }
void* operator new[](size_t n) { return CountedAlloc(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }

namespace lookout {
namespace {

// Removes insignificant whitespace (the fixture is pretty-printed; the kubelet's is not).
std::string Compact(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

// A PodList of `n` pods: the fixture's items repeated, each copy with its own UIDs.
std::string MakePodList(int n) {
  auto text = ReadFileLimited(
      LOOKOUT_SOURCE_DIR "/tests/fixtures/pods/v2_systemd_containerd/pods.json", 1 << 20);
  if (!text.ok()) return {};
  const std::string all = Compact(*text);
  const size_t open = all.find("\"items\":[");
  const size_t close = all.rfind(']');
  if (open == std::string::npos || close == std::string::npos) return {};
  const std::string items = all.substr(open + 9, close - open - 9);  // "{...},{...}"
  // Count the pods in one copy of `items`.
  int per_copy = 0;
  for (size_t p = items.find("\"metadata\":{\"name\""); p != std::string::npos;
       p = items.find("\"metadata\":{\"name\"", p + 1)) {
    ++per_copy;
  }
  std::string out =
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)";
  int made = 0;
  for (int copy = 0; made < n; ++copy) {
    std::string c = items;
    char tag[9];
    std::snprintf(tag, sizeof tag, "%08x", copy);
    for (size_t p = c.find("\"uid\":\""); p != std::string::npos; p = c.find("\"uid\":\"", p + 1)) {
      c.replace(p + 7, 8, tag);
    }
    // Keep only as many pods of this copy as still needed.
    const int want = std::min(per_copy, n - made);
    if (want < per_copy) {
      size_t cut = 0;
      for (int i = 0; i <= want; ++i) cut = c.find("{\"metadata\":{\"name\"", cut + (i ? 1 : 0));
      c.resize(cut - 1);  // drop the ',' before the first pod not wanted
    }
    if (made > 0) out.push_back(',');
    out += c;
    made += want;
  }
  out += "]}";
  return out;
}

// ---- nlohmann::json: the extraction of pod_list.cc over its DOM.
namespace nl {
using nlohmann::json;
std::string Str(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::map<std::string, std::string> StringMap(const json& o, const char* key) {
  std::map<std::string, std::string> out;
  const auto it = o.find(key);
  if (it == o.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}
const json* Sub(const json* o, const char* key) {
  if (o == nullptr || !o->is_object()) return nullptr;
  const auto it = o->find(key);
  return it != o->end() ? &*it : nullptr;
}
void AddContainers(const json* specs, const json* statuses, bool init, Pod& pod) {
  if (specs == nullptr || !specs->is_array()) return;
  const size_t first = pod.containers.size();
  for (const auto& c : *specs) {
    if (!c.is_object()) continue;
    ContainerInfo info;
    info.name = Str(c, "name");
    if (info.name.empty()) continue;
    info.image = Str(c, "image");
    info.init = init;
    if (const json* ports = Sub(&c, "ports"); ports != nullptr && ports->is_array()) {
      for (const auto& p : *ports) {
        const json* cp = Sub(&p, "containerPort");
        if (cp == nullptr || !cp->is_number_integer()) continue;
        const int64_t port = cp->get<int64_t>();
        if (port <= 0 || port > 65535) continue;
        ContainerPortInfo pi;
        pi.name = Str(p, "name");
        pi.port = static_cast<int>(port);
        pi.protocol = Str(p, "protocol");
        if (pi.protocol.empty()) pi.protocol = "TCP";
        info.ports.push_back(std::move(pi));
      }
    }
    pod.containers.push_back(std::move(info));
  }
  if (statuses == nullptr || !statuses->is_array()) return;
  for (const auto& st : *statuses) {
    if (!st.is_object()) continue;
    const std::string name = Str(st, "name");
    for (size_t i = first; i < pod.containers.size(); ++i) {
      ContainerInfo& c = pod.containers[i];
      if (c.name != name) continue;
      const std::string cid = Str(st, "containerID");
      const auto [runtime, id] = SplitContainerId(cid);
      c.runtime = std::string(runtime);
      c.id = std::string(id);
      std::string image = Str(st, "image");
      if (!image.empty()) c.image = std::move(image);
      break;
    }
  }
}
Result<std::vector<Pod>> ParsePodList(std::string_view text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return MakeError("json", e.what());
  }
  if (!root.is_object()) return MakeError("format", "PodList: top level is not an object");
  std::vector<Pod> pods;
  const json* items = Sub(&root, "items");
  if (items == nullptr || !items->is_array()) return pods;
  pods.reserve(items->size());
  for (const auto& item : *items) {
    const json* meta = Sub(&item, "metadata");
    if (meta == nullptr || !meta->is_object()) continue;
    Pod pod;
    pod.uid = Str(*meta, "uid");
    pod.name = Str(*meta, "name");
    pod.namespace_name = Str(*meta, "namespace");
    if (pod.uid.empty() || pod.name.empty() || pod.namespace_name.empty()) continue;
    pod.labels = StringMap(*meta, "labels");
    pod.annotations = StringMap(*meta, "annotations");
    const json* spec = Sub(&item, "spec");
    const json* status = Sub(&item, "status");
    if (spec != nullptr && spec->is_object()) {
      pod.node_name = Str(*spec, "nodeName");
      const json* hn = Sub(spec, "hostNetwork");
      pod.host_network = hn != nullptr && hn->is_boolean() && hn->get<bool>();
    }
    if (status != nullptr && status->is_object()) {
      pod.phase = Str(*status, "phase");
      pod.qos_class = Str(*status, "qosClass");
      pod.pod_ip = Str(*status, "podIP");
      pod.host_ip = Str(*status, "hostIP");
      if (const json* ips = Sub(status, "podIPs"); ips != nullptr && ips->is_array()) {
        for (const auto& ip : *ips) {
          if (!ip.is_object()) continue;
          std::string s = Str(ip, "ip");
          if (!s.empty()) pod.pod_ips.push_back(std::move(s));
        }
      }
      if (pod.pod_ips.empty() && !pod.pod_ip.empty()) pod.pod_ips.push_back(pod.pod_ip);
    }
    AddContainers(Sub(spec, "initContainers"), Sub(status, "initContainerStatuses"), true, pod);
    AddContainers(Sub(spec, "containers"), Sub(status, "containerStatuses"), false, pod);
    pods.push_back(std::move(pod));
  }
  return pods;
}
}  // namespace nl

// ---- simdjson On-Demand: one forward pass; every object's fields read in document order.
namespace od {
namespace ondemand = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

// Lenient read: a wrongly typed value reads as empty; a malformed one is an error.
error_code Str(ondemand::value v, std::string& out) {
  std::string_view s;
  const error_code e = v.get_string().get(s);
  if (e == simdjson::INCORRECT_TYPE) return SUCCESS;
  if (e == SUCCESS) out.assign(s);
  return e;
}
#define OD_TRY(expr)                             \
  do {                                           \
    if (const error_code e_ = (expr)) return e_; \
  } while (0)

error_code StringMap(ondemand::value v, std::map<std::string, std::string>& out) {
  ondemand::object obj;
  if (v.get_object().get(obj) != SUCCESS) return SUCCESS;
  for (auto field : obj) {
    std::string_view k;
    OD_TRY(field.unescaped_key().get(k));
    std::string key(k), val;
    ondemand::value fv;
    OD_TRY(field.value().get(fv));
    std::string_view s;
    const error_code e = fv.get_string().get(s);
    if (e == SUCCESS) {
      out.emplace(std::move(key), std::string(s));
    } else if (e != simdjson::INCORRECT_TYPE) {
      return e;
    }
  }
  return SUCCESS;
}

struct Status {
  std::string name, container_id, image;
};

error_code Containers(ondemand::value v, bool init, std::vector<ContainerInfo>& out) {
  ondemand::array arr;
  if (v.get_array().get(arr) != SUCCESS) return SUCCESS;
  for (auto el : arr) {
    ondemand::object c;
    if (el.get_object().get(c) != SUCCESS) continue;
    ContainerInfo info;
    info.init = init;
    for (auto field : c) {
      std::string_view k;
      OD_TRY(field.unescaped_key().get(k));
      ondemand::value fv;
      OD_TRY(field.value().get(fv));
      if (k == "name") {
        OD_TRY(Str(fv, info.name));
      } else if (k == "image") {
        OD_TRY(Str(fv, info.image));
      } else if (k == "ports") {
        ondemand::array ports;
        if (fv.get_array().get(ports) != SUCCESS) continue;
        for (auto pe : ports) {
          ondemand::object p;
          if (pe.get_object().get(p) != SUCCESS) continue;
          ContainerPortInfo pi;
          int64_t port = 0;
          for (auto pf : p) {
            std::string_view pk;
            OD_TRY(pf.unescaped_key().get(pk));
            ondemand::value pv;
            OD_TRY(pf.value().get(pv));
            if (pk == "containerPort") {
              if (pv.get_int64().get(port)) port = 0;
            } else if (pk == "name") {
              OD_TRY(Str(pv, pi.name));
            } else if (pk == "protocol") {
              OD_TRY(Str(pv, pi.protocol));
            }
          }
          if (port <= 0 || port > 65535) continue;
          pi.port = static_cast<int>(port);
          if (pi.protocol.empty()) pi.protocol = "TCP";
          info.ports.push_back(std::move(pi));
        }
      }
    }
    if (!info.name.empty()) out.push_back(std::move(info));
  }
  return SUCCESS;
}

error_code Statuses(ondemand::value v, std::vector<Status>& out) {
  ondemand::array arr;
  if (v.get_array().get(arr) != SUCCESS) return SUCCESS;
  for (auto el : arr) {
    ondemand::object o;
    if (el.get_object().get(o) != SUCCESS) continue;
    Status st;
    for (auto field : o) {
      std::string_view k;
      OD_TRY(field.unescaped_key().get(k));
      ondemand::value fv;
      OD_TRY(field.value().get(fv));
      if (k == "name") {
        OD_TRY(Str(fv, st.name));
      } else if (k == "containerID") {
        OD_TRY(Str(fv, st.container_id));
      } else if (k == "image") {
        OD_TRY(Str(fv, st.image));
      }
    }
    out.push_back(std::move(st));
  }
  return SUCCESS;
}

void Merge(std::vector<ContainerInfo>& cs, const std::vector<Status>& sts, Pod& pod) {
  const size_t first = pod.containers.size();
  for (auto& c : cs) pod.containers.push_back(std::move(c));
  for (const auto& st : sts) {
    for (size_t i = first; i < pod.containers.size(); ++i) {
      ContainerInfo& c = pod.containers[i];
      if (c.name != st.name) continue;
      const auto [runtime, id] = SplitContainerId(st.container_id);
      c.runtime = std::string(runtime);
      c.id = std::string(id);
      if (!st.image.empty()) c.image = st.image;
      break;
    }
  }
}

error_code Item(ondemand::object item, std::vector<Pod>& pods) {
  Pod pod;
  std::vector<ContainerInfo> init, main;
  std::vector<Status> init_st, main_st;
  for (auto field : item) {
    std::string_view k;
    OD_TRY(field.unescaped_key().get(k));
    ondemand::value fv;
    OD_TRY(field.value().get(fv));
    ondemand::object o;
    if (fv.get_object().get(o) != SUCCESS) continue;
    for (auto f : o) {
      std::string_view fk;
      OD_TRY(f.unescaped_key().get(fk));
      ondemand::value v;
      OD_TRY(f.value().get(v));
      if (k == "metadata") {
        if (fk == "uid") {
          OD_TRY(Str(v, pod.uid));
        } else if (fk == "name") {
          OD_TRY(Str(v, pod.name));
        } else if (fk == "namespace") {
          OD_TRY(Str(v, pod.namespace_name));
        } else if (fk == "labels") {
          OD_TRY(StringMap(v, pod.labels));
        } else if (fk == "annotations") {
          OD_TRY(StringMap(v, pod.annotations));
        }
      } else if (k == "spec") {
        if (fk == "nodeName") {
          OD_TRY(Str(v, pod.node_name));
        } else if (fk == "hostNetwork") {
          if (v.get_bool().get(pod.host_network)) pod.host_network = false;
        } else if (fk == "initContainers") {
          OD_TRY(Containers(v, true, init));
        } else if (fk == "containers") {
          OD_TRY(Containers(v, false, main));
        }
      } else if (k == "status") {
        if (fk == "phase") {
          OD_TRY(Str(v, pod.phase));
        } else if (fk == "qosClass") {
          OD_TRY(Str(v, pod.qos_class));
        } else if (fk == "podIP") {
          OD_TRY(Str(v, pod.pod_ip));
        } else if (fk == "hostIP") {
          OD_TRY(Str(v, pod.host_ip));
        } else if (fk == "initContainerStatuses") {
          OD_TRY(Statuses(v, init_st));
        } else if (fk == "containerStatuses") {
          OD_TRY(Statuses(v, main_st));
        } else if (fk == "podIPs") {
          ondemand::array ips;
          if (v.get_array().get(ips) != SUCCESS) continue;
          for (auto ie : ips) {
            ondemand::object io;
            if (ie.get_object().get(io) != SUCCESS) continue;
            std::string ip;
            for (auto iff : io) {
              std::string_view ik;
              OD_TRY(iff.unescaped_key().get(ik));
              ondemand::value iv;
              OD_TRY(iff.value().get(iv));
              if (ik == "ip") OD_TRY(Str(iv, ip));
            }
            if (!ip.empty()) pod.pod_ips.push_back(std::move(ip));
          }
        }
      }
    }
  }
  if (pod.uid.empty() || pod.name.empty() || pod.namespace_name.empty()) return SUCCESS;
  if (pod.pod_ips.empty() && !pod.pod_ip.empty()) pod.pod_ips.push_back(pod.pod_ip);
  Merge(init, init_st, pod);
  Merge(main, main_st, pod);
  pods.push_back(std::move(pod));
  return SUCCESS;
}

Result<std::vector<Pod>> ParsePodList(std::string_view text) {
  ondemand::parser parser;
  const simdjson::padded_string padded(text);  // the caller's buffer has no padding
  ondemand::document doc;
  std::vector<Pod> pods;
  const auto run = [&]() -> error_code {
    OD_TRY(parser.iterate(padded).get(doc));
    ondemand::object root;
    OD_TRY(doc.get_object().get(root));
    for (auto field : root) {
      std::string_view k;
      OD_TRY(field.unescaped_key().get(k));
      ondemand::value v;
      OD_TRY(field.value().get(v));
      if (k != "items") continue;
      ondemand::array items;
      if (v.get_array().get(items) != SUCCESS) continue;
      for (auto el : items) {
        ondemand::object item;
        OD_TRY(el.get_object().get(item));
        OD_TRY(Item(item, pods));
      }
    }
    return SUCCESS;
  };
  if (const error_code e = run()) return MakeError("json", simdjson::error_message(e));
  return pods;
}
}  // namespace od

const std::string& List(int n) {
  static std::map<int, std::string> lists;
  auto& s = lists[n];
  if (s.empty()) s = MakePodList(n);
  return s;
}

// Resident memory: VmRSS / VmHWM from /proc/self/status in kB; writing "5" to clear_refs resets
// the high-water mark, so one parse's peak resident growth can be read (first iteration only:
// later ones reuse heap pages the earlier ones faulted in).
int64_t StatusKb(std::string_view field) {
  auto text = ReadFileLimited("/proc/self/status", 1 << 16);
  if (!text.ok()) return -1;
  const size_t at = text->find(field);
  if (at == std::string::npos) return -1;
  return std::strtoll(text->c_str() + at + field.size() + 1, nullptr, 10);
}
bool ResetPeakRss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

// Every field the variants fill, hashed: equal digests mean equal results.
size_t Digest(const std::vector<Pod>& pods) {
  size_t h = 0;
  const auto mix = [&](std::string_view s) { h = h * 1000003 ^ std::hash<std::string_view>()(s); };
  for (const auto& p : pods) {
    for (const auto* s : {&p.uid, &p.name, &p.namespace_name, &p.node_name, &p.phase, &p.qos_class,
                          &p.pod_ip, &p.host_ip}) {
      mix(*s);
    }
    mix(p.host_network ? "hn" : "");
    for (const auto& ip : p.pod_ips) mix(ip);
    for (const auto* m : {&p.labels, &p.annotations}) {
      for (const auto& [k, v] : *m) {
        mix(k);
        mix(v);
      }
    }
    for (const auto& c : p.containers) {
      for (const auto* s : {&c.name, &c.image, &c.runtime, &c.id}) mix(*s);
      mix(c.init ? "init" : "");
      for (const auto& port : c.ports) {
        mix(port.name);
        mix(port.protocol);
        mix(std::to_string(port.port));
      }
    }
  }
  return h;
}

template <Result<std::vector<Pod>> (*Parse)(std::string_view)>
void BM_Parse(benchmark::State& state) {
  const std::string& text = List(static_cast<int>(state.range(0)));
  size_t pods = 0, containers = 0, digest = 0;
  int64_t peak = 0, allocs = 0;
  double rss_mb = -1;
  for (auto _ : state) {
    const bool first = pods == 0;
    int64_t rss0 = 0;
    if (first) {
      state.PauseTiming();
      if (ResetPeakRss()) rss0 = StatusKb("VmRSS:");
      state.ResumeTiming();
    }
    const int64_t base = g_live.load();
    g_peak.store(base);
    const int64_t a0 = g_allocs.load();
    {
      auto r = Parse(text);
      if (!r.ok()) return state.SkipWithError(r.error().detail.c_str());
      if (pods == 0) {  // first iteration: count, and a digest to check variants agree
        pods = r->size();
        for (const auto& p : *r) containers += p.containers.size();
        digest = Digest(*r);
      }
      benchmark::DoNotOptimize(r);
    }
    peak = std::max(peak, g_peak.load() - base);
    if (first && rss0 > 0) {
      state.PauseTiming();
      rss_mb = static_cast<double>(StatusKb("VmHWM:") - rss0) / 1e3;
      state.ResumeTiming();
    }
    allocs = g_allocs.load() - a0;
  }
  state.counters["pods"] = static_cast<double>(pods);
  state.counters["containers"] = static_cast<double>(containers);
  state.counters["digest"] = static_cast<double>(digest % 1000000);
  state.counters["json_MB"] = static_cast<double>(text.size()) / 1e6;
  state.counters["peak_MB"] = static_cast<double>(peak) / 1e6;
  // Google Benchmark calls this function several times; later calls find the heap warm.
  static std::map<int64_t, double> first_rss;  // one per instantiation (variant), by size
  const double rss = first_rss.emplace(state.range(0), rss_mb).first->second;
  state.counters["peak_rss_MB"] = rss;
  state.counters["allocs"] = static_cast<double>(allocs);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

BENCHMARK(BM_Parse<ParsePodList>)
    ->Name("ParsePodList")
    ->Arg(110)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Parse<nl::ParsePodList>)
    ->Name("Nlohmann")
    ->Arg(110)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Parse<od::ParsePodList>)
    ->Name("SimdjsonOnDemand")
    ->Arg(110)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lookout

BENCHMARK_MAIN();
