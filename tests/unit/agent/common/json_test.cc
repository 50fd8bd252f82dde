#include "agent/common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace lookout::json {
namespace {

TEST(Json, ParsesDocumentAndKeepsIntegersExact) {
  auto v = Parse(R"( {"a": [1, -2.5e3, true, false, null], "big": 18446744073709551615,
                      "neg": -9223372036854775808, "s": "x\"y\\z\/\n\u00e9\ud83d\ude00"} )");
  ASSERT_TRUE(v.ok()) << v.error().detail;
  const auto& a = v->Find("a")->array();
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].AsInt64(), 1);
  EXPECT_DOUBLE_EQ(*a[1].AsDouble(), -2500);
  EXPECT_FALSE(a[1].AsInt64().has_value());  // not an integer
  EXPECT_TRUE(a[2].AsBool());
  EXPECT_TRUE(a[4].is_null());
  EXPECT_EQ(v->Find("big")->AsUint64(), UINT64_MAX);
  EXPECT_FALSE(v->Find("big")->AsInt64().has_value());  // overflow is not wrapped
  EXPECT_EQ(v->Find("neg")->AsInt64(), INT64_MIN);
  EXPECT_EQ(v->Find("s")->AsString(), "x\"y\\z/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(v->Find("missing"), nullptr);
  EXPECT_EQ(v->Find("a")->AsString(), "");  // wrong type reads as empty
}

TEST(Json, OtlpStyleIntegersInStrings) {
  auto v = Parse(R"({"t": "1700000000123456789", "x": "12a"})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("t")->AsUint64(), 1700000000123456789ull);
  EXPECT_FALSE(v->Find("x")->AsInt64().has_value());
}

TEST(Json, RejectsMalformedInputWithOffset) {
  for (const char* bad : {"",
                          "{",
                          "[1,]",
                          "{\"a\":}",
                          "{\"a\" 1}",
                          "01",
                          "1.",
                          "-",
                          "+1",
                          "tru",
                          "\"abc",
                          "\"\\x\"",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "\"a\x01\"",
                          "\"\xff\"",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          "[1] x",
                          "{\"a\":1,}",
                          "NaN",
                          "[\"\\u12\"]"}) {
    auto v = Parse(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.error().reason, "json");
      EXPECT_NE(v.error().detail.find("at byte"), std::string::npos);
    }
  }
}

TEST(Json, DepthIsBounded) {
  const std::string deep(100000, '[');  // would overflow the stack without the cap
  auto v = Parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().detail.find("nesting too deep"), std::string::npos);
  std::string ok_depth = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(Parse(ok_depth).ok());
  EXPECT_FALSE(Parse(ok_depth, ParseOptions{50}).ok());
}

TEST(Json, TruncationAtEveryByteFailsCleanly) {
  const std::string doc = R"({"kind":"PodList","items":[{"metadata":{"name":"a\u00e9"}}]})";
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(Parse(doc.substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(Parse(doc).ok());
}

TEST(Json, AppendQuotedRoundTrips) {
  std::string out;
  AppendQuoted(out, std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\"");
  auto v = Parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->AsString(), std::string("a\"b\\c\n\x01", 7));
}

}  // namespace
}  // namespace lookout::json
