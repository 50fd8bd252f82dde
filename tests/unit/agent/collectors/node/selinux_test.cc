#include "agent/collectors/node/selinux.h"

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseSelinuxConfigMode, TheFirstSelinuxLineDecides) {
  EXPECT_EQ(ParseSelinuxConfigMode("SELINUX=enforcing\n"), kSelinuxEnforcing);
  EXPECT_EQ(ParseSelinuxConfigMode("# SELINUX=enforcing\n SELINUX=\"permissive\" \n"),
            kSelinuxPermissive);
  EXPECT_EQ(ParseSelinuxConfigMode("SELINUX = enforcing\n"), kSelinuxDisabled);  // go-selinux 1.10
  EXPECT_EQ(ParseSelinuxConfigMode("SELINUXTYPE=targeted\nSELINUX=disabled\n"), kSelinuxDisabled);
  EXPECT_EQ(ParseSelinuxConfigMode("SELINUX=permissive\nSELINUX=enforcing\n"), kSelinuxPermissive);
  EXPECT_EQ(ParseSelinuxConfigMode("; SELINUX=enforcing\nSELINUX=Enforcing\n"), kSelinuxDisabled);
  EXPECT_EQ(ParseSelinuxConfigMode(""), kSelinuxDisabled);
  EXPECT_EQ(ParseSelinuxConfigMode(std::string(100000, '=')), kSelinuxDisabled);
}

TEST(ParseSelinuxEnforce, GoAtoi) {
  EXPECT_EQ(ParseSelinuxEnforce("1"), 1);
  EXPECT_EQ(ParseSelinuxEnforce("0"), 0);
  EXPECT_EQ(ParseSelinuxEnforce("+1"), 1);
  EXPECT_EQ(ParseSelinuxEnforce("--1"), -1);
  EXPECT_EQ(ParseSelinuxEnforce("+-1"), -1);
  EXPECT_EQ(ParseSelinuxEnforce("1\n"), -1);
  EXPECT_EQ(ParseSelinuxEnforce(""), -1);
  EXPECT_EQ(ParseSelinuxEnforce("x"), -1);
  EXPECT_EQ(ParseSelinuxEnforce("99999999999999999999"), -1);
}

double Value(const std::vector<MetricFamily>& out, std::string_view name) {
  const MetricFamily* f = testing::FindFamily(out, name);
  return f == nullptr ? -100 : f->samples.at(0).value;
}

TEST(SelinuxCollector, HostFilesUnderTheConfiguredPaths) {
  testing::CopiedSysfs t;
  t.cfg.paths.rootfs = testing::FixturePath("node_big/root");
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewSelinuxCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(Value(out, "node_selinux_enabled"), 1);
  EXPECT_EQ(Value(out, "node_selinux_config_mode"), kSelinuxPermissive);
  EXPECT_EQ(Value(out, "node_selinux_current_mode"), kSelinuxEnforcing);

  t.dir.Write("fs/selinux/enforce", "garbage");
  out.clear();
  ASSERT_TRUE(NewSelinuxCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(Value(out, "node_selinux_current_mode"), -1);

  // No selinuxfs: only node_selinux_enabled 0, as node_exporter.
  std::filesystem::remove_all(t.dir.path() + "/fs/selinux");
  out.clear();
  ASSERT_TRUE(NewSelinuxCollector(t.cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Value(out, "node_selinux_enabled"), 0);
}

TEST(SelinuxCollector, PolicyNotLoadedIsDisabled) {
  testing::CopiedSysfs t;
  testing::TempDir proc;
  proc.Write("self/attr/current", std::string("kernel\0", 7));
  t.cfg.paths.procfs = proc.path();
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewSelinuxCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(Value(out, "node_selinux_enabled"), 0);
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace lookout
