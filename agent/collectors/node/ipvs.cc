// ipvs: IP Virtual Server statistics (node_exporter 1.5) from /proc/net/ip_vs_stats
// (node_ipvs_connections_total, node_ipvs_{incoming,outgoing}_{packets,bytes}_total, counters)
// and /proc/net/ip_vs (node_ipvs_backend_connections_{active,inactive} and
// node_ipvs_backend_weight, gauges, one per real server, labelled by the chosen backend_labels:
// local_address, local_port, remote_address, remote_port, proto, local_mark by default).
//
// Which series exist, as node_exporter's: no /proc/net/ip_vs_stats (no ip_vs module): none. With
// fewer backend labels, the real servers that share the chosen label values are summed into one
// series (node_exporter keys them by the values joined with "-", which this mirrors); a real
// server listed twice is summed too. An SCTP service line is not understood by procfs 0.8: its
// real servers count under the service listed before it, as in node_exporter.
//
// Deliberate differences (README): no ip_vs_stats is success with no series (node_exporter:
// success 0). A bad line of /proc/net/ip_vs (an address or number that does not parse, a
// truncated one-field line) leaves out that real server, or that service with its real
// servers, with a partial error, keeping the rest; node_exporter drops every backend series and
// fails the collector there (and panics, taking the process down, on a one-field line). An
// ip_vs_stats that does not parse (or is gone while ip_vs is there) leaves out the five totals
// with a partial error and keeps the backend series; node_exporter reports nothing and fails.
#include "agent/collectors/node/ipvs.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<IpvsStats> ParseIpvsStats(std::string_view text) {
  // strings.SplitN(text, "\n", 4) must give four parts; the third is the totals line.
  size_t start = 0;
  std::string_view line;
  for (int i = 0; i < 3; ++i) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return MakeError("parse", "ip_vs_stats corrupt: too short");
    if (i == 2) line = text.substr(start, nl - start);
    start = nl + 1;
  }
  std::vector<std::string_view> f;
  SplitGoFields(line, f);
  if (f.size() != 5) {
    return MakeError("parse", "ip_vs_stats corrupt: unexpected number of fields");
  }
  std::array<uint64_t, 5> v{};
  for (size_t i = 0; i < 5; ++i) {
    const auto n = ParseGoUint(f[i], 16);
    if (!n) return MakeError("parse", "\"" + ToValidUtf8(f[i]) + "\" is not a 64-bit hex number");
    v[i] = *n;
  }
  return IpvsStats{v[0], v[1], v[2], v[3], v[4]};
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

using Ip = std::vector<uint8_t>;  // 4 or 16 bytes, as Go's net.IP

// Go's net.parseIPv4 (1.17+: no leading zeros).
std::optional<std::array<uint8_t, 4>> ParseGoIpv4(std::string_view s) {
  std::array<uint8_t, 4> p{};
  for (size_t i = 0; i < 4; ++i) {
    if (s.empty()) return std::nullopt;
    if (i > 0) {
      if (s[0] != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    size_t c = 0;
    unsigned n = 0;
    while (c < s.size() && s[c] >= '0' && s[c] <= '9' && n < 0xFFFFFF) {
      n = n * 10 + static_cast<unsigned>(s[c] - '0');
      ++c;
    }
    if (c == 0 || n > 0xFF || (c > 1 && s[0] == '0')) return std::nullopt;
    p[i] = static_cast<uint8_t>(n);
    s.remove_prefix(c);
  }
  if (!s.empty()) return std::nullopt;
  return p;
}

// Go's net.parseIPv6: hex groups, one "::", an IPv4 tail in the last 32 bits.
std::optional<Ip> ParseGoIpv6(std::string_view s) {
  Ip ip(16, 0);
  int ellipsis = -1;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    ellipsis = 0;
    s.remove_prefix(2);
    if (s.empty()) return ip;
  }
  int i = 0;
  while (i < 16) {
    size_t c = 0;
    unsigned n = 0;
    while (c < s.size() && HexDigit(s[c]) >= 0) {
      n = n * 16 + static_cast<unsigned>(HexDigit(s[c]));
      ++c;
      if (n >= 0xFFFFFF) return std::nullopt;  // xtoi's overflow guard
    }
    if (c == 0 || n > 0xFFFF) return std::nullopt;
    if (c < s.size() && s[c] == '.') {
      if ((ellipsis < 0 && i != 12) || i + 4 > 16) return std::nullopt;
      const auto v4 = ParseGoIpv4(s);
      if (!v4) return std::nullopt;
      std::copy(v4->begin(), v4->end(), ip.begin() + i);
      s = {};
      i += 4;
      break;
    }
    ip[i] = static_cast<uint8_t>(n >> 8);
    ip[i + 1] = static_cast<uint8_t>(n);
    i += 2;
    s.remove_prefix(c);
    if (s.empty()) break;
    if (s[0] != ':' || s.size() == 1) return std::nullopt;
    s.remove_prefix(1);
    if (s[0] == ':') {
      if (ellipsis >= 0) return std::nullopt;
      ellipsis = i;
      s.remove_prefix(1);
      if (s.empty()) break;
    }
  }
  if (!s.empty()) return std::nullopt;
  if (i < 16) {
    if (ellipsis < 0) return std::nullopt;
    const int n = 16 - i;
    for (int j = i - 1; j >= ellipsis; --j) ip[j + n] = ip[j];
    for (int j = ellipsis + n - 1; j >= ellipsis; --j) ip[j] = 0;
  } else if (ellipsis >= 0) {
    return std::nullopt;
  }
  return ip;
}

// Go's net.ParseIP: the first '.' or ':' decides the family.
std::optional<Ip> ParseGoIp(std::string_view s) {
  for (char c : s) {
    if (c == '.') {
      const auto v4 = ParseGoIpv4(s);
      if (!v4) return std::nullopt;
      Ip ip(16, 0);
      ip[10] = ip[11] = 0xff;
      std::copy(v4->begin(), v4->end(), ip.begin() + 12);
      return ip;
    }
    if (c == ':') return ParseGoIpv6(s);
  }
  return std::nullopt;
}

std::string Dotted(const uint8_t* p) {
  return std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
         std::to_string(p[3]);
}

// Go's net.IP.String(): dotted for 4 bytes and for ::ffff:a.b.c.d, else RFC 5952 (the first
// longest run of two or more zero groups as "::", hex without leading zeros).
std::string GoIpString(const Ip& ip) {
  if (ip.size() == 4) return Dotted(ip.data());
  if (ip.size() != 16) return "?";
  if (std::all_of(ip.begin(), ip.begin() + 10, [](uint8_t b) { return b == 0; }) &&
      ip[10] == 0xff && ip[11] == 0xff) {
    return Dotted(ip.data() + 12);
  }
  int e0 = -1, e1 = -1;
  for (int i = 0; i < 16; i += 2) {
    int j = i;
    while (j < 16 && ip[j] == 0 && ip[j + 1] == 0) j += 2;
    if (j > i && j - i > e1 - e0) {
      e0 = i;
      e1 = j;
      i = j;
    }
  }
  if (e1 - e0 <= 2) e0 = e1 = -1;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    if (i == e0) {
      out += "::";
      i = e1;
      if (i >= 16) break;
    } else if (i > 0) {
      out += ':';
    }
    const unsigned g = (static_cast<unsigned>(ip[i]) << 8) | ip[i + 1];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (g >> shift) & 0xF;
      if (d != 0 || started || shift == 0) {
        out += kHex[d];
        started = true;
      }
    }
  }
  return out;
}

struct Endpoint {
  std::string address;
  uint16_t port = 0;
};

// procfs 0.8's parseIPPort, with the address printed as node_exporter prints it.
Result<Endpoint> ParseIpPort(std::string_view s) {
  Ip ip;
  if (s.size() == 13) {
    ip.resize(4);
    for (size_t i = 0; i < 4; ++i) {
      const int hi = HexDigit(s[2 * i]);
      const int lo = HexDigit(s[2 * i + 1]);
      if (hi < 0 || lo < 0) return MakeError("parse", "bad hex IPv4 address in " + ToValidUtf8(s));
      ip[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
  } else if (s.size() == 46) {
    auto v6 = ParseGoIp(s.substr(1, 39));
    if (!v6) return MakeError("parse", "invalid IPv6 address in " + ToValidUtf8(s));
    ip = std::move(*v6);
  } else {
    return MakeError("parse", "unexpected IP:Port: " + ToValidUtf8(s));
  }
  const auto port = ParseGoUint(s.substr(s.size() - 4), 16);
  if (!port || *port > 0xFFFF) return MakeError("parse", "bad port in " + ToValidUtf8(s));
  return Endpoint{GoIpString(ip), static_cast<uint16_t>(*port)};
}

}  // namespace

IpvsBackends ParseIpvsBackends(std::string_view text) {
  IpvsBackends out;
  std::vector<std::string_view> f;
  IpvsBackend service;       // the labels of the current service (proto "" before the first)
  bool bad_service = false;  // the current service line did not parse: skip its real servers
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (f.empty() || f[0] == "IP" || f[0] == "Prot") continue;
    if (f.size() < 2) {
      out.skipped.Add(MakeError("parse", "ip_vs: truncated line \"" + ToValidUtf8(line) + "\""));
      if (f[0] == "TCP" || f[0] == "UDP" || f[0] == "FWM") bad_service = true;
      continue;
    }
    if (f[1] == "RemoteAddress:Port") continue;
    if (f[0] == "TCP" || f[0] == "UDP") {
      auto local = ParseIpPort(f[1]);
      if (!local.ok()) {
        bad_service = true;
        out.skipped.Add(MakeError("parse", "ip_vs service: " + local.error().detail));
        continue;
      }
      bad_service = false;
      service.proto = std::string(f[0]);
      service.local_mark.clear();
      service.local_address = std::move(local->address);
      service.local_port = local->port;
    } else if (f[0] == "FWM") {
      bad_service = false;
      service.proto = "FWM";
      service.local_mark = std::string(f[1]);
      service.local_address.clear();
      service.local_port = 0;
    } else if (f[0] == "->") {
      if (f.size() < 6 || bad_service) continue;
      auto remote = ParseIpPort(f[1]);
      if (!remote.ok()) {
        out.skipped.Add(MakeError("parse", "ip_vs real server: " + remote.error().detail));
        continue;
      }
      const auto weight = ParseGoUint(f[3], 10);
      const auto active = ParseGoUint(f[4], 10);
      const auto inactive = ParseGoUint(f[5], 10);
      if (!weight || !active || !inactive) {
        out.skipped.Add(MakeError("parse", "ip_vs real server " + ToValidUtf8(f[1]) +
                                               ": weight or connection count is not a number"));
        continue;
      }
      IpvsBackend b = service;
      b.remote_address = std::move(remote->address);
      b.remote_port = remote->port;
      b.weight = *weight;
      b.active_conn = *active;
      b.inact_conn = *inactive;
      out.backends.push_back(std::move(b));
    }
  }
  return out;
}

Result<std::vector<std::string>> CanonicalIpvsBackendLabels(const std::vector<std::string>& in) {
  std::vector<std::string> unknown;
  for (const std::string& l : in) {
    if (l.empty()) continue;
    if (std::find(kIpvsBackendLabels.begin(), kIpvsBackendLabels.end(), l) ==
            kIpvsBackendLabels.end() &&
        std::find(unknown.begin(), unknown.end(), l) == unknown.end()) {
      unknown.push_back(l);
    }
  }
  if (!unknown.empty()) {
    std::sort(unknown.begin(), unknown.end());
    std::string list;
    for (const std::string& u : unknown) list += (list.empty() ? "" : ", ") + u;
    return MakeError("config", "unknown IPVS backend labels: \"" + list + "\"");
  }
  std::vector<std::string> out;
  for (std::string_view l : kIpvsBackendLabels) {
    if (std::find(in.begin(), in.end(), l) != in.end()) out.emplace_back(l);
  }
  return out;
}

namespace {

std::string LabelValue(const IpvsBackend& b, std::string_view label) {
  if (label == "local_address") return b.local_address;
  if (label == "local_port") return std::to_string(b.local_port);
  if (label == "remote_address") return b.remote_address;
  if (label == "remote_port") return std::to_string(b.remote_port);
  if (label == "proto") return b.proto;
  return b.local_mark;  // local_mark
}

class IpvsCollector final : public Collector {
 public:
  explicit IpvsCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes),
        labels_(cfg.ipvs_backend_labels),
        stats_(cfg.paths.Proc("net/ip_vs_stats")),
        backends_(cfg.paths.Proc("net/ip_vs")) {}
  std::string_view Name() const override { return "ipvs"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto stats_text = stats_.Read(max_);
    if (!stats_text.ok() && IsMissing(stats_text.error(), stats_.path())) {
      return Ok{};  // no ip_vs module: no series, no failure
    }
    SkippedEntries skipped;
    if (!stats_text.ok()) {
      skipped.Add(stats_text.error());
    } else if (auto stats = ParseIpvsStats(*stats_text); !stats.ok()) {
      skipped.Add(MakeError("parse", stats_.path() + ": " + stats.error().detail));
    } else {
      struct Total {
        const char* name;
        const char* help;
        uint64_t value;
      };
      for (const Total& t : {
               Total{"node_ipvs_connections_total", "The total number of connections made.",
                     stats->connections},
               Total{"node_ipvs_incoming_packets_total", "The total number of incoming packets.",
                     stats->incoming_packets},
               Total{"node_ipvs_outgoing_packets_total", "The total number of outgoing packets.",
                     stats->outgoing_packets},
               Total{"node_ipvs_incoming_bytes_total", "The total amount of incoming data.",
                     stats->incoming_bytes},
               Total{"node_ipvs_outgoing_bytes_total", "The total amount of outgoing data.",
                     stats->outgoing_bytes},
           }) {
        AddSample(AddFamily(out, t.name, t.help, MetricType::kCounter),
                  static_cast<double>(t.value));
      }
    }

    auto text = backends_.Read(max_);
    if (!text.ok()) {
      skipped.Add(MakeError(text.error().reason, backends_.path() + ": " + text.error().detail));
      return skipped.ToStatus();
    }
    IpvsBackends parsed = ParseIpvsBackends(*text);
    // Summed per key (the label values joined with "-", as node_exporter keys them), in the
    // order keys first appear; a later real server of the same key gives the label values.
    struct Sum {
      std::vector<std::string> values;
      uint64_t active = 0, inactive = 0, weight = 0;
    };
    std::vector<Sum> sums;
    std::unordered_map<std::string, size_t> index;
    for (const IpvsBackend& b : parsed.backends) {
      std::vector<std::string> values;
      values.reserve(labels_.size());
      std::string key;
      for (size_t i = 0; i < labels_.size(); ++i) {
        values.push_back(LabelValue(b, labels_[i]));
        if (i > 0) key += '-';
        key += values.back();
      }
      auto [it, added] = index.try_emplace(std::move(key), sums.size());
      if (added) sums.emplace_back();
      Sum& s = sums[it->second];
      s.values = std::move(values);
      s.active += b.active_conn;  // uint64 sums wrap as node_exporter's do
      s.inactive += b.inact_conn;
      s.weight += b.weight;
    }
    MetricFamily active{"node_ipvs_backend_connections_active",
                        "The current active connections by local and remote address.",
                        MetricType::kGauge,
                        {},
                        {}};
    MetricFamily inactive{"node_ipvs_backend_connections_inactive",
                          "The current inactive connections by local and remote address.",
                          MetricType::kGauge,
                          {},
                          {}};
    MetricFamily weight{"node_ipvs_backend_weight",
                        "The current backend weight by local and remote address.",
                        MetricType::kGauge,
                        {},
                        {}};
    for (const Sum& s : sums) {
      Labels labels;
      labels.reserve(labels_.size());
      for (size_t i = 0; i < labels_.size(); ++i) {
        labels.push_back({labels_[i], ToValidUtf8(s.values[i])});
      }
      AddSample(active, static_cast<double>(s.active), labels);
      AddSample(inactive, static_cast<double>(s.inactive), labels);
      AddSample(weight, static_cast<double>(s.weight), std::move(labels));
    }
    for (MetricFamily* f : {&active, &inactive, &weight}) {
      if (!f->samples.empty()) out.push_back(std::move(*f));
    }
    const Status lines = parsed.skipped.ToStatus();
    if (!lines.ok()) skipped.Add(MakeError(lines.error().reason, lines.error().detail));
    return skipped.ToStatus();
  }

 private:
  const size_t max_;
  const std::vector<std::string> labels_;  // canonical (CanonicalIpvsBackendLabels)
  CachedFile stats_;
  CachedFile backends_;
};

}  // namespace

std::unique_ptr<Collector> NewIpvsCollector(const NodeOptions& cfg) {
  return std::make_unique<IpvsCollector>(cfg);
}

std::vector<Option<NodeOptions>> IpvsOptionRows() {
  return {option::Custom<NodeOptions>(
      "backend_labels",
      "[local_address, local_port, remote_address, remote_port, proto, local_mark]",
      "list of local_address, local_port, remote_address, remote_port, proto, local_mark",
      "`--collector.ipvs.backend-labels`: the labels of node_ipvs_backend_*; real servers that "
      "share the chosen labels' values are summed into one series. Kept in node_exporter's order "
      "whatever the order given; an unknown name is a start-up error, as in node_exporter",
      [](YamlMapReader& r, std::string_view k, NodeOptions& o) {
        std::vector<std::string> given = o.ipvs_backend_labels;
        r.StrList(k, &given);
        auto labels = CanonicalIpvsBackendLabels(given);
        if (!labels.ok()) {
          r.Fail(r.Get(k), r.Key(k),
                 "label names among local_address, local_port, remote_address, remote_port, "
                 "proto, local_mark (" +
                     labels.error().detail + ")");
          return;
        }
        o.ipvs_backend_labels = std::move(*labels);
      })};
}

}  // namespace lookout
