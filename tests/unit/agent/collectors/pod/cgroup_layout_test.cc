#include "agent/collectors/pod/cgroup_layout.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(CgroupNames, PodUids) {
  EXPECT_EQ(PodUidFromCgroupName("pod1b2c56f1-ff15-4ab7-8ae8-7161cdfb59d4"),
            "1b2c56f1-ff15-4ab7-8ae8-7161cdfb59d4");
  EXPECT_EQ(
      PodUidFromCgroupName("kubepods-burstable-pod1b2c56f1_ff15_4ab7_8ae8_7161cdfb59d4.slice"),
      "1b2c56f1-ff15-4ab7-8ae8-7161cdfb59d4");
  EXPECT_EQ(PodUidFromCgroupName("kubelet-kubepods-pod6d0e1b52c2bf4f4c8d1e3f2a9b8c7d6e.slice"),
            "6d0e1b52c2bf4f4c8d1e3f2a9b8c7d6e");  // static pod: hash UID
  EXPECT_FALSE(PodUidFromCgroupName("kubepods-burstable.slice"));
  EXPECT_FALSE(PodUidFromCgroupName("podcast"));
  EXPECT_FALSE(PodUidFromCgroupName("pod../../etc"));
}

TEST(CgroupNames, ContainerIds) {
  const std::string id(64, 'a');
  EXPECT_EQ(ContainerIdFromCgroupName("cri-containerd-" + id + ".scope"), id);
  EXPECT_EQ(ContainerIdFromCgroupName("crio-" + id + ".scope"), id);
  EXPECT_EQ(ContainerIdFromCgroupName("crio-" + id), id);
  EXPECT_EQ(ContainerIdFromCgroupName("docker-" + id + ".scope"), id);
  EXPECT_EQ(ContainerIdFromCgroupName(id), id);
  EXPECT_FALSE(ContainerIdFromCgroupName("crio-conmon-" + id + ".scope"));
  EXPECT_FALSE(ContainerIdFromCgroupName("init.scope"));
  EXPECT_FALSE(ContainerIdFromCgroupName("cri-containerd-XYZ.scope"));
}

struct LayoutCase {
  const char* dir;
  bool v2;
  const char* kubepods;
};

class CgroupLayouts : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(CgroupLayouts, FindsEveryPodAndContainer) {
  const auto& c = GetParam();
  auto layout = DetectCgroupLayout(testing::FixturePath(std::string("pods/") + c.dir + "/cgroup"));
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->v2, c.v2);
  if (!c.v2) {
    EXPECT_NE(layout->cpuacct.find("cpu"), std::string::npos);
    EXPECT_FALSE(layout->blkio.empty());
    EXPECT_FALSE(layout->pids.empty());
  }
  const auto kubepods = FindKubepodsCgroups(*layout, {});
  ASSERT_EQ(kubepods, std::vector<std::string>{c.kubepods});
  auto pods = ListPodCgroups(*layout, kubepods);
  // 4 running pods + 1 pod the PodList does not know; system.slice is not a pod.
  ASSERT_EQ(pods.size(), 5u);
  size_t containers = 0;
  for (const auto& p : pods) {
    EXPECT_TRUE(p.rel.starts_with(c.kubepods)) << p.rel;
    for (const auto& ct : p.containers) {
      EXPECT_TRUE(ct.rel.starts_with(p.rel + "/")) << ct.rel;
      EXPECT_EQ(ct.id.size(), 64u);
    }
    containers += p.containers.size();
  }
  // 5 app containers + 4 sandboxes; CRI-O's conmon cgroups are not containers.
  EXPECT_EQ(containers, 9u);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CgroupLayouts,
    ::testing::Values(LayoutCase{"v2_systemd_containerd", true, "/kubepods.slice"},
                      LayoutCase{"v2_cgroupfs_crio", true, "/kubepods"},
                      LayoutCase{"v1_cgroupfs_containerd", false, "/kubepods"},
                      LayoutCase{"v1_systemd_docker", false, "/kubepods.slice"}));

TEST(CgroupLayout, NoCgroupfs) {
  testing::TempDir t;
  EXPECT_EQ(DetectCgroupLayout(t.path()).error().reason, "no_cgroupfs");
  EXPECT_EQ(DetectCgroupLayout("/nonexistent").error().reason, "no_cgroupfs");
}

TEST(CgroupLayout, ConfiguredKubepodsPath) {
  auto layout = DetectCgroupLayout(testing::FixturePath("pods/v2_cgroupfs_crio/cgroup"));
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(FindKubepodsCgroups(*layout, {"kubepods"}), std::vector<std::string>{"/kubepods"});
  EXPECT_TRUE(FindKubepodsCgroups(*layout, {"/elsewhere"}).empty());
}

}  // namespace
}  // namespace lookout
