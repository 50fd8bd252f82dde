// The option tables are the one place an option is declared: the embedded default config and
// the README's configuration reference must say what they say.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agent/config/config.h"

namespace lookout {
namespace {

YAML::Node At(const YAML::Node& root, const std::string& dotted_key) {
  // reset(), not operator=: assigning a yaml-cpp Node overwrites the node it refers to.
  YAML::Node node;
  node.reset(root);
  std::stringstream keys(dotted_key);
  std::string part;
  while (std::getline(keys, part, '.')) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& parent = node;
    YAML::Node child = static_cast<const YAML::Node&>(parent)[part];
    node.reset(child);
  }
  return node;
}

std::string Normalized(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

TEST(ConfigReference, EveryOptionHasKeyDefaultAndDoc) {
  std::set<std::string> keys;
  for (const auto& o : ConfigReference()) {
    EXPECT_TRUE(keys.insert(o.key).second) << "declared twice: " << o.key;
    EXPECT_FALSE(o.doc.empty()) << o.key;
  }
  EXPECT_GT(keys.size(), 100u);
}

TEST(ConfigReference, EmbeddedDefaultSaysWhatTheTablesSay) {
  const YAML::Node root = YAML::Load(EmbeddedDefaultConfigYaml());
  for (const auto& o : ConfigReference()) {
    const YAML::Node v = At(root, o.key);
    ASSERT_TRUE(v.IsDefined()) << o.key << " is missing from default_config.yaml";
    if (v.IsScalar()) {
      EXPECT_EQ(v.Scalar(), o.default_value) << o.key;
    } else {
      EXPECT_EQ(Normalized(v), Normalized(YAML::Load(o.default_value))) << o.key;
    }
  }
}

// Each row accepts its own default through its own reader (a default outside the row's range or
// of the wrong type would throw). That the default equals the embedded config's value is
// EmbeddedDefaultSaysWhatTheTablesSay's job.
TEST(ConfigReference, EveryRowAcceptsItsOwnDefault) {
  for (const auto& o : ConfigReference()) {
    // Build "a:\n  b:\n    c: <default>" one key at a time and parse it over the defaults.
    std::stringstream keys(o.key);
    std::string part, indent;
    std::string doc;
    std::vector<std::string> parts;
    while (std::getline(keys, part, '.')) parts.push_back(part);
    for (size_t i = 0; i < parts.size(); ++i) {
      doc += indent + parts[i] + ":";
      if (i + 1 < parts.size()) {
        doc += "\n";
        indent += "  ";
      }
    }
    YAML::Node value = YAML::Load(o.default_value);
    if (value.IsScalar() || value.IsNull()) {
      YAML::Emitter e;
      e << YAML::DoubleQuoted << o.default_value;
      doc += std::string(" ") + e.c_str() + "\n";
    } else {
      doc += " " + o.default_value + "\n";
    }
    EXPECT_NO_THROW(ParseConfig(doc, "row " + o.key)) << doc;
  }
}

TEST(ConfigReference, ReadmeTableIsGenerated) {
  std::ifstream in(LOOKOUT_FIXTURES "/../../README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const std::string begin =
      "<!-- config-reference:begin (generated: lookout --config.reference) -->\n";
  const std::string end = "<!-- config-reference:end -->";
  const size_t b = readme.find(begin);
  const size_t e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md lacks the config-reference:begin marker";
  ASSERT_NE(e, std::string::npos) << "README.md lacks the config-reference:end marker";
  EXPECT_EQ(readme.substr(b + begin.size(), e - b - begin.size()), ConfigReferenceMarkdown())
      << "README's configuration reference is stale: run scripts/gen-config-reference.sh";
}

}  // namespace
}  // namespace lookout
