#include "agent/collectors/node/entropy.h"

#include <filesystem>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ParseKernelRandomValue, GoTrimSpaceThenBaseTen) {
  EXPECT_EQ(*ParseKernelRandomValue("256\n"), 256u);
  EXPECT_EQ(*ParseKernelRandomValue(" \t4096 \n"), 4096u);
  EXPECT_FALSE(ParseKernelRandomValue("").ok());
  EXPECT_FALSE(ParseKernelRandomValue("-1\n").ok());
  EXPECT_FALSE(ParseKernelRandomValue("+1\n").ok());
  EXPECT_FALSE(ParseKernelRandomValue("0x10\n").ok());
  EXPECT_FALSE(ParseKernelRandomValue("1 2\n").ok());
  EXPECT_FALSE(ParseKernelRandomValue("18446744073709551616\n").ok());
}

TEST(EntropyCollector, OtherFilesOfTheDirectoryCanFailIt) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  fs::copy(testing::FixturePath("node/proc"), dir.path(), fs::copy_options::recursive);
  NodeOptions cfg = testing::FixtureNodeOptions();
  cfg.paths.procfs = dir.path();
  // A new collector for each state: it keeps its files open, and a deleted fixture file would
  // still read through the open descriptor (kernel files are never deleted).
  auto collect = [&cfg](std::vector<MetricFamily>& out) {
    return NewEntropyCollector(cfg)->Collect(out).ok();
  };
  std::vector<MetricFamily> out;
  ASSERT_TRUE(collect(out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].samples[0].value, 256);
  // procfs reads urandom_min_reseed_secs too, and fails on it.
  dir.Write("sys/kernel/random/urandom_min_reseed_secs", "x\n");
  out.clear();
  EXPECT_FALSE(collect(out));
  // A missing extra file is fine; a missing poolsize is not.
  fs::remove(fs::path(dir.path()) / "sys/kernel/random/urandom_min_reseed_secs");
  out.clear();
  EXPECT_TRUE(collect(out));
  fs::remove(fs::path(dir.path()) / "sys/kernel/random/poolsize");
  out.clear();
  EXPECT_FALSE(collect(out));
  // One collector across scrapes: a file that appears later is read then (a /proc mounted late).
  auto c = NewEntropyCollector(cfg);
  out.clear();
  EXPECT_FALSE(c->Collect(out).ok());
  dir.Write("sys/kernel/random/poolsize", "256\n");
  out.clear();
  EXPECT_TRUE(c->Collect(out).ok());
}

}  // namespace
}  // namespace lookout
