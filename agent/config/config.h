#pragma once
// The agent's configuration: one YAML file (or the embedded default), parsed strictly: an
// unknown key, a wrong type or an invalid value is an error with file:line:column.

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/config_error.h"
#include "agent/common/duration.h"
#include "agent/common/log.h"
#include "agent/common/pattern.h"
#include "lookout/host_paths.h"
#include "lookout/slo/slo_spec.h"

namespace lookout {

// Defaults live in one place, default_config.yaml (embedded); a user file is applied on top of
// it, so these structs carry no default values of their own.
struct ServerConfig {
  std::string listen_address;
  int threads = 0;
  int max_connections = 0;
  size_t max_header_bytes = 0;
  size_t max_body_bytes = 0;
  Duration request_timeout{};  // whole request: headers, body, handler, response
  Duration idle_timeout{};     // keep-alive connection with no request
  Duration shutdown_timeout{};
};

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kLogfmt;
};

struct FilesystemOptions {
  Pattern mount_points_exclude;
  Pattern fs_types_exclude;
  Duration mount_timeout{};
  int max_stuck_mounts = 0;  // hung statfs threads we accept before skipping all statfs
};

struct DeviceFilter {
  Pattern include;  // when set, only matching devices
  Pattern exclude;
  bool Ignored(std::string_view device) const;
};

struct TextfileOptions {
  std::string directory;      // "" = none (node_exporter's upstream default); a Go glob allowed
  size_t max_file_bytes = 0;  // a larger .prom file is skipped (node_textfile_scrape_error 1)
};

struct NodeConfig {
  HostPaths paths;
  size_t max_file_bytes = 0;
  std::map<std::string, bool, std::less<>> enabled;  // collector name -> on/off
  FilesystemOptions filesystem;
  DeviceFilter diskstats;
  DeviceFilter netdev;
  DeviceFilter netclass;
  bool netclass_ignore_invalid_speed = false;  // drop speed_bytes when speed is negative
  Pattern netstat_fields;
  Pattern vmstat_fields;
  TextfileOptions textfile;
};

// Where pod metadata comes from. String fields may hold ${VAR} or ${VAR:-default}, expanded from
// the environment by Resolved() at start-up (the DaemonSet sets NODE_NAME and HOST_IP from the
// downward API).
struct KubernetesConfig {
  enum class Mode { kAuto, kKubelet, kApiServer, kOff };
  Mode mode = Mode::kOff;  // auto: kubelet when running in a pod (token file exists), else off
  std::string node_name;
  std::string kubelet_url;     // the kubelet's PodList endpoint
  std::string api_server_url;  // base URL; the node field selector is added
  std::string token_file;      // re-read on every refresh (projected tokens rotate)
  std::string ca_file;
  bool insecure_skip_verify = false;
  Duration refresh_interval{};
  Duration min_refresh_interval{};  // floor for refreshes asked for by readers
  Duration timeout{};
  Duration stale_after{};  // last good metadata is served this long after refreshes fail
  size_t max_response_bytes = 0;

  // auto resolved, ${VAR} expanded. Never returns kAuto.
  KubernetesConfig Resolved() const;
  bool enabled() const { return mode == Mode::kKubelet || mode == Mode::kApiServer; }
  // The URL a refresh GETs: the kubelet's, or the API server's with the node field selector.
  std::string PodListUrl() const;
};

// ${VAR} and ${VAR:-default} from the process environment; unset VAR without default -> "".
std::string ExpandEnv(std::string_view s);

struct PodsConfig {
  std::string cgroupfs;  // the host's cgroup mount (v1: the dir holding cpu, memory, ...); "" =
                         // <sysfs>/fs/cgroup
  std::vector<std::string> kubepods_cgroups;  // relative; empty = auto-detect
  std::map<std::string, bool, std::less<>> enabled;
};

// Application metrics: annotated pods on this node and static targets, scraped and re-exposed.
struct StaticTargetConfig {
  std::string url;
  std::string job;
  Duration interval{};  // 0 = apps.scrape_interval
  Duration timeout{};   // 0 = apps.scrape_timeout
  std::vector<std::pair<std::string, std::string>> labels;
};

struct AppsConfig {
  bool enabled = false;
  Duration scrape_interval{};
  Duration scrape_timeout{};
  int max_concurrent_scrapes = 0;
  int max_redirects = 0;  // followed like Prometheus; 0 = a redirect fails the target
  bool insecure_skip_verify = false;
  bool pods_enabled = false;  // prometheus.io/scrape annotations; needs kubernetes metadata
  std::string pods_job;
  size_t max_body_bytes = 0;  // after decompression
  size_t max_samples = 0;
  size_t max_labels = 0;
  size_t max_label_name_length = 0;
  size_t max_label_value_length = 0;
  std::vector<StaticTargetConfig> static_targets;
};

// OTLP receivers (metrics now, traces later) and what they keep.
struct OtlpConfig {
  bool http_enabled = false;
  std::string http_listen_address;
  bool grpc_enabled = false;
  std::string grpc_listen_address;
  size_t max_request_bytes = 0;  // after decompression; larger is refused (413 / gRPC limit)
  bool metrics_enabled = false;
  Duration metrics_series_ttl{};  // series not updated this long disappear
  size_t metrics_max_series = 0;  // new series beyond this are dropped and counted
};

// The SLO engine: specs from a file or directory, the window math's knobs, and the payments.
struct SloConfig {
  bool enabled = false;
  std::string specs;  // file or directory of SLO specs (lookout or OpenSLO YAML); "" = none
  Duration tick{};
  int64_t buckets_per_window = 0;
  size_t max_groups_per_slo = 0;
  Duration series_retention{};  // a vanished series' last value is kept this long
  struct State {
    std::string directory;  // "" = off
    Duration save_interval{};
    size_t max_bytes = 0;
  } state;
  PaymentsSpec payments;
  std::vector<SloSpec> slos;  // loaded from `specs` when the config is parsed
};

// Traces: received on the OTLP listeners, enriched, turned into span metrics, forwarded to Jaeger.
// String fields of `export` and `resource_attributes` values may hold ${VAR} (expanded at start).
struct TracesConfig {
  bool enabled = false;
  bool kubernetes_attributes = false;  // k8s.* from the pod index (needs kubernetes metadata)
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // static, never overwrite
  double sampling_ratio = 1;
  std::chrono::seconds retry_after{};  // told to senders when the queue is full
  struct SpanMetrics {
    bool enabled = false;
    std::vector<std::string> dimensions;
    bool seconds = false;  // unit: ms (connector default) or s
    std::vector<double> buckets;
    size_t max_series = 0;
    Duration series_expiry{};
    bool exemplars = false;
  } span_metrics;
  struct Export {
    bool enabled = false;
    std::string protocol;  // grpc | http
    std::string endpoint;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string compression;  // gzip | none
    Duration timeout{};
    bool tls = false;  // grpc only; http uses the URL's scheme
    std::string ca_file, cert_file, key_file;
    bool insecure_skip_verify = false;  // http only
    uint64_t max_batch_spans = 0;
    size_t max_batch_bytes = 0;
    Duration batch_timeout{};
    Duration initial_backoff{}, max_backoff{}, max_elapsed{};
  } exporter;
  struct Queue {
    size_t memory_max_bytes = 0;
    bool disk_enabled = false;
    std::string disk_directory;
    size_t disk_max_bytes = 0;
    size_t disk_segment_bytes = 0;
    std::string disk_fsync;  // never | interval | always
    Duration disk_fsync_interval{};
  } queue;
  Duration shutdown_timeout{};  // the exporter's drain on SIGTERM
};

struct Config {
  ServerConfig server;
  LogConfig log;
  NodeConfig node;
  KubernetesConfig kubernetes;
  PodsConfig pods;
  AppsConfig apps;
  OtlpConfig otlp;
  SloConfig slo;
  TracesConfig traces;
  std::string source_name;  // file the config came from ("<embedded default>")
};

// Parses YAML text on top of the embedded default. `source_name` is used in error messages.
Config ParseConfig(const std::string& yaml_text, const std::string& source_name);
Config LoadConfigFile(const std::string& path);
Config DefaultConfig();
const std::string& EmbeddedDefaultConfigYaml();

// The node collectors in registration order, with their default on/off.
struct CollectorInfo {
  std::string_view name;
  bool default_enabled;
  std::string_view description;
};
const std::vector<CollectorInfo>& NodeCollectorInfos();
// The pod collectors' config keys (pods.collectors.<name>).
const std::vector<std::string_view>& PodCollectorNames();

// Splits "host:port" / "[v6]:port" / ":port" (host defaults to 0.0.0.0). False if malformed.
bool SplitHostPort(const std::string& addr, std::string* host, unsigned short* port);

// Parses "500ms", "5s", "1m30s", "2h". Returns false on anything else.

}  // namespace lookout
