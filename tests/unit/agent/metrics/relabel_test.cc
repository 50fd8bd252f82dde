#include "lookout/metrics/relabel.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/common/config_error.h"
#include "agent/common/yaml_reader.h"

namespace lookout {
namespace {

Labels Set(std::initializer_list<Label> l) {
  Labels out(l);
  std::sort(out.begin(), out.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  return out;
}

Relabeler Make(std::vector<RelabelConfig> cs) {
  auto r = Relabeler::Make(std::move(cs));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
  return r.ok() ? std::move(r).value() : Relabeler{};
}

RelabelConfig Replace(std::vector<std::string> src, std::string regex, std::string target,
                      std::string replacement) {
  RelabelConfig c;
  c.source_labels = std::move(src);
  c.regex = std::move(regex);
  c.regex_set = true;
  c.target_label = std::move(target);
  c.replacement = std::move(replacement);
  return c;
}

// Apply, or "dropped".
std::string Applied(const Relabeler& r, Labels l) {
  if (!r.Apply(l)) return "dropped";
  std::string out;
  for (const auto& x : l) out += (out.empty() ? "" : ",") + x.name + "=" + x.value;
  return out;
}

const Labels kSeries = Set(
    {{"__name__", "http_requests_total"}, {"method", "GET"}, {"pod", "web-1"}, {"code", "200"}});

TEST(Relabel, ReplaceWithDefaultsCopiesJoinedSourceLabels) {
  RelabelConfig c;
  c.source_labels = {"pod", "method"};
  c.target_label = "key";
  EXPECT_EQ(Applied(Make({c}), kSeries),
            "__name__=http_requests_total,code=200,key=web-1;GET,method=GET,pod=web-1");
}

TEST(Relabel, ExpandsTemplatesAsGoRegexpDoes) {
  auto run = [](const std::string& replacement) {
    return Applied(Make({Replace({"pod"}, "(?P<app>[a-z]+)-([0-9]+)", "out", replacement)}),
                   Set({{"__name__", "m"}, {"pod", "web-1"}}));
  };
  EXPECT_EQ(run("$1"), "__name__=m,out=web,pod=web-1");
  EXPECT_EQ(run("${2}x"), "__name__=m,out=1x,pod=web-1");
  EXPECT_EQ(run("$2x"), "__name__=m,pod=web-1");  // the group named "2x": none, so ""
  EXPECT_EQ(run("${app}:$2"), "__name__=m,out=web:1,pod=web-1");
  EXPECT_EQ(run("$app"), "__name__=m,out=web,pod=web-1");
  EXPECT_EQ(run("$$1"), "__name__=m,out=$1,pod=web-1");
  EXPECT_EQ(run("a$"), "__name__=m,out=a$,pod=web-1");     // a lone $ is text
  EXPECT_EQ(run("${1"), "__name__=m,out=${1,pod=web-1");   // unclosed brace: text
  EXPECT_EQ(run("$01"), "__name__=m,pod=web-1");           // no leading zeros: a name
  EXPECT_EQ(run("$9"), "__name__=m,pod=web-1");            // no such group: ""
  EXPECT_EQ(run("$0"), "__name__=m,out=web-1,pod=web-1");  // the whole match
  // Go's names are letters (L) and digits (Nd): U+2160 (a letter number) ends "$1".
  EXPECT_EQ(run("$1\u2160"), "__name__=m,out=web\u2160,pod=web-1");
  EXPECT_EQ(run("$1\u00e9"), "__name__=m,pod=web-1");  // é is a letter: the group "1é"
}

TEST(Relabel, AnEmptyResultDeletesTargetLabelAsWritten) {
  // Prometheus 2.42: lb.Del(cfg.TargetLabel), the template itself: "${1}" deletes nothing.
  EXPECT_EQ(Applied(Make({Replace({"a"}, "(x)", "${1}", "$2")}),
                    Set({{"__name__", "m"}, {"a", "x"}, {"x", "v"}})),
            "__name__=m,a=x,x=v");
}

TEST(Relabel, ReplaceNeedsAWholeMatchAndATargetThatIsALabelName) {
  // Anchored: "web" does not match "web-1".
  EXPECT_EQ(Applied(Make({Replace({"pod"}, "web", "out", "x")}), kSeries),
            Applied(Relabeler{}, kSeries));
  // A target from the match: "$1" of "1-..." would be "1", no label name: nothing set.
  EXPECT_EQ(Applied(Make({Replace({"code"}, "(.*)", "$1", "x")}), kSeries),
            Applied(Relabeler{}, kSeries));
  EXPECT_EQ(Applied(Make({Replace({"method"}, "(.*)", "l_$1", "x")}), kSeries),
            "__name__=http_requests_total,code=200,l_GET=x,method=GET,pod=web-1");
  // An empty result deletes the target.
  EXPECT_EQ(Applied(Make({Replace({"nothing"}, "", "pod", "")}), kSeries),
            "__name__=http_requests_total,code=200,method=GET");
}

TEST(Relabel, KeepDropAndTheirEqualForms) {
  RelabelConfig keep;
  keep.action = RelabelAction::kKeep;
  keep.source_labels = {"__name__"};
  keep.regex = "http_.*";
  EXPECT_NE(Applied(Make({keep}), kSeries), "dropped");
  keep.regex = "http";
  EXPECT_EQ(Applied(Make({keep}), kSeries), "dropped");
  RelabelConfig drop = keep;
  drop.action = RelabelAction::kDrop;
  EXPECT_NE(Applied(Make({drop}), kSeries), "dropped");
  drop.regex = "http_requests_total";
  EXPECT_EQ(Applied(Make({drop}), kSeries), "dropped");

  RelabelConfig eq;
  eq.action = RelabelAction::kKeepEqual;
  eq.source_labels = {"method"};
  eq.target_label = "verb";
  EXPECT_EQ(Applied(Make({eq}), kSeries), "dropped");  // "GET" against "" (no verb)
  EXPECT_NE(Applied(Make({eq}), Set({{"__name__", "m"}, {"method", "GET"}, {"verb", "GET"}})),
            "dropped");
  eq.action = RelabelAction::kDropEqual;
  EXPECT_EQ(Applied(Make({eq}), Set({{"__name__", "m"}, {"method", "GET"}, {"verb", "GET"}})),
            "dropped");
  EXPECT_NE(Applied(Make({eq}), kSeries), "dropped");
}

TEST(Relabel, HashModIsPrometheusMd5OfTheLastEightBytes) {
  RelabelConfig c;
  c.action = RelabelAction::kHashMod;
  c.source_labels = {"pod", "method"};
  c.modulus = 1000003;
  c.target_label = "shard";
  // md5("web-1;GET")[8:16] as a big-endian uint64, mod 1000003 (Python's hashlib).
  EXPECT_EQ(Applied(Make({c}), kSeries),
            "__name__=http_requests_total,code=200,method=GET,pod=web-1,shard=87561");
  c.source_labels = {"absent"};
  c.modulus = 10;  // md5("") mod 10
  EXPECT_EQ(Applied(Make({c}), Set({{"__name__", "m"}})), "__name__=m,shard=8");
}

TEST(Relabel, LabelMapDropKeep) {
  RelabelConfig map;
  map.action = RelabelAction::kLabelMap;
  map.regex = "(po|co)(.*)";
  map.replacement = "k8s_$1$2";
  EXPECT_EQ(Applied(Make({map}), kSeries),
            "__name__=http_requests_total,code=200,k8s_code=200,k8s_pod=web-1,method=GET,"
            "pod=web-1");
  RelabelConfig ld;
  ld.action = RelabelAction::kLabelDrop;
  ld.regex = "po.|code";
  EXPECT_EQ(Applied(Make({ld}), kSeries), "__name__=http_requests_total,method=GET");
  RelabelConfig lk;
  lk.action = RelabelAction::kLabelKeep;
  lk.regex = "__name__|pod";
  EXPECT_EQ(Applied(Make({lk}), kSeries), "__name__=http_requests_total,pod=web-1");
  lk.regex = "nothing";
  EXPECT_EQ(Applied(Make({lk}), kSeries), "dropped");  // an empty set is dropped
}

TEST(Relabel, LowerAndUpperCaseMapRunes) {
  RelabelConfig c;
  c.action = RelabelAction::kLowercase;
  c.source_labels = {"v"};
  c.target_label = "out";
  EXPECT_EQ(Applied(Make({c}), Set({{"__name__", "m"}, {"v", "GET /Äpfel ΣΑ"}})),
            "__name__=m,out=get /äpfel σα,v=GET /Äpfel ΣΑ");
  c.action = RelabelAction::kUppercase;
  EXPECT_EQ(Applied(Make({c}), Set({{"__name__", "m"}, {"v", "post äö"}})),
            "__name__=m,out=POST ÄÖ,v=post äö");
  // The value of nothing is "": the target is removed.
  c.source_labels = {"absent"};
  EXPECT_EQ(Applied(Make({c}), Set({{"__name__", "m"}, {"out", "x"}})), "__name__=m");
}

TEST(Relabel, RulesRunInOrderOnTheLabelsTheEarlierOnesLeft) {
  RelabelConfig tmp = Replace({"pod"}, "([a-z]+)-.*", "__tmp_app", "$1");
  RelabelConfig app = Replace({"__tmp_app"}, "(.*)", "app", "$1");
  RelabelConfig rename = Replace({"__name__"}, "http_(.*)", "__name__", "web_$1");
  RelabelConfig drop_tmp;
  drop_tmp.action = RelabelAction::kLabelDrop;
  drop_tmp.regex = "__tmp.*";
  EXPECT_EQ(Applied(Make({tmp, app, rename, drop_tmp}), kSeries),
            "__name__=web_requests_total,app=web,code=200,method=GET,pod=web-1");
}

TEST(Relabel, RefusesWhatPrometheusRefuses) {
  auto error = [](RelabelConfig c) {
    auto r = Relabeler::Make({std::move(c)});
    return r.ok() ? std::string("accepted") : r.error().detail;
  };
  RelabelConfig hm;
  hm.action = RelabelAction::kHashMod;
  hm.target_label = "s";
  EXPECT_EQ(error(hm), "rule 0: relabel configuration for hashmod requires non-zero modulus");
  EXPECT_EQ(error(RelabelConfig{}),
            "rule 0: relabel configuration for replace action requires 'target_label' value");
  EXPECT_EQ(error(Replace({"a"}, "(.*)", "1abc", "x")),
            "rule 0: \"1abc\" is invalid 'target_label' for replace action");
  EXPECT_EQ(error(Replace({"a"}, "(.*)", "l_${1}", "x")), "accepted");
  EXPECT_NE(error(Replace({"a"}, "(unclosed", "t", "x")).find("error parsing regexp"),
            std::string::npos);
  EXPECT_EQ(error(Replace({"bad-name"}, "(.*)", "t", "x")),
            "rule 0: \"bad-name\" is not a valid label name");
  RelabelConfig ld;
  ld.action = RelabelAction::kLabelDrop;
  ld.regex = "x";
  ld.source_labels_set = true;
  EXPECT_EQ(error(ld), "rule 0: labeldrop action requires only 'regex', and no other fields");
  RelabelConfig eq;
  eq.action = RelabelAction::kKeepEqual;
  eq.target_label = "t";
  eq.regex_set = true;
  EXPECT_EQ(error(eq),
            "rule 0: keepequal action requires only 'source_labels' and `target_label`, and no "
            "other fields");
  RelabelConfig lm;
  lm.action = RelabelAction::kLabelMap;
  lm.replacement = "a-b";
  EXPECT_EQ(error(lm), "rule 0: \"a-b\" is invalid 'replacement' for labelmap action");
  RelabelConfig lc;
  lc.action = RelabelAction::kLowercase;
  lc.target_label = "$1";  // 2.42 checks the template pattern only
  EXPECT_EQ(error(lc), "accepted");
  lc.replacement = "";
  EXPECT_EQ(error(lc), "rule 0: 'replacement' can not be set for lowercase action");
  EXPECT_EQ(ParseRelabelAction("LabelMap"), RelabelAction::kLabelMap);
  EXPECT_EQ(ParseRelabelAction("rename"), std::nullopt);
}

std::string YamlError(const std::string& text) {
  const std::string file = "config.yaml";
  YAML::Node root = YAML::Load(text);
  YamlMapReader r(root, "", file);
  Relabeler out;
  try {
    r.RelabelConfigs("metric_relabel_configs", &out);
    r.Done();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted " + std::to_string(out.size());
}

TEST(Relabel, YamlErrorsSayFileLineColumnAndWhy) {
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- source_labels: [__name__]\n"
                      "  regex: go_.*\n"
                      "  action: Drop\n"
                      "- {action: labeldrop, regex: pod}\n"),
            "accepted 2");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- source_labels: [a]\n"
                      "  action: rename\n"),
            "config.yaml:3:11: metric_relabel_configs[0].action: expected a relabel action "
            "(replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, "
            "labelkeep, lowercase, uppercase), got \"rename\"");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- {action: keep}\n"
                      "- action: hashmod\n"
                      "  target_label: shard\n"),
            "config.yaml:3:3: metric_relabel_configs[1]: relabel configuration for hashmod "
            "requires non-zero modulus");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- regex: '(a'\n"
                      "  target_label: x\n")
                .substr(0, 60),
            "config.yaml:2:3: metric_relabel_configs[0]: error parsing re");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- {source_labels: a, target_label: b}\n"),
            "config.yaml:2:19: metric_relabel_configs[0].source_labels: expected a list of label "
            "names, got \"a\"");
  // Nulls read as Prometheus reads them: separator ~ is "" (not the default), so labeldrop
  // refuses it; source_labels ~ is not set, replacement ~ is "".
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- {action: labeldrop, regex: x, source_labels: ~, separator: ~}\n"),
            "config.yaml:2:3: metric_relabel_configs[0]: labeldrop action requires only "
            "'regex', and no other fields");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- {action: labeldrop, regex: x, source_labels: ~}\n"
                      "- {source_labels: [~, a], target_label: b, replacement: ~}\n"),
            "accepted 2");
  EXPECT_EQ(YamlError("metric_relabel_configs:\n"
                      "- {action: drop, sources: [a]}\n"),
            "config.yaml:2:18: metric_relabel_configs[0].sources: unknown key (expected one "
            "of: action modulus regex replacement separator source_labels target_label)");
}

}  // namespace
}  // namespace lookout
