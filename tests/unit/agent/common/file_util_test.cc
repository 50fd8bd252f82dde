#include "agent/common/file_util.h"

#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(ReadFileLimited, LimitsAndErrors) {
  testing::TempDir d;
  d.Write("f", "hello\n");
  EXPECT_EQ(*ReadFileLimited(d.path() + "/f", 100), "hello\n");
  EXPECT_EQ(ReadFileLimited(d.path() + "/f", 3).error().reason, "too_large");
  EXPECT_EQ(ReadFileLimited(d.path() + "/missing", 100).error().reason, "open");
  EXPECT_EQ(ReadFileLimited(d.path(), 100).error().reason, "read");  // a directory
}

TEST(CachedFile, SeesNewContentAndReopensReplacedFiles) {
  testing::TempDir d;
  d.Write("f", "one");
  CachedFile f(d.path() + "/f");
  EXPECT_EQ(*f.Read(100), "one");
  d.Write("f", "two, longer");  // rewritten in place
  EXPECT_EQ(*f.Read(100), "two, longer");
  EXPECT_EQ(f.Read(5).error().reason, "too_large");
  EXPECT_EQ(*f.Read(100), "two, longer");  // still usable after an error

  CachedFile missing(d.path() + "/later");
  EXPECT_EQ(missing.Read(100).error().reason, "open");
  d.Write("later", "now here");
  EXPECT_EQ(*missing.Read(100), "now here");  // opened once it exists

  // Real procfs: regenerated on each read from offset 0.
  CachedFile uptime("/proc/uptime");
  const std::string a = *uptime.Read(4096);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(*uptime.Read(4096), a);
}

TEST(SplitAndParse, Basics) {
  std::vector<std::string_view> f;
  SplitFields("  a\tbb  ccc ", f);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[2], "ccc");
  EXPECT_EQ(*ParseU64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616").has_value());  // overflow is an error
  EXPECT_FALSE(ParseU64("-1").has_value());
  EXPECT_EQ(*ParseI64("-1"), -1);
  EXPECT_FALSE(ParseDouble("1.5x").has_value());
  EXPECT_EQ(TrimSpace("  x \n"), "x");
}

}  // namespace
}  // namespace lookout
