#include "agent/config/config.h"

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "agent/common/file_util.h"
#include "agent/common/yaml_reader.h"
#include "agent/slo/spec_parser.h"

namespace lookout {
namespace {

// One top-level section: its key, its table and where it goes in Config. The order is the
// default config's and the README's.
template <class O>
struct Section {
  std::string_view key;
  const OptionTable<O>& (*table)();
  O Config::*member;
};

// Calls `fn(section)` for each section, in order.
template <class Fn>
void ForEachSection(Fn&& fn) {
  fn(Section<ServerOptions>{"server", ServerOptionTable, &Config::server});
  fn(Section<LogOptions>{"log", LogOptionTable, &Config::log});
  fn(Section<NodeOptions>{"node", NodeOptionTable, &Config::node});
  fn(Section<KubernetesOptions>{"kubernetes", KubernetesOptionTable, &Config::kubernetes});
  fn(Section<PodsOptions>{"pods", PodsOptionTable, &Config::pods});
  fn(Section<AppsOptions>{"apps", AppsOptionTable, &Config::apps});
  fn(Section<OtlpOptions>{"otlp", OtlpOptionTable, &Config::otlp});
  fn(Section<SloOptions>{"slo", SloOptionTable, &Config::slo});
  fn(Section<TracesOptions>{"traces", TracesOptionTable, &Config::traces});
  fn(Section<RemoteWriteOptions>{"remote_write", RemoteWriteOptionTable, &Config::remote_write});
}

void Apply(const std::string& yaml_text, const std::string& source_name, Config& cfg) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(YamlWhere(source_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  YamlMapReader top(root, "", source_name);
  ForEachSection([&](const auto& section) {
    YAML::Node n = top.Get(section.key);
    if (!n.IsDefined()) return;
    YamlMapReader r(n, std::string(section.key), source_name);
    ReadOptions(section.table(), r, source_name, cfg.*section.member);
  });
  top.Done();
}

}  // namespace

Config DefaultConfig() {
  static const Config kDefault = [] {
    Config c;
    Apply(EmbeddedDefaultConfigYaml(), "<embedded default>", c);
    c.source_name = "<embedded default>";
    return c;
  }();
  return kDefault;
}

Config ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  Config c = DefaultConfig();
  Apply(yaml_text, source_name, c);
  c.source_name = source_name;
  if (c.slo.enabled && !c.slo.specs.empty()) {
    c.slo.slos = slo::LoadSloSpecs(c.slo.specs);
    for (const auto& spec : c.slo.slos) {
      for (const SloDuration w : spec.Windows()) {
        if (w.count() % c.slo.tick.count() != 0) {
          throw ConfigError(spec.source + ": SLO " + spec.name + ": window " +
                            FormatSloDuration(w) + " is not a whole number of slo.tick (" +
                            FormatSloDuration(c.slo.tick) + ")");
        }
      }
      if (c.slo.payments.enabled && c.slo.payments.availability_slo &&
          spec.name == c.slo.payments.availability_name) {
        throw ConfigError(spec.source + ": SLO name \"" + spec.name +
                          "\" is taken by slo.payments.availability_slo");
      }
    }
  }
  return c;
}

Config LoadConfigFile(const std::string& path) {
  constexpr size_t kMaxConfigBytes = size_t{16} << 20;
  auto text = ReadFileLimited(path, kMaxConfigBytes);
  if (!text.ok()) throw ConfigError(path + ": cannot read config: " + text.error().detail);
  return ParseConfig(*text, path);
}

std::vector<OptionDoc> ConfigReference() {
  std::vector<OptionDoc> out;
  ForEachSection([&](const auto& section) { AppendOptionDocs(section.key, section.table(), out); });
  return out;
}

namespace {

// Markdown table cells: `|` would end the cell, even inside backticks.
std::string Cell(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string Code(std::string_view s) { return s.empty() ? "`\"\"`" : "`" + Cell(s) + "`"; }

}  // namespace

std::string ConfigReferenceMarkdown() {
  std::string out = "| key | default | range | meaning |\n|---|---|---|---|\n";
  for (const auto& o : ConfigReference()) {
    out += "| `" + o.key + "` | " + Code(o.default_value) + " | " +
           (o.range.empty() ? "" : Cell(o.range)) + " | " + Cell(o.doc) + " |\n";
  }
  return out;
}

}  // namespace lookout
