// nfs: the NFS client's RPC statistics from /proc/net/rpc/nfs (node_exporter 1.5):
// node_nfs_packets_total{protocol}, node_nfs_connections_total, node_nfs_rpcs_total,
// node_nfs_rpc_retransmissions_total, node_nfs_rpc_authentication_refreshes_total and
// node_nfs_requests_total{method,proto} for NFSv2 (18 procedures), v3 (22) and v4 (59).
//
// Which series exist: all of them once the file can be read, as zeros for a line the kernel
// does not print (a kernel without NFSv2 has no proc2 line; node_exporter exposes zeros there
// too). No file (the nfs module is not loaded): no series, no failure. A line that breaks its
// shape leaves out its own series with a partial error, and an unknown line is skipped;
// node_exporter 1.5 fails the whole collector on either (README).
#include "agent/collectors/node/nfs.h"

#include <array>
#include <memory>
#include <utility>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

RpcStats ParseRpcStats(std::string_view text, std::span<const RpcLineRule> rules) {
  RpcStats out;
  out.lines.resize(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) out.lines[i].values.assign(rules[i].kept, 0);
  std::vector<std::string_view> f;
  std::vector<uint64_t> v;
  std::vector<bool> seen(rules.size(), false);
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (f.size() < 2) {
      out.problems.push_back("a line without values: \"" + std::string(line.substr(0, 64)) + "\"");
      continue;
    }
    size_t r = 0;
    while (r < rules.size() && rules[r].key != f[0]) ++r;
    if (r == rules.size()) continue;  // a line this kernel added: not ours to judge
    const RpcLineRule& rule = rules[r];
    RpcLine& dst = out.lines[r];
    seen[r] = true;
    const size_t given = f.size() - 1 - (rule.counted ? 1 : 0);
    const size_t parsed = rule.parse_all ? f.size() - 1 : std::min(f.size() - 1, rule.kept);
    v.clear();
    bool numbers = true;
    for (size_t i = 1; i <= parsed && numbers; ++i) {
      const auto x = ParseGoUint(f[i], 10);
      numbers = x.has_value();
      if (numbers) v.push_back(*x);
    }
    const bool count_ok = !rule.counted || (numbers && v[0] == given);
    if (!numbers || !count_ok || given < rule.min || given > rule.max) {
      dst.values.assign(rule.kept, 0);
      dst.bad = true;
      out.problems.push_back("line \"" + std::string(rule.key) +
                             "\" does not have the kernel's shape");
      continue;
    }
    const size_t first = rule.counted ? 1 : 0;
    dst.values.assign(rule.kept, 0);
    for (size_t i = 0; i < rule.kept && first + i < v.size(); ++i) dst.values[i] = v[first + i];
    dst.bad = false;
  }
  if (lines.too_long()) {
    // procfs fails on the scanner's error; the lines after the long one were not read, so their
    // zeros would be false: those sections are left out.
    out.problems.push_back("a line longer than 64 KiB: the lines after it were not read");
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!seen[i]) out.lines[i].bad = true;
    }
  }
  return out;
}

Status RpcStats::ToStatus(const std::string& path) const {
  SkippedEntries skipped;
  for (const std::string& p : problems) skipped.Add(MakeError("parse", path + ": " + p));
  return skipped.ToStatus();
}

namespace {

// procfs 0.8's V2Stats, V3Stats and ClientV4Stats field names, which node_exporter exposes as
// the `method` label, in the kernel's column order (NFSPROC_*, NFS3PROC_*, NFSPROC4_CLNT_*).
constexpr std::array<const char*, 18> kV2 = {
    "Null",   "GetAttr", "SetAttr", "Root", "Lookup",  "ReadLink", "Read",  "WrCache", "Write",
    "Create", "Remove",  "Rename",  "Link", "SymLink", "MkDir",    "RmDir", "ReadDir", "FsStat"};
constexpr std::array<const char*, 22> kV3 = {
    "Null",    "GetAttr",     "SetAttr", "Lookup", "Access",   "ReadLink", "Read",   "Write",
    "Create",  "MkDir",       "SymLink", "MkNod",  "Remove",   "RmDir",    "Rename", "Link",
    "ReadDir", "ReadDirPlus", "FsStat",  "FsInfo", "PathConf", "Commit"};
constexpr std::array<const char*, 59> kV4 = {"Null",
                                             "Read",
                                             "Write",
                                             "Commit",
                                             "Open",
                                             "OpenConfirm",
                                             "OpenNoattr",
                                             "OpenDowngrade",
                                             "Close",
                                             "Setattr",
                                             "FsInfo",
                                             "Renew",
                                             "SetClientID",
                                             "SetClientIDConfirm",
                                             "Lock",
                                             "Lockt",
                                             "Locku",
                                             "Access",
                                             "Getattr",
                                             "Lookup",
                                             "LookupRoot",
                                             "Remove",
                                             "Rename",
                                             "Link",
                                             "Symlink",
                                             "Create",
                                             "Pathconf",
                                             "StatFs",
                                             "ReadLink",
                                             "ReadDir",
                                             "ServerCaps",
                                             "DelegReturn",
                                             "GetACL",
                                             "SetACL",
                                             "FsLocations",
                                             "ReleaseLockowner",
                                             "Secinfo",
                                             "FsidPresent",
                                             "ExchangeID",
                                             "CreateSession",
                                             "DestroySession",
                                             "Sequence",
                                             "GetLeaseTime",
                                             "ReclaimComplete",
                                             "LayoutGet",
                                             "GetDeviceInfo",
                                             "LayoutCommit",
                                             "LayoutReturn",
                                             "SecinfoNoName",
                                             "TestStateID",
                                             "FreeStateID",
                                             "GetDeviceList",
                                             "BindConnToSession",
                                             "DestroyClientID",
                                             "Seek",
                                             "Allocate",
                                             "DeAllocate",
                                             "LayoutStats",
                                             "Clone"};

enum Line { kNet, kRpc, kProc2, kProc3, kProc4 };
// procfs 0.8's ParseClientRPCStats: net and rpc have exactly 4 and 3 values; proc2 and proc3
// at least 18 and 22 after their count; proc4 any number, padded to 59 (older kernels print
// fewer, newer ones more).
constexpr std::array<RpcLineRule, 5> kRules = {{
    {"net", false, 4, 4, 4},
    {"rpc", false, 3, 3, 3},
    {"proc2", true, 18, SIZE_MAX, 18},
    {"proc3", true, 22, SIZE_MAX, 22},
    {"proc4", true, 0, SIZE_MAX, 59},
}};

template <size_t N>
void AddRequests(MetricFamily& f, const std::array<const char*, N>& methods, const RpcLine& l,
                 const char* proto) {
  if (l.bad) return;
  for (size_t i = 0; i < N; ++i) {
    AddSample(f, static_cast<double>(l.values[i]), {{"method", methods[i]}, {"proto", proto}});
  }
}

class NfsCollector final : public Collector {
 public:
  explicit NfsCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), file_(cfg.paths.Proc("net/rpc/nfs")) {}
  std::string_view Name() const override { return "nfs"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) {
      if (IsMissing(text.error(), file_.path())) return Ok{};  // no NFS client module
      return text.error();
    }
    const RpcStats s = ParseRpcStats(*text, kRules);
    const RpcLine& net = s.lines[kNet];
    if (!net.bad) {
      MetricFamily& p = AddFamily(out, "node_nfs_packets_total",
                                  "Total NFSd network packets (sent+received) by protocol type.",
                                  MetricType::kCounter);
      AddSample(p, static_cast<double>(net.values[1]), {{"protocol", "udp"}});
      AddSample(p, static_cast<double>(net.values[2]), {{"protocol", "tcp"}});
      AddSample(AddFamily(out, "node_nfs_connections_total",
                          "Total number of NFSd TCP connections.", MetricType::kCounter),
                static_cast<double>(net.values[3]));
    }
    const RpcLine& rpc = s.lines[kRpc];
    if (!rpc.bad) {
      AddSample(AddFamily(out, "node_nfs_rpcs_total", "Total number of RPCs performed.",
                          MetricType::kCounter),
                static_cast<double>(rpc.values[0]));
      AddSample(AddFamily(out, "node_nfs_rpc_retransmissions_total",
                          "Number of RPC transmissions performed.", MetricType::kCounter),
                static_cast<double>(rpc.values[1]));
      AddSample(
          AddFamily(out, "node_nfs_rpc_authentication_refreshes_total",
                    "Number of RPC authentication refreshes performed.", MetricType::kCounter),
          static_cast<double>(rpc.values[2]));
    }
    MetricFamily requests{"node_nfs_requests_total",
                          "Number of NFS procedures invoked.",
                          MetricType::kCounter,
                          {},
                          {}};
    AddRequests(requests, kV2, s.lines[kProc2], "2");
    AddRequests(requests, kV3, s.lines[kProc3], "3");
    AddRequests(requests, kV4, s.lines[kProc4], "4");
    if (!requests.samples.empty()) out.push_back(std::move(requests));
    return s.ToStatus(file_.path());
  }

 private:
  size_t max_;
  CachedFile file_;
};

}  // namespace

std::unique_ptr<Collector> NewNfsCollector(const NodeOptions& cfg) {
  return std::make_unique<NfsCollector>(cfg);
}

}  // namespace lookout
