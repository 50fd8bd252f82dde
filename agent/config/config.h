#pragma once
// The agent's configuration: one YAML file (or the embedded default), parsed strictly: an
// unknown key, a wrong type or an invalid value is an error with file:line:column.
//
// Each component owns its options struct and option table (key, type, default, range, doc) in
// its own header; Config only aggregates them, one section each. The embedded default config
// (default_config.yaml) and the README's configuration reference are checked against the tables
// by tests (tests/unit/agent/config/config_reference_test.cc).

#include <string>
#include <vector>

#include "agent/collectors/app/apps_options.h"
#include "agent/collectors/node/node_options.h"
#include "agent/collectors/pod/pods_options.h"
#include "agent/common/config_error.h"
#include "agent/common/log_options.h"
#include "agent/common/option_table.h"
#include "agent/k8s/kubernetes_options.h"
#include "agent/otlp/otlp_options.h"
#include "agent/server/server_options.h"
#include "agent/slo/slo_options.h"
#include "agent/trace/traces_options.h"
#include "exporters/remote_write/remote_write_options.h"

namespace lookout {

struct Config {
  ServerOptions server;
  LogOptions log;
  NodeOptions node;
  KubernetesOptions kubernetes;
  PodsOptions pods;
  AppsOptions apps;
  OtlpOptions otlp;
  SloOptions slo;
  TracesOptions traces;
  RemoteWriteOptions remote_write;
  std::string source_name;  // file the config came from ("<embedded default>")
};

// Parses YAML text on top of the embedded default. `source_name` is used in error messages.
// Throws ConfigError.
Config ParseConfig(const std::string& yaml_text, const std::string& source_name);
Config LoadConfigFile(const std::string& path);
Config DefaultConfig();
const std::string& EmbeddedDefaultConfigYaml();

// Every option of every section, in config order, with its full key ("server.threads"), default,
// range and doc: the source of the README's configuration reference.
std::vector<OptionDoc> ConfigReference();
// ConfigReference() as the README's Markdown table (header included).
std::string ConfigReferenceMarkdown();

}  // namespace lookout
