// lookout: flags, config, run. Everything else lives in the library so tests can use it.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>

#include "agent/agent.h"
#include "agent/build_info.h"
#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"
#include "agent/common/log.h"
#include "agent/common/malloc_tuning.h"
#include "agent/common/open_file_limit.h"
#include "agent/common/owned_dir.h"
#include "agent/config/config.h"
#include "agent/slo/rule_generator.h"
#include "agent/slo/spec_parser.h"

namespace lookout {
namespace {

// Lowers the listeners' connection caps so that they, the kept files and server.reserved_files
// fit under the soft open-file limit (issue 22): a flood can fill a listener, never the
// descriptors the collectors and the metrics endpoint need.
void FitListenersToDescriptors(Config& cfg, rlim_t soft) {
  const size_t budget =
      ListenerFileBudget(soft, KeptFileLimit(), static_cast<size_t>(cfg.server.reserved_files));
  const int otlp_listeners = (cfg.otlp.http_enabled ? 1 : 0) + (cfg.otlp.grpc_enabled ? 1 : 0);
  std::vector<size_t> caps{static_cast<size_t>(cfg.server.max_connections)};
  for (int i = 0; i < otlp_listeners; ++i)
    caps.push_back(static_cast<size_t>(cfg.otlp.max_connections));
  const auto fit = FitToBudget(caps, std::max<size_t>(budget, caps.size()));
  if (fit == caps) return;
  cfg.server.max_connections = static_cast<int>(fit[0]);
  if (otlp_listeners > 0) cfg.otlp.max_connections = static_cast<int>(fit[1]);
  Log(LogLevel::kWarn, "connection caps lowered to fit the open-file limit",
      {{"open_file_limit", std::to_string(soft)},
       {"kept_files", std::to_string(KeptFileLimit())},
       {"reserved_files", std::to_string(cfg.server.reserved_files)},
       {"server_max_connections", std::to_string(cfg.server.max_connections)},
       {"otlp_max_connections", std::to_string(cfg.otlp.max_connections)}});
}

constexpr char kUsage[] = R"(usage: lookout [flags]
       lookout slo rules SPECS [--config FILE]
       lookout state-dir DIR --owner UID:GID

Node observability agent: node, pod and application metrics, traces and SLOs on one
Prometheus endpoint.

Flags:
  --config FILE               YAML config file (default: the embedded default config;
                              print it with --config.print-default)
  --config.check              validate the config and exit (0 ok, 2 invalid)
  --config.print-default      print the embedded default config and exit
  --config.reference          print the configuration reference (Markdown) and exit
  --log.level LEVEL           debug | info | warn | error (overrides log.level)
  --log.format FORMAT         logfmt | json (overrides log.format)
  --web.listen-address ADDR   host:port for /metrics (overrides server.listen_address)
  --otlp.http.listen-address ADDR
                              host:port for OTLP/HTTP, or "off" (overrides otlp.http)
  --otlp.grpc.listen-address ADDR
                              host:port for OTLP/gRPC, or "off" (overrides otlp.grpc)
  --path.procfs DIR           procfs mount point (overrides node.paths.procfs)
  --path.sysfs DIR            sysfs mount point (overrides node.paths.sysfs)
  --path.rootfs DIR           root filesystem mount point (overrides node.paths.rootfs)
  --path.cgroupfs DIR         cgroup mount point (overrides pods.cgroupfs)
  --version                   print version and exit
  --help                      print this help and exit

Subcommands:
  slo rules SPECS             print Prometheus recording and alert rules equivalent to the
                              SLO engine for the SLO specs in SPECS (a file or directory), plus
                              the payments of the config's slo.payments
  state-dir DIR --owner UID:GID
                              create DIR and give it (and its contents) to UID:GID: run by the
                              DaemonSet's init container (CAP_CHOWN only) so the agent, as
                              65534, can keep its SLO state and span queue in a hostPath

Exit codes: 0 ok, 1 runtime failure (e.g. cannot bind), 2 bad flags or config.
)";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "lookout: %s\n", msg.c_str());
  return 2;
}

// lookout slo rules SPECS [--config FILE]
int SloRules(int argc, char** argv) {
  std::string specs, config_path;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = arg.substr(9);
    } else if (specs.empty() && !arg.starts_with("-")) {
      specs = arg;
    } else {
      return Fail("slo rules: unexpected argument " + arg);
    }
  }
  if (specs.empty()) return Fail("usage: lookout slo rules SPECS [--config FILE]");
  try {
    const Config cfg = config_path.empty() ? DefaultConfig() : LoadConfigFile(config_path);
    const auto slos = slo::LoadSloSpecs(specs);
    std::fputs(slo::GenerateRules(slos, cfg.slo.payments).c_str(), stdout);
  } catch (const ConfigError& e) {
    return Fail(e.what());
  }
  return 0;
}

// lookout state-dir DIR --owner UID:GID
int StateDir(int argc, char** argv) {
  constexpr char kStateDirUsage[] = "usage: lookout state-dir DIR --owner UID:GID";
  std::string dir, owner;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--owner" && i + 1 < argc) {
      owner = argv[++i];
    } else if (arg.starts_with("--owner=")) {
      owner = arg.substr(8);
    } else if (dir.empty() && !arg.starts_with("-")) {
      dir = arg;
    } else {
      return Fail(std::string("state-dir: unexpected argument ") + arg + "\n" + kStateDirUsage);
    }
  }
  // Decimal ids. (uid_t)-1 tells chown to leave the owner as it is, so it is no owner.
  static constexpr uint64_t kNoId = std::numeric_limits<uid_t>::max();
  const auto id = [](std::string_view s) -> uint64_t {
    const uint64_t v = ParseU64(s).value_or(kNoId);
    return v < kNoId ? v : kNoId;
  };
  const size_t colon = owner.find(':');
  const uint64_t uid = id(std::string_view(owner).substr(0, colon));
  const uint64_t gid =
      colon == std::string::npos ? kNoId : id(std::string_view(owner).substr(colon + 1));
  if (dir.empty() || uid == kNoId || gid == kNoId) return Fail(kStateDirUsage);
  if (auto st = PrepareOwnedDirectory(dir, static_cast<uid_t>(uid), static_cast<gid_t>(gid));
      !st.ok()) {
    std::fprintf(stderr, "lookout: state-dir: %s\n", st.error().detail.c_str());
    return 1;
  }
  return 0;
}

// The command line: a subcommand, or the agent's flags.
int Main(int argc, char** argv) {
  TuneAllocator();
  if (argc >= 2 && std::strcmp(argv[1], "state-dir") == 0) return StateDir(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "slo") == 0) {
    if (argc >= 3 && std::strcmp(argv[2], "rules") == 0) return SloRules(argc, argv);
    return Fail("usage: lookout slo rules SPECS [--config FILE]");
  }
  std::string config_path;
  bool check_only = false;
  std::string log_level, log_format, listen, procfs, sysfs, rootfs, cgroupfs, otlp_http, otlp_grpc;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take = [&](std::string* dst) -> bool {
      if (!has_value) {
        if (i + 1 >= argc) return false;
        value = argv[++i];
      }
      *dst = value;
      return true;
    };
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      const auto& b = GetBuildInfo();
      std::printf("lookout %.*s (revision %.*s, %.*s)\n", static_cast<int>(b.version.size()),
                  b.version.data(), static_cast<int>(b.revision.size()), b.revision.data(),
                  static_cast<int>(b.compiler.size()), b.compiler.data());
      return 0;
    } else if (arg == "--config.print-default") {
      std::fputs(EmbeddedDefaultConfigYaml().c_str(), stdout);
      return 0;
    } else if (arg == "--config.reference") {
      std::fputs(ConfigReferenceMarkdown().c_str(), stdout);
      return 0;
    } else if (arg == "--config.check") {
      check_only = true;
    } else if (arg == "--config") {
      ok = take(&config_path);
    } else if (arg == "--log.level") {
      ok = take(&log_level);
    } else if (arg == "--log.format") {
      ok = take(&log_format);
    } else if (arg == "--web.listen-address") {
      ok = take(&listen);
    } else if (arg == "--otlp.http.listen-address") {
      ok = take(&otlp_http);
    } else if (arg == "--otlp.grpc.listen-address") {
      ok = take(&otlp_grpc);
    } else if (arg == "--path.procfs") {
      ok = take(&procfs);
    } else if (arg == "--path.sysfs") {
      ok = take(&sysfs);
    } else if (arg == "--path.cgroupfs") {
      ok = take(&cgroupfs);
    } else if (arg == "--path.rootfs") {
      ok = take(&rootfs);
    } else {
      return Fail("unknown flag " + arg + " (see --help)");
    }
    if (!ok) return Fail("flag " + arg + " needs a value");
  }

  Config cfg;
  try {
    cfg = config_path.empty() ? DefaultConfig() : LoadConfigFile(config_path);
  } catch (const ConfigError& e) {
    return Fail(std::string("invalid config: ") + e.what());
  }
  if (!log_level.empty() && !ParseLogLevel(log_level, &cfg.log.level)) {
    return Fail("--log.level: expected debug, info, warn or error, got \"" + log_level + "\"");
  }
  if (!log_format.empty() && !ParseLogFormat(log_format, &cfg.log.format)) {
    return Fail("--log.format: expected logfmt or json, got \"" + log_format + "\"");
  }
  if (!listen.empty()) cfg.server.listen_address = listen;
  for (auto [flag, value, enabled, address] :
       {std::tuple{"--otlp.http.listen-address", &otlp_http, &cfg.otlp.http_enabled,
                   &cfg.otlp.http_listen_address},
        std::tuple{"--otlp.grpc.listen-address", &otlp_grpc, &cfg.otlp.grpc_enabled,
                   &cfg.otlp.grpc_listen_address}}) {
    if (value->empty()) continue;
    std::string host;
    unsigned short port = 0;
    if (*value == "off") {
      *enabled = false;
    } else if (SplitHostPort(*value, &host, &port)) {
      *enabled = true;
      *address = *value;
    } else {
      return Fail(std::string(flag) + ": expected host:port or off, got \"" + *value + "\"");
    }
  }
  if (!procfs.empty()) cfg.node.paths.procfs = procfs;
  if (!sysfs.empty()) cfg.node.paths.sysfs = sysfs;
  if (!cgroupfs.empty()) cfg.pods.cgroupfs = cgroupfs;
  if (!rootfs.empty()) cfg.node.paths.rootfs = rootfs;
  if (check_only) {
    std::printf("config ok: %s\n", cfg.source_name.c_str());
    return 0;
  }

  SetLogLevel(cfg.log.level);
  SetLogFormat(cfg.log.format);
  const OpenFileLimit files = RaiseOpenFileLimit();
  if (files.err != 0) {
    Log(LogLevel::kWarn, "cannot raise the open-file limit",
        {{"soft", std::to_string(files.soft)}, {"err", std::strerror(files.err)}});
  } else if (files.soft != files.before) {
    Log(LogLevel::kInfo, "open-file limit raised",
        {{"from", std::to_string(files.before)}, {"to", std::to_string(files.soft)}});
  }
  SetKeptFileLimit(KeptFileShare(cfg.node.max_kept_files, files.soft));
  FitListenersToDescriptors(cfg, files.soft);
  try {
    Agent agent(std::move(cfg));
    agent.HandleSignals();  // before the listeners open: an early SIGTERM is graceful too
    agent.Start();
    agent.Run();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "fatal", {{"err", e.what()}});
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace lookout

int main(int argc, char** argv) { return lookout::Main(argc, argv); }
