// Go's path/filepath semantics; each expectation is Go's own result for the input.
#include "agent/common/go_path.h"

#include <filesystem>

#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(GoCleanPath, Lexical) {
  EXPECT_EQ(GoCleanPath(""), ".");
  EXPECT_EQ(GoCleanPath("/"), "/");
  EXPECT_EQ(GoCleanPath("a/b/"), "a/b");
  EXPECT_EQ(GoCleanPath("a//b/./c"), "a/b/c");
  EXPECT_EQ(GoCleanPath("a/b/../c"), "a/c");
  EXPECT_EQ(GoCleanPath("/../a"), "/a");
  EXPECT_EQ(GoCleanPath("../../a"), "../../a");
  EXPECT_EQ(GoCleanPath("a/../.."), "..");
  EXPECT_EQ(GoCleanPath("./"), ".");
  EXPECT_EQ(GoCleanPath("/a/b/.."), "/a");
}

TEST(GoJoinPath, CleansAndSkipsEmpty) {
  EXPECT_EQ(GoJoinPath("/var/lib/tf/", "x.prom"), "/var/lib/tf/x.prom");
  EXPECT_EQ(GoJoinPath("./tf", "x.prom"), "tf/x.prom");
  EXPECT_EQ(GoJoinPath("", "x.prom"), "x.prom");
  EXPECT_EQ(GoJoinPath("", ""), "");
}

TEST(GoPathMatch, Wildcards) {
  EXPECT_EQ(GoPathMatch("*.prom", "a.prom"), true);
  EXPECT_EQ(GoPathMatch("*.prom", ".a.prom"), true);  // no special leading dot
  EXPECT_EQ(GoPathMatch("*", "a/b"), false);
  EXPECT_EQ(GoPathMatch("a?c", "abc"), true);
  EXPECT_EQ(GoPathMatch("a?c", "a/c"), false);
  EXPECT_EQ(GoPathMatch("[a-c]x", "bx"), true);
  EXPECT_EQ(GoPathMatch("[^a-c]x", "bx"), false);
  EXPECT_EQ(GoPathMatch("\\*", "*"), true);
  EXPECT_EQ(GoPathMatch("a*b*c", "aXbYc"), true);
  EXPECT_EQ(GoPathMatch("a*b", "aXbY"), false);
  EXPECT_EQ(GoPathMatch("[é]", "é"), true);
  EXPECT_FALSE(GoPathMatch("[", "a").has_value());
  EXPECT_FALSE(GoPathMatch("a\\", "a").has_value());
  EXPECT_FALSE(GoPathMatch("[]a]", "a").has_value());
  EXPECT_FALSE(GoPathMatch("x*[", "y").has_value());  // checked even after a mismatch
}

TEST(GoGlob, DirectoriesSortedPerLevel) {
  testing::TempDir d;
  d.Write("b/x.prom", "");
  d.Write("a/x.prom", "");
  d.Write("a2/y", "");
  auto m = GoGlob(d.path() + "/a*");
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0], d.path() + "/a");
  EXPECT_EQ((*m)[1], d.path() + "/a2");
  m = GoGlob(d.path() + "/*/x.prom");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(GoGlob(d.path())->size(), 1u);  // no wildcard: itself, if it exists
  EXPECT_TRUE(GoGlob(d.path() + "/none")->empty());
  EXPECT_TRUE(GoGlob(d.path() + "/none/*")->empty());  // unreadable levels are skipped
  EXPECT_FALSE(GoGlob(d.path() + "/[").has_value());
  EXPECT_TRUE(GoGlob("")->empty());
}

}  // namespace
}  // namespace lookout
