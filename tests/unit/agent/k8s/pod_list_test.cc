#include "agent/k8s/pod_list.h"

#include <gtest/gtest.h>

#include "lookout/k8s/pod_index.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(PodList, ParsesTheKubeletFixture) {
  auto pods = ParsePodList(testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(pods.ok()) << pods.error().detail;
  ASSERT_EQ(pods->size(), 5u);
  const Pod& p = (*pods)[0];
  EXPECT_EQ(p.name, "payments-api-7d9f8b6c5-x2k4p");
  EXPECT_EQ(p.namespace_name, "payments");
  EXPECT_EQ(p.uid, "e9f975a2-2299-5fb5-75a8-f1621ea8b972");
  EXPECT_EQ(p.node_name, "node-a");
  EXPECT_EQ(p.qos_class, "Burstable");
  EXPECT_EQ(p.pod_ip, "10.244.1.23");
  EXPECT_EQ(p.host_ip, "10.0.0.11");
  EXPECT_EQ(p.annotations.at("prometheus.io/scrape"), "true");
  EXPECT_EQ(p.annotations.at("prometheus.io/port"), "8080");
  ASSERT_EQ(p.containers.size(), 3u);  // init container first
  EXPECT_TRUE(p.containers[0].init);
  EXPECT_EQ(p.containers[0].name, "migrate");
  EXPECT_EQ(p.containers[1].name, "api");
  EXPECT_EQ(p.containers[1].runtime, "containerd");
  EXPECT_EQ(p.containers[1].id.size(), 64u);
  EXPECT_EQ(p.containers[1].image, "registry.example.com/payments/api:1.4.2");
  ASSERT_EQ(p.containers[1].ports.size(), 1u);
  EXPECT_EQ(p.containers[1].ports[0].port, 8080);
  EXPECT_TRUE((*pods)[3].host_network);
  const Pod& pending = (*pods)[4];
  EXPECT_EQ(pending.phase, "Pending");
  EXPECT_TRUE(pending.pod_ip.empty());
  EXPECT_TRUE(pending.containers[0].id.empty());  // no status yet
}

TEST(PodList, RuntimesFromContainerIds) {
  auto crio = ParsePodList(testing::ReadFixture("pods/v2_cgroupfs_crio/pods.json"));
  auto docker = ParsePodList(testing::ReadFixture("pods/v1_systemd_docker/pods.json"));
  ASSERT_TRUE(crio.ok() && docker.ok());
  EXPECT_EQ((*crio)[0].containers[1].runtime, "cri-o");
  EXPECT_EQ((*docker)[0].containers[1].runtime, "docker");
  EXPECT_EQ(SplitContainerId("containerd://abc").second, "abc");
  EXPECT_EQ(SplitContainerId("abc").first, "");
}

TEST(PodList, EmptyAndNullItems) {
  EXPECT_TRUE(ParsePodList(R"({"kind":"PodList","apiVersion":"v1","metadata":{}})")->empty());
  EXPECT_TRUE(ParsePodList(R"({"kind":"PodList","items":null})")->empty());
}

TEST(PodList, BadInputIsAnErrorNotACrash) {
  EXPECT_EQ(ParsePodList("not json").error().reason, "json");
  EXPECT_EQ(ParsePodList("[]").error().reason, "format");
  EXPECT_EQ(ParsePodList(R"({"kind":"Status","status":"Failure"})").error().reason, "format");
  EXPECT_EQ(ParsePodList(R"({"items":{}})").error().reason, "format");
  // Wrong types inside items degrade to empty fields; pods without identity are skipped.
  auto odd = ParsePodList(
      R"({"items":[{"metadata":{"name":1}},{"metadata":{"name":"a","namespace":"n","uid":"u1"},
          "spec":{"containers":[{"name":"c","ports":[{"containerPort":99999},{"containerPort":"x"}]}]},
          "status":{"podIPs":"nope","containerStatuses":[{"name":"c","containerID":7}]}}]})");
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_TRUE((*odd)[0].containers[0].ports.empty());
  EXPECT_TRUE((*odd)[0].containers[0].id.empty());
}

TEST(PodSnapshot, Lookups) {
  auto pods = ParsePodList(testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(pods.ok());
  const std::string api_id = (*pods)[0].containers[1].id;
  PodSnapshot snap(std::move(pods.value()));
  EXPECT_EQ(snap.FindByUid("e9f975a2-2299-5fb5-75a8-f1621ea8b972")->name,
            "payments-api-7d9f8b6c5-x2k4p");
  EXPECT_EQ(snap.FindByIp("10.244.1.24")->name, "lookout-8xk2q");
  EXPECT_EQ(snap.FindByIp("10.0.0.11"), nullptr);  // host-network pods are not IP-addressable
  auto ref = snap.FindContainer(api_id);
  ASSERT_NE(ref.container, nullptr);
  EXPECT_EQ(ref.container->name, "api");
  EXPECT_EQ(snap.FindContainer("nope").pod, nullptr);
}

}  // namespace
}  // namespace lookout
