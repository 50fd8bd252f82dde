#include "exporters/remote_write/remote_write_options.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

namespace lookout {
namespace {

using remote_write::EndpointOptions;

// One `remote_write` entry, strictly, with Prometheus's field names.
EndpointOptions ReadEndpoint(const YAML::Node& n, const std::string& key, const std::string& file) {
  YamlMapReader r(n, key, file);
  if (!n.IsMap()) r.Fail(n, key, "a remote_write endpoint (a mapping with url)");
  EndpointOptions e;
  r.Str("url", &e.url);
  const size_t host = e.url.find("://") + 3;
  if (!(e.url.starts_with("http://") || e.url.starts_with("https://")) || host >= e.url.size() ||
      e.url[host] == '/' || e.url.find_first_of(" \t\r\n") != std::string::npos) {
    r.Fail(r.Get("url"), r.Key("url"), "an http:// or https:// URL with a host");
  }
  r.Str("name", &e.name);
  r.Dur("remote_timeout", &e.remote_timeout, Duration(100), Duration(600'000));
  r.StrMap("headers", &e.headers);
  // The headers the protocol and authentication own (Prometheus refuses them too).
  for (const auto& [k, v] : e.headers) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* reserved :
         {"authorization", "host", "content-encoding", "content-length", "content-type",
          "user-agent", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
          "www-authenticate", "accept-encoding", "x-prometheus-remote-write-version"}) {
      if (lower == reserved) {
        r.Fail(r.Get("headers"), r.Key("headers"),
               "headers other than " + k +
                   " (set by lookout, or by basic_auth / "
                   "bearer_token_file)");
      }
    }
  }
  r.Str("bearer_token_file", &e.bearer_token_file);
  if (YAML::Node b = r.Get("basic_auth"); b.IsDefined() && !b.IsNull()) {
    YamlMapReader br(b, r.Key("basic_auth"), file);
    br.Str("username", &e.basic_auth_username);
    br.Str("password_file", &e.basic_auth_password_file);
    br.Done();
    if (e.basic_auth_username.empty()) br.Fail(b, br.Key("username"), "a user name");
    if (!e.bearer_token_file.empty()) {
      r.Fail(b, r.Key("basic_auth"), "basic_auth or bearer_token_file, not both");
    }
  }
  if (YAML::Node t = r.Get("tls_config"); t.IsDefined() && !t.IsNull()) {
    YamlMapReader tr(t, r.Key("tls_config"), file);
    tr.Str("ca_file", &e.tls.ca_file);
    tr.Str("cert_file", &e.tls.cert_file);
    tr.Str("key_file", &e.tls.key_file);
    tr.Bool("insecure_skip_verify", &e.tls.insecure_skip_verify);
    tr.Done();
    // As Prometheus does at load: a file that is not there fails now, not every send.
    const std::pair<const char*, const std::string*> files[] = {{"ca_file", &e.tls.ca_file},
                                                                {"cert_file", &e.tls.cert_file},
                                                                {"key_file", &e.tls.key_file}};
    for (const auto& [k, path] : files) {
      if (!path->empty() && access(path->c_str(), R_OK) != 0) {
        tr.Fail(tr.Get(k), tr.Key(k), "a readable file");
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> external;
  r.StrMap("external_labels", &external);
  for (const auto& [k, v] : external) {
    if (!IsValidLabelName(k) || v.empty()) {
      // The specification forbids empty label values; a reserved or invalid name is no label.
      r.Fail(r.Get("external_labels"), r.Key("external_labels") + "." + k,
             "a valid label name with a non-empty value");
    }
    e.external_labels.push_back(Label{k, v});
  }
  std::sort(e.external_labels.begin(), e.external_labels.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  r.RelabelConfigs("write_relabel_configs", &e.write_relabel_configs);
  r.Bool("send_exemplars", &e.send_exemplars);
  if (YAML::Node m = r.Get("metadata_config"); m.IsDefined() && !m.IsNull()) {
    YamlMapReader mr(m, r.Key("metadata_config"), file);
    mr.Bool("send", &e.send_metadata);
    mr.Done();
  }
  if (YAML::Node q = r.Get("queue_config"); q.IsDefined() && !q.IsNull()) {
    YamlMapReader qr(q, r.Key("queue_config"), file);
    qr.Int("capacity", &e.capacity, 1, int64_t{1} << 32);
    qr.Int("max_samples_per_send", &e.max_samples_per_send, 1, 1 << 20);
    qr.Dur("min_backoff", &e.min_backoff, Duration(1), Duration(3'600'000));
    qr.Dur("max_backoff", &e.max_backoff, Duration(1), Duration(3'600'000));
    // At most 1,024: the sender takes at most 1,024 requests at a time (and each shard is a
    // thread with its own connection).
    qr.Int("min_shards", &e.min_shards, 1, 1024);
    qr.Int("max_shards", &e.max_shards, 1, 1024);
    qr.Dur("batch_send_deadline", &e.batch_send_deadline, Duration(1), Duration(3'600'000));
    qr.Done();
    if (e.min_backoff > e.max_backoff) {
      qr.Fail(qr.Get("min_backoff"), qr.Key("min_backoff"), "at most max_backoff");
    }
    if (e.min_shards > e.max_shards) {
      qr.Fail(qr.Get("min_shards"), qr.Key("min_shards"),
              "at most max_shards (" + std::to_string(e.max_shards) + ")");
    }
  }
  r.Done();
  return e;
}

OptionTable<RemoteWriteOptions::Wal> WalTable() {
  using W = RemoteWriteOptions::Wal;
  return OptionTable<W>{{
      option::Bool<W>("enabled", &W::enabled, "false",
                      "the write-ahead log: queued samples survive receiver outages and "
                      "agent restarts, `kill -9` included; off = the memory queue "
                      "(`queue_config.capacity`)"),
      option::Str<W>("directory", &W::directory, "",
                     "its directory (required when enabled), one subdirectory per "
                     "endpoint, e.g. `/var/lib/lookout/remote-write`"),
      option::Int<W>("max_bytes", &W::max_bytes, 1 << 20, int64_t{1} << 44, "268435456",
                     "undelivered bytes per endpoint; beyond it the oldest segment is "
                     "dropped (counted, reason `queue_full`)"),
      option::Int<W>("segment_bytes", &W::segment_bytes, 4096, int64_t{1} << 30, "8388608",
                     "segment file size: what one drop removes (at most `max_bytes` / 8: "
                     "larger is cut to that); delivered segments are deleted"),
      option::Enum<W>("fsync", &W::fsync,
                      {{"never", otlp::DiskQueueOptions::Fsync::kNever},
                       {"interval", otlp::DiskQueueOptions::Fsync::kInterval},
                       {"always", otlp::DiskQueueOptions::Fsync::kAlways}},
                      "interval",
                      "as `traces.queue.disk.fsync`: `never` survives `kill -9`, "
                      "`interval` also a power loss up to `fsync_interval` ago, `always` "
                      "`fdatasync`s each collection"),
      option::Dur<W>("fsync_interval", &W::fsync_interval, Duration(1), Duration(3'600'000), "1s",
                     "see `fsync`"),
  }};
}

}  // namespace

otlp::DiskQueueOptions EndpointWal(const RemoteWriteOptions::Wal& wal,
                                   const remote_write::EndpointOptions& e) {
  // FNV-1a of url and name: stable across restarts and config reorderings.
  uint64_t h = 14695981039346656037ull;
  for (const char c : e.url + "\n" + e.name) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  std::string label = e.name.empty() ? "endpoint" : e.name;
  for (char& c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(h));
  otlp::DiskQueueOptions o;
  o.directory = wal.directory + "/" + label.substr(0, 64) + "-" + hash;
  o.max_bytes = wal.max_bytes;
  // A drop removes a whole segment: at most an eighth of the WAL, whatever segment_bytes says.
  o.segment_bytes = std::max<size_t>(4096, std::min(wal.segment_bytes, wal.max_bytes / 8));
  o.log_name = "remote write WAL";
  o.fsync = wal.fsync;
  o.fsync_interval = wal.fsync_interval;
  return o;
}

const OptionTable<RemoteWriteOptions>& RemoteWriteOptionTable() {
  using O = RemoteWriteOptions;
  static const OptionTable<O> kTable = [] {
    OptionTable<O> t{{
        option::Dur<O>(
            "interval", &O::interval, Duration(1000), Duration(3'600'000), "30s",
            "how often what `/metrics` serves is collected and queued for every "
            "endpoint, stamped with the collection time (a scraped sample keeps its own)"),
        option::Str<O>("job", &O::job, "lookout",
                       "`job` label added to every series that has none, as a Prometheus "
                       "scraping the agent adds its job's (the series' own win, as with "
                       "honor_labels): without it every node would send the same series"),
        option::Str<O>("instance", &O::instance, "",
                       "`instance` label added likewise; `\"\"` = the node's name "
                       "(`kubernetes.node_name`), else the host name: what kube-prometheus's "
                       "node-exporter and lookout ServiceMonitors set; `${VAR}` expanded"),
        option::Custom<O>(
            "endpoints", "[]", "list of endpoints",
            "Prometheus's `remote_write` entries: `url`, `name`, `remote_timeout`, `headers`, "
            "`bearer_token_file` (read again when it changes), `basic_auth` (`username`, "
            "`password_file`), `tls_config` (`ca_file`, `cert_file`, `key_file`, "
            "`insecure_skip_verify`), `external_labels`, `write_relabel_configs`, "
            "`send_exemplars`, `metadata_config.send`, `queue_config` (`capacity`, "
            "`max_samples_per_send`, `min_backoff`, `max_backoff`, `min_shards`, `max_shards`, "
            "`batch_send_deadline`); see \"Remote write\"",
            [](YamlMapReader& r, std::string_view k, O& o) {
              YAML::Node n = r.Get(k);
              if (!n.IsDefined() || n.IsNull()) return;
              if (!n.IsSequence()) r.Fail(n, r.Key(k), "a list of remote_write endpoints");
              o.endpoints.clear();
              for (size_t i = 0; i < n.size(); ++i) {
                o.endpoints.push_back(
                    ReadEndpoint(n[i], r.Key(k) + "[" + std::to_string(i) + "]", r.file()));
                // Two entries with one url and name would share their self-metrics' series
                // (Prometheus refuses duplicate remote_write entries too).
                for (size_t j = 0; j < i; ++j) {
                  if (o.endpoints[j].url == o.endpoints[i].url &&
                      o.endpoints[j].name == o.endpoints[i].name) {
                    r.Fail(n[i], r.Key(k) + "[" + std::to_string(i) + "]",
                           "an endpoint other than [" + std::to_string(j) +
                               "] (same url and name): give one a `name`");
                  }
                }
              }
            }),
    }};
    AppendOptions(t, option::Nest<O>("wal", &O::wal, WalTable()));
    t.check = [](YamlMapReader& r, O& o) {
      if (o.wal.enabled && o.wal.directory.empty()) {
        // At the `wal` mapping: `directory` is what is missing.
        r.Fail(r.Get("wal"), r.Key("wal") + ".directory", "a directory when the WAL is on");
      }
    };
    return t;
  }();
  return kTable;
}

}  // namespace lookout
