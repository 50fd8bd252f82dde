// udp_queues: node_udp_queues{queue="tx"|"rx",ip="v4"|"v6"}, the bytes queued on UDP sockets,
// from /proc/net/udp and /proc/net/udp6 (node_exporter 1.5).
//
// A missing file skips that IP version; both missing: no series. node_exporter reports that
// case as a failed scrape (ErrNoData); lookout as success, as for the other optional kernel
// features (README, "Deliberate differences").
#include "agent/collectors/node/udp_queues.h"

#include <memory>
#include <string>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

// strings.Split(s, ":") into exactly two parts.
bool SplitPair(std::string_view s, std::string_view& a, std::string_view& b) {
  const size_t c = s.find(':');
  if (c == std::string_view::npos || s.find(':', c + 1) != std::string_view::npos) return false;
  a = s.substr(0, c);
  b = s.substr(c + 1);
  return true;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// procfs's parseIP: hex.DecodeString, then 4 (IPv4) or 16 (IPv6) bytes.
bool ValidAddress(std::string_view hex) {
  if (hex.size() != 8 && hex.size() != 32) return false;
  for (char c : hex) {
    if (!IsHex(c)) return false;
  }
  return true;
}

bool ValidEndpoint(std::string_view field) {
  std::string_view addr, port;
  return SplitPair(field, addr, port) && ValidAddress(addr) && ParseGoUint(port, 16).has_value();
}

}  // namespace

Result<UdpQueues> ParseUdpQueues(std::string_view text) {
  UdpQueues q;
  std::vector<std::string_view> f;
  bool header = true;
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    if (header) {
      header = false;
      continue;
    }
    SplitGoFields(line, f);
    if (f.size() < 10) {
      return MakeError("parse", "socket line with fewer than 10 columns");
    }
    std::string_view sl, empty, tx, rx;
    if (!SplitPair(f[0], sl, empty) || !ParseGoUint(sl, 0)) {
      return MakeError("parse", "bad sl field in socket line");
    }
    if (!ValidEndpoint(f[1]) || !ValidEndpoint(f[2])) {
      return MakeError("parse", "bad address field in socket line");
    }
    if (!ParseGoUint(f[3], 16)) return MakeError("parse", "bad st field in socket line");
    if (!SplitPair(f[4], tx, rx)) return MakeError("parse", "bad queue field in socket line");
    const auto txv = ParseGoUint(tx, 16);
    const auto rxv = ParseGoUint(rx, 16);
    if (!txv || !rxv) return MakeError("parse", "bad queue value in socket line");
    if (!ParseGoUint(f[7], 0)) return MakeError("parse", "bad uid field in socket line");
    if (!ParseGoUint(f[9], 0)) return MakeError("parse", "bad inode field in socket line");
    q.tx_queue += *txv;  // wraps like procfs's uint64 sums
    q.rx_queue += *rxv;
  }
  if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
  return q;
}

namespace {

class UdpQueuesCollector final : public Collector {
 public:
  explicit UdpQueuesCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), v4_(cfg.paths.Proc("net/udp")), v6_(cfg.paths.Proc("net/udp6")) {}
  std::string_view Name() const override { return "udp_queues"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    MetricFamily f{"node_udp_queues",
                   "Number of allocated memory in the kernel for UDP datagrams in bytes.",
                   MetricType::kGauge,
                   {},
                   {}};
    struct Source {
      CachedFile* file;
      const char* ip;
    };
    for (const Source& s : {Source{&v4_, "v4"}, Source{&v6_, "v6"}}) {
      auto text = s.file->Read(max_);
      if (!text.ok()) {
        if (IsMissing(text.error(), s.file->path())) continue;  // no such IP version
        return text.error();
      }
      auto q = ParseUdpQueues(*text);
      if (!q.ok()) return MakeError(q.error().reason, s.file->path() + ": " + q.error().detail);
      AddSample(f, static_cast<double>(q->tx_queue), {{"queue", "tx"}, {"ip", s.ip}});
      AddSample(f, static_cast<double>(q->rx_queue), {{"queue", "rx"}, {"ip", s.ip}});
    }
    if (!f.samples.empty()) out.push_back(std::move(f));
    return Ok{};
  }

 private:
  size_t max_;
  CachedFile v4_, v6_;
};

}  // namespace

std::unique_ptr<Collector> NewUdpQueuesCollector(const NodeOptions& cfg) {
  return std::make_unique<UdpQueuesCollector>(cfg);
}

}  // namespace lookout
