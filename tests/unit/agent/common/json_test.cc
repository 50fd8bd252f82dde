// The guarantees agent/common/json.h gives callers on untrusted input (simdjson DOM underneath).
#include "agent/common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace lookout::json {
namespace {

TEST(Json, ParsesDocumentAndKeepsIntegersExact) {
  simdjson::dom::parser p;
  auto v = Parse(p, R"( {"a": [1, -2.5e3, true, false, null], "big": 18446744073709551615,
                      "neg": -9223372036854775808, "s": "x\"y\\z\/\n\u00e9\ud83d\ude00"} )");
  ASSERT_TRUE(v.ok()) << v.error().detail;
  const Element root = *v;
  simdjson::dom::array a;
  ASSERT_EQ(root["a"].get_array().get(a), simdjson::SUCCESS);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(Int64(a.at(0)), 1);
  double d = 0;
  ASSERT_EQ(a.at(1).get_double().get(d), simdjson::SUCCESS);
  EXPECT_DOUBLE_EQ(d, -2500);
  EXPECT_FALSE(Int64(a.at(1)).has_value());  // not an integer
  bool b = false;
  EXPECT_EQ(a.at(2).get_bool().get(b), simdjson::SUCCESS);
  EXPECT_TRUE(b);
  EXPECT_TRUE(a.at(4).is_null());
  EXPECT_EQ(Uint64(root["big"]), UINT64_MAX);
  EXPECT_FALSE(Int64(root["big"]).has_value());  // overflow is not wrapped
  EXPECT_EQ(Int64(root["neg"]), INT64_MIN);
  EXPECT_FALSE(Uint64(root["neg"]).has_value());
  EXPECT_EQ(Str(root["s"]), "x\"y\\z/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(Str(root["missing"]), "");  // missing reads as empty
  EXPECT_EQ(Str(root["a"]), "");        // wrong type reads as empty
  EXPECT_EQ(Str(root["a"]["b"]["c"]), "");
  EXPECT_FALSE(Int64(root["missing"]).has_value());
}

TEST(Json, OtlpStyleIntegersInStrings) {
  simdjson::dom::parser p;
  auto v = Parse(p, R"({"t": "1700000000123456789", "u": "18446744073709551615", "x": "12a",
                        "plus": "+1", "e": ""})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Uint64((*v)["t"]), 1700000000123456789ull);
  EXPECT_EQ(Int64((*v)["t"]), 1700000000123456789ll);
  EXPECT_EQ(Uint64((*v)["u"]), UINT64_MAX);
  EXPECT_FALSE(Int64((*v)["u"]).has_value());
  EXPECT_FALSE(Int64((*v)["x"]).has_value());
  EXPECT_FALSE(Int64((*v)["plus"]).has_value());
  EXPECT_FALSE(Int64((*v)["e"]).has_value());
}

TEST(Json, RejectsMalformedInput) {
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
                          "[\"\\ud800x\"]",
                          "\"a\x01\"",
                          "\"\xff\"",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          "[1] x",
                          "{\"a\":1,}",
                          "NaN",
                          "[\"\\u12\"]",
                          "{\"a\":[1,2,3],\"b\":[1,]}"}) {
    simdjson::dom::parser p;
    auto v = Parse(p, bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.error().reason, "json");
      EXPECT_FALSE(v.error().detail.empty());
    }
  }
}

// An integer literal beyond 64 bits is a double, as JSON and the proto3 JSON mapping read it (a
// JavaScript OTLP/JSON exporter writes doubles from 2^64 up to 1e21 without an exponent);
// simdjson 3.0 refuses it, so json::Parse widens such literals and parses again. Integers that
// fit stay exact, strings that look like big numbers are untouched.
TEST(Json, IntegersBeyond64BitsAreDoubles) {
  simdjson::dom::parser p;
  auto v = Parse(p, R"({"a":18446744073709551616,"b":-9223372036854775809,"c":20000000000000000000,
                        "s":"99999999999999999999999","n":9223372036854775807,"u":18446744073709551615,
                        "e":[1,-2,3e2]})");
  ASSERT_TRUE(v.ok()) << v.error().detail;
  double d = 0;
  EXPECT_EQ((*v)["a"].get(d), simdjson::SUCCESS);
  EXPECT_EQ(d, 18446744073709551616.0);
  EXPECT_EQ((*v)["b"].get(d), simdjson::SUCCESS);
  EXPECT_EQ(d, -9223372036854775809.0);
  EXPECT_EQ((*v)["c"].get(d), simdjson::SUCCESS);
  EXPECT_EQ(d, 2e19);
  EXPECT_FALSE(Int64((*v)["a"]).has_value()) << "not an exact integer";
  EXPECT_EQ(Str((*v)["s"]), "99999999999999999999999");
  EXPECT_EQ(Int64((*v)["n"]), INT64_MAX);
  EXPECT_EQ(Uint64((*v)["u"]), UINT64_MAX);
  EXPECT_EQ(Int64((*v)["e"].at(1)), -2);
  // Still errors: a number beyond double's range, and bad syntax around a big literal.
  EXPECT_FALSE(Parse(p, "[1e400]").ok());
  EXPECT_FALSE(Parse(p, "[18446744073709551616,]").ok());
  EXPECT_FALSE(Parse(p, "[018446744073709551616]").ok());
  EXPECT_FALSE(Parse(p, R"(["\"18446744073709551616])").ok());
}

TEST(Json, DepthIsBounded) {
  simdjson::dom::parser p;
  const std::string deep(100000, '[');  // would overflow a recursive parser's stack
  auto v = Parse(p, deep);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().reason, "json");
  const std::string deep_closed = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(Parse(p, deep_closed).ok());
  const std::string ok_depth = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(Parse(p, ok_depth).ok());
  EXPECT_FALSE(Parse(p, ok_depth, ParseOptions{50}).ok());
  const std::string objects = "{\"a\":" + std::string(50, '[') + std::string(50, ']') + "}";
  EXPECT_TRUE(Parse(p, objects, ParseOptions{51}).ok());
  EXPECT_FALSE(Parse(p, objects, ParseOptions{50}).ok());
}

TEST(Json, TruncationAtEveryByteFailsCleanly) {
  const std::string doc = R"({"kind":"PodList","items":[{"metadata":{"name":"a\u00e9"}}]})";
  simdjson::dom::parser p;
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(Parse(p, doc.substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(Parse(p, doc).ok());
}

TEST(Json, ParserIsReusable) {
  simdjson::dom::parser p;
  const std::string big = "[\"" + std::string(1 << 20, 'x') + "\"]";
  ASSERT_TRUE(Parse(p, big).ok());
  EXPECT_FALSE(Parse(p, "[").ok());
  auto v = Parse(p, "{\"k\":\"v\"}");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Str((*v)["k"]), "v");
}

TEST(Json, AppendQuotedRoundTrips) {
  std::string out;
  AppendQuoted(out, std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\"");
  simdjson::dom::parser p;
  auto v = Parse(p, out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Str(*v), std::string("a\"b\\c\n\x01", 7));
}

}  // namespace
}  // namespace lookout::json
