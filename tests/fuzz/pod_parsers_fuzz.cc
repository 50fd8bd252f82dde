// Fuzzes the parsers the pod collectors feed with untrusted bytes: the kubelet's /pods JSON
// (through simdjson, as agent/common/json.h sets it up) and every cgroup file parser. The first
// byte picks the parser. They must return a value or an error, never crash, hang or read out of
// bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/collectors/pod/cgroup_layout.h"
#include "agent/collectors/pod/cgroup_stats.h"
#include "agent/common/json.h"
#include "agent/k8s/pod_list.h"
#include "lookout/k8s/pod_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace lookout;
  switch (data[0] % 8) {
    case 0: {
      auto pods = ParsePodList(in);
      if (pods.ok()) PodSnapshot snap(std::move(pods.value()));  // index building too
      break;
    }
    case 1: {
      simdjson::dom::parser parser;
      auto v = json::Parse(parser, in);
      if (v.ok()) {
        (void)json::Int64(*v);
        (void)json::Uint64(*v);
        (void)json::Str(*v);
      }
      break;
    }
    case 2: {
      uint64_t sum = 0;
      ForEachKeyValue(in, [&](std::string_view, uint64_t v) { sum += v; });
      (void)sum;
      break;
    }
    case 3:
      (void)ParseCpuMax(in);
      (void)ParseCgroupValue(in);
      break;
    case 4:
      (void)ParseIoStat(in);
      break;
    case 5: {
      std::vector<IoDeviceStat> d;
      ParseBlkio(in, true, d);
      ParseBlkio(in, false, d);
      break;
    }
    case 6:
      (void)ParsePsi(in);
      (void)CountLines(in);
      break;
    case 7:
      (void)PodUidFromCgroupName(in);
      (void)ContainerIdFromCgroupName(in);
      break;
  }
  return 0;
}
