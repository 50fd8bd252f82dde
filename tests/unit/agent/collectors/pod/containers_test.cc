#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"
#include "agent/config/config.h"
#include "agent/k8s/pod_list.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

class StaticPodIndex final : public PodIndex {
 public:
  explicit StaticPodIndex(std::shared_ptr<const PodSnapshot> s) : snap_(std::move(s)) {}
  std::shared_ptr<const PodSnapshot> Snapshot() const override { return snap_; }
  void RequestRefresh() override { ++refresh_requests; }
  std::atomic<int> refresh_requests{0};

 private:
  std::shared_ptr<const PodSnapshot> snap_;
};

std::shared_ptr<StaticPodIndex> IndexFor(const std::string& layout) {
  auto pods = ParsePodList(testing::ReadFixture("pods/" + layout + "/pods.json"));
  EXPECT_TRUE(pods.ok());
  return std::make_shared<StaticPodIndex>(std::make_shared<const PodSnapshot>(std::move(*pods)));
}

PodsOptions PodsFor(const std::string& cgroupfs) {
  PodsOptions p = DefaultConfig().pods;
  p.cgroupfs = cgroupfs;
  return p;
}

const MetricFamily* Fam(const testing::Collected& c, const std::string& name) {
  return c.Family(name);
}

std::string LabelOf(const Sample& s, const std::string& name) {
  for (const auto& l : s.labels) {
    if (l.name == name) return l.value;
  }
  return "<absent>";
}

TEST(ContainersCollector, LabelsOnlyWhatThePodListNames) {
  auto index = IndexFor("v2_systemd_containerd");
  auto c =
      NewContainersCollector(PodsFor(testing::FixturePath("pods/v2_systemd_containerd/cgroup")),
                             testing::FixtureNodeOptions(), index);
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  const MetricFamily* ws = Fam(r, "container_memory_working_set_bytes");
  ASSERT_NE(ws, nullptr);
  // 4 pods with cgroups (pod level) + 5 named containers; sandboxes and the unknown pod skipped.
  EXPECT_EQ(ws->samples.size(), 9u);
  for (const auto& s : ws->samples) {
    EXPECT_NE(LabelOf(s, "namespace"), "");
    EXPECT_NE(LabelOf(s, "pod"), "");
    const bool pod_level = LabelOf(s, "container").empty();
    EXPECT_EQ(pod_level, LabelOf(s, "image").empty());
    EXPECT_EQ(pod_level, LabelOf(s, "name").empty());
    EXPECT_TRUE(LabelOf(s, "id").starts_with("/kubepods.slice/"));
  }
  // The cgroup of a pod the index does not know asks for an early refresh.
  EXPECT_EQ(index->refresh_requests.load(), 1);
  // cpu="total" as the kubelet's cAdvisor reports it.
  EXPECT_EQ(LabelOf(Fam(r, "container_cpu_usage_seconds_total")->samples[0], "cpu"), "total");
  // CFS counters only where a quota is set: the BestEffort and kube-proxy pods have none.
  EXPECT_EQ(Fam(r, "container_cpu_cfs_throttled_periods_total")->samples.size(), 5u);
  EXPECT_EQ(Fam(r, "container_spec_cpu_quota")->samples.size(), 5u);
  EXPECT_EQ(Fam(r, "container_spec_cpu_period")->samples.size(), 9u);
  EXPECT_EQ(Fam(r, "container_pressure_cpu_waiting_seconds_total")->samples.size(), 9u);
}

TEST(ContainersCollector, ValuesForOneContainer) {
  auto index = IndexFor("v2_systemd_containerd");
  auto c =
      NewContainersCollector(PodsFor(testing::FixturePath("pods/v2_systemd_containerd/cgroup")),
                             testing::FixtureNodeOptions(), index);
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  const auto find = [&](const std::string& fam, const std::string& container) -> const Sample* {
    for (const auto& s : Fam(r, fam)->samples) {
      if (LabelOf(s, "container") == container && LabelOf(s, "device") != "/dev/dm-0") return &s;
    }
    return nullptr;
  };
  // "api" is seed 3 in generate.py.
  const Sample* usage = find("container_cpu_usage_seconds_total", "api");
  ASSERT_NE(usage, nullptr);
  EXPECT_DOUBLE_EQ(usage->value, 3.123456);
  EXPECT_EQ(LabelOf(*usage, "image"), "registry.example.com/payments/api:1.4.2");
  EXPECT_EQ(LabelOf(*usage, "namespace"), "payments");
  EXPECT_DOUBLE_EQ(find("container_cpu_cfs_throttled_periods_total", "api")->value, 30);
  EXPECT_DOUBLE_EQ(find("container_cpu_cfs_throttled_seconds_total", "api")->value, 0.75);
  EXPECT_DOUBLE_EQ(find("container_spec_cpu_quota", "api")->value, 50000);
  EXPECT_DOUBLE_EQ(find("container_spec_memory_limit_bytes", "api")->value, 268435456);
  // 256 shares -> weight 10 -> back to 237, as cAdvisor reports on cgroup v2.
  EXPECT_DOUBLE_EQ(find("container_spec_cpu_shares", "api")->value, 237);
  EXPECT_DOUBLE_EQ(find("container_memory_working_set_bytes", "api")->value, 83886080);
  EXPECT_DOUBLE_EQ(find("container_oom_events_total", "api")->value, 0);
  EXPECT_DOUBLE_EQ(find("container_fs_reads_bytes_total", "api")->value, 3.0 * 1048576);
  EXPECT_EQ(LabelOf(*find("container_fs_reads_bytes_total", "api"), "device"), "/dev/sda");
  EXPECT_DOUBLE_EQ(find("container_processes", "api")->value, 2);
  EXPECT_DOUBLE_EQ(find("container_threads", "api")->value, 6);
  // Unlimited memory (BestEffort) is 0, as cAdvisor's specMemoryValue makes it.
  EXPECT_DOUBLE_EQ(find("container_spec_memory_limit_bytes", "report")->value, 0);
}

// Across scrapes the collector keeps one directory descriptor per cgroup it reads (cgroup_stats.h),
// gives it back when the cgroup goes, and still sees a limit that changes.
TEST(ContainersCollector, KeepsADescriptorPerCgroupReadAndGivesItBackWhenTheCgroupGoes) {
  testing::TempDir t;
  fs::copy(testing::FixturePath("pods/v2_systemd_containerd/cgroup"), t.path(),
           fs::copy_options::recursive);
  std::string api_dir;  // "api" is seed 3 in generate.py
  for (const auto& e : fs::recursive_directory_iterator(t.path())) {
    if (e.path().filename() != "cpu.stat") continue;
    auto text = ReadFileLimited(e.path().string(), 1 << 16);
    if (text.ok() && text->starts_with("usage_usec 3123456\n")) {
      api_dir = e.path().parent_path().string();
    }
  }
  ASSERT_FALSE(api_dir.empty());
  auto c = NewContainersCollector(PodsFor(t.path()), testing::FixtureNodeOptions(),
                                  IndexFor("v2_systemd_containerd"));
  const size_t before = KeptFilesOpen();
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(KeptFilesOpen(), before + 9);  // 4 pods + 5 named containers, as read
  const auto limit_of_api = [&](const testing::Collected& got) -> std::optional<double> {
    for (const auto& s : Fam(got, "container_spec_memory_limit_bytes")->samples) {
      if (LabelOf(s, "container") == "api") return s.value;
    }
    return std::nullopt;
  };
  EXPECT_EQ(limit_of_api(r), 268435456);
  // An in-place resize writes memory.max: the next scrape reports it.
  { std::ofstream(api_dir + "/memory.max") << "536870912\n"; }
  r = testing::Run(*c);
  EXPECT_EQ(limit_of_api(r), 536870912);
  EXPECT_EQ(KeptFilesOpen(), before + 9);
  fs::remove_all(api_dir);
  r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(limit_of_api(r), std::nullopt);
  EXPECT_EQ(Fam(r, "container_memory_working_set_bytes")->samples.size(), 8u);
  EXPECT_EQ(KeptFilesOpen(), before + 8);
  // The whole kubepods tree gone: the scrape fails, and lets go of every descriptor.
  fs::remove_all(t.path() + "/kubepods.slice");
  EXPECT_EQ(testing::Run(*c).status.error().reason, "no_kubepods");
  EXPECT_EQ(KeptFilesOpen(), before);
  c.reset();
  EXPECT_EQ(KeptFilesOpen(), before);
}

TEST(ContainersCollector, ErrorsAreReasons) {
  auto index = IndexFor("v2_systemd_containerd");
  auto none = NewContainersCollector(PodsFor("/nonexistent"), testing::FixtureNodeOptions(), index);
  EXPECT_EQ(testing::Run(*none).status.error().reason, "no_cgroupfs");
  testing::TempDir t;
  t.Write("cgroup.controllers", "cpu memory\n");
  auto empty = NewContainersCollector(PodsFor(t.path()), testing::FixtureNodeOptions(), index);
  EXPECT_EQ(testing::Run(*empty).status.error().reason, "no_kubepods");
}

TEST(ContainersCollector, EmptyIndexMeansNoSeries) {
  auto index = std::make_shared<StaticPodIndex>(std::make_shared<const PodSnapshot>());
  auto c = NewContainersCollector(PodsFor(testing::FixturePath("pods/v1_systemd_docker/cgroup")),
                                  testing::FixtureNodeOptions(), index);
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.families.size(), 1u);  // no container series: only the count of unknown cgroups
  EXPECT_EQ(r.Value("lookout_pod_cgroups_unknown"), 5);
  EXPECT_EQ(index->refresh_requests.load(), 1);
}

TEST(PodInfoCollector, OneSeriesPerPod) {
  auto c = NewPodInfoCollector(IndexFor("v2_cgroupfs_crio"));
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.SeriesCount("lookout_pod_info"), 5u);
  EXPECT_EQ(r.Value("lookout_pod_info", {{"namespace", "monitoring"},
                                         {"pod", "lookout-8xk2q"},
                                         {"uid", "ab9c7dc6-c54f-22b3-f819-41b1d097859c"},
                                         {"node", "node-a"},
                                         {"pod_ip", "10.244.1.24"},
                                         {"host_ip", "10.0.0.11"},
                                         {"qos_class", "Guaranteed"}}),
            1);
}

// The pod_network collector on the v2/systemd/containerd pods with `proc` as /proc.
testing::Collected RunPodNetwork(const testing::TempDir& proc) {
  NodeOptions node = testing::FixtureNodeOptions();
  node.paths.procfs = proc.path();
  auto c =
      NewPodNetworkCollector(PodsFor(testing::FixturePath("pods/v2_systemd_containerd/cgroup")),
                             node, IndexFor("v2_systemd_containerd"));
  return testing::Run(*c);
}

TEST(PodNetworkCollector, ReadsThePodsNetNamespaceThroughProc) {
  // A fake /proc where the payments pod's sandbox PID (1000) has a net/dev.
  testing::TempDir proc;
  proc.Write("1000/net/dev",
             "Inter-|   Receive                                                |  Transmit\n"
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
             "packets errs drop fifo colls carrier compressed\n"
             "    lo:     100       1    0    0    0     0          0         0      100       1"
             "    0    0    0     0       0          0\n"
             "  eth0: 5000000    4000    1    2    0     0          0         0  3000000    3500"
             "    0    3    0     0       0          0\n");
  auto r = RunPodNetwork(proc);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.SeriesCount("container_network_receive_bytes_total"), 1u);  // lo ignored
  const Sample& s = Fam(r, "container_network_receive_bytes_total")->samples[0];
  EXPECT_EQ(LabelOf(s, "pod"), "payments-api-7d9f8b6c5-x2k4p");
  EXPECT_EQ(LabelOf(s, "interface"), "eth0");
  EXPECT_EQ(LabelOf(s, "container"), "");
  EXPECT_DOUBLE_EQ(s.value, 5000000);
  EXPECT_DOUBLE_EQ(Fam(r, "container_network_transmit_packets_dropped_total")->samples[0].value, 3);
}

TEST(PodNetworkCollector, ProcessesThatExitAreSkippedAndEveryInterfaceIsReported) {
  // Every listed process of the payments pod but the last has exited (no /proc/<pid>); the one
  // left shows two interfaces (a second network attached by Multus, say).
  testing::TempDir proc;
  proc.Write("1004/net/dev",
             "Inter-|   Receive                                                |  Transmit\n"
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
             "packets errs drop fifo colls carrier compressed\n"
             "  eth0:     700       7    0    0    0     0          0         0      300       3"
             "    0    0    0     0       0          0\n"
             "  net1:     900       9    0    1    0     0          0         0      200       2"
             "    0    0    0     0       0          0\n");
  auto r = RunPodNetwork(proc);
  ASSERT_TRUE(r.status.ok());
  const MetricFamily* rx = Fam(r, "container_network_receive_bytes_total");
  ASSERT_NE(rx, nullptr);
  ASSERT_EQ(rx->samples.size(), 2u);
  std::map<std::string, double> by_interface;
  for (const Sample& s : rx->samples) {
    EXPECT_EQ(LabelOf(s, "pod"), "payments-api-7d9f8b6c5-x2k4p");
    by_interface[LabelOf(s, "interface")] = s.value;
  }
  EXPECT_EQ(by_interface, (std::map<std::string, double>{{"eth0", 700}, {"net1", 900}}));
}

// A static pod in API-server mode: the API server lists its mirror pod under its own UID, with
// the kubelet's config hash in kubernetes.io/config.mirror; the cgroup is named after the hash
// (kubernetes #5730). The containers get their series, and no refresh is asked for.
TEST(ContainersCollector, AMirrorPodIsFoundByItsConfigHash) {
  const std::string hash = "7c1e0f6a2b9d4e3f8a5b6c7d8e9f0a1b";
  const std::string cid = "9b1f4e8d2c6a4b7f8e3d1c5a9b2e6f4d8c1a7e3b5f9d2c6a4e8b1f7d3c5a9e2b";
  testing::TempDir root;
  fs::copy(testing::FixturePath("pods/v2_systemd_containerd/cgroup"), root.path(),
           fs::copy_options::recursive);
  const std::string qos = root.path() + "/kubepods.slice/kubepods-burstable.slice/";
  const std::string kube_proxy =
      qos + "kubepods-burstable-pod14e75b96_2c02_b1a7_7bfa_82ac9935774b.slice";
  const std::string pod_dir = qos + "kubepods-burstable-pod" + hash + ".slice";
  fs::copy(kube_proxy, pod_dir, fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(pod_dir)) {
    if (e.is_directory()) fs::remove_all(e.path());
  }
  fs::copy(
      kube_proxy +
          "/cri-containerd-1c005349d6fb9776401c434ebd33f2ab9576d803c94b94d7dd10b5c085e8af0c.scope",
      pod_dir + "/cri-containerd-" + cid + ".scope", fs::copy_options::recursive);
  auto pods = ParsePodList(testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(pods.ok());
  auto mirror = ParsePodList(R"({"kind":"PodList","items":[{
    "metadata":{"name":"kube-apiserver-node-a","namespace":"kube-system",
      "uid":"d41c7f52-8a3e-4b1d-9c2f-6e5a7b8c9d0e",
      "annotations":{"kubernetes.io/config.mirror":")" +
                             hash + R"(",
                     "kubernetes.io/config.hash":")" +
                             hash + R"("}},
    "spec":{"nodeName":"node-a","containers":[{"name":"kube-apiserver","image":"registry.k8s.io/kube-apiserver:v1.31.1"}]},
    "status":{"phase":"Running","containerStatuses":[{"name":"kube-apiserver",
      "image":"registry.k8s.io/kube-apiserver:v1.31.1","containerID":"containerd://)" +
                             cid + R"("}]}}]})");
  ASSERT_TRUE(mirror.ok()) << mirror.error().detail;
  pods->push_back(mirror->front());
  auto index =
      std::make_shared<StaticPodIndex>(std::make_shared<const PodSnapshot>(std::move(*pods)));
  auto c = NewContainersCollector(PodsFor(root.path()), testing::FixtureNodeOptions(), index);
  auto r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  bool container = false, pod_level = false;
  for (const Sample& s : Fam(r, "container_memory_working_set_bytes")->samples) {
    if (LabelOf(s, "pod") != "kube-apiserver-node-a") continue;
    EXPECT_EQ(LabelOf(s, "namespace"), "kube-system");
    container = container || LabelOf(s, "container") == "kube-apiserver";
    pod_level = pod_level || LabelOf(s, "container").empty();
  }
  EXPECT_TRUE(container && pod_level);
  // Only the fixture's own unlisted pod cgroup is unknown (the mirror pod's is found).
  EXPECT_EQ(r.Value("lookout_pod_cgroups_unknown"), 1);
}

// An index whose snapshot a test replaces, as a refresh does.
class SwappablePodIndex final : public PodIndex {
 public:
  explicit SwappablePodIndex(std::shared_ptr<const PodSnapshot> s) : snap_(std::move(s)) {}
  std::shared_ptr<const PodSnapshot> Snapshot() const override { return snap_; }
  void RequestRefresh() override { ++refresh_requests; }
  void Refresh() { snap_ = std::make_shared<const PodSnapshot>(snap_->pods()); }
  int refresh_requests = 0;

 private:
  std::shared_ptr<const PodSnapshot> snap_;
};

// A pod cgroup the metadata never lists asks for one early refresh, not one per scrape (the
// API server was listed 7 times in 12 s); the count of such cgroups is a metric.
TEST(ContainersCollector, AnUnknownCgroupAsksForOneRefreshNotOnePerScrape) {
  auto pods = ParsePodList(testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(pods.ok());
  // The fixture tree has a pod cgroup that its PodList lacks.
  auto index = std::make_shared<SwappablePodIndex>(std::make_shared<const PodSnapshot>(*pods));
  auto c =
      NewContainersCollector(PodsFor(testing::FixturePath("pods/v2_systemd_containerd/cgroup")),
                             testing::FixtureNodeOptions(), index);
  auto r = testing::Run(*c);
  EXPECT_EQ(index->refresh_requests, 1);
  EXPECT_EQ(r.Value("lookout_pod_cgroups_unknown"), 1);
  index->Refresh();  // the refresh it asked for: still not listed
  for (int i = 0; i < 5; ++i) testing::Run(*c);
  index->Refresh();  // a regular refresh
  r = testing::Run(*c);
  EXPECT_EQ(index->refresh_requests, 1);
  EXPECT_EQ(r.Value("lookout_pod_cgroups_unknown"), 1);
}

}  // namespace
}  // namespace lookout
