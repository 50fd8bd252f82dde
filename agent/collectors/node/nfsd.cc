// nfsd: the NFS server's statistics from /proc/net/rpc/nfsd (node_exporter 1.5): reply cache,
// stale file handles, disk bytes, threads, the read-ahead cache, packets, connections, RPC
// errors and node_nfsd_requests_total{method,proto} for NFSv2 (17 procedures), v3 (21) and the
// v4 operations node_exporter names (33).
//
// Which series exist: all of them once the file can be read, zeros for a line the kernel does
// not print; no file (no NFS server): no series, no failure. A bad line leaves out its own
// series with a partial error and an unknown line is skipped, where node_exporter 1.5 fails the
// collector. NFSv4 operations are labelled by the kernel's opcode; node_exporter 1.5 shifts
// Verify, Write and RelLockOwner by two columns (README).
#include <array>
#include <memory>
#include <utility>

#include "agent/collectors/node/nfs.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

enum Line { kRc, kFh, kIo, kTh, kRa, kNet, kRpc, kProc2, kProc3, kProc4, kProc4Ops };
// procfs 0.8's ParseServerRPCStats: fixed counts for rc, fh, io, ra, net and rpc; th needs two
// values and ignores its deprecated histogram after them; proc2 and proc3 at least 18 and 22
// after their count, proc4 exactly 2, proc4ops at least 39 (kept: 40, up to RELEASE_LOCKOWNER).
constexpr std::array<RpcLineRule, 11> kRules = {{
    {"rc", false, 3, 3, 3},
    {"fh", false, 5, 5, 5},
    {"io", false, 2, 2, 2},
    {"th", false, 2, SIZE_MAX, 2, false},
    {"ra", false, 12, 12, 12},
    {"net", false, 4, 4, 4},
    {"rpc", false, 5, 5, 5},
    {"proc2", true, 18, SIZE_MAX, 18},
    {"proc3", true, 22, SIZE_MAX, 22},
    {"proc4", true, 2, 2, 2},
    {"proc4ops", true, 39, SIZE_MAX, 40},
}};

// The v2 and v3 procedures node_exporter exposes (all but NULL), by column.
struct Method {
  size_t column;
  const char* name;
};
constexpr std::array<Method, 17> kV2 = {{{1, "GetAttr"},
                                         {2, "SetAttr"},
                                         {3, "Root"},
                                         {4, "Lookup"},
                                         {5, "ReadLink"},
                                         {6, "Read"},
                                         {7, "WrCache"},
                                         {8, "Write"},
                                         {9, "Create"},
                                         {10, "Remove"},
                                         {11, "Rename"},
                                         {12, "Link"},
                                         {13, "SymLink"},
                                         {14, "MkDir"},
                                         {15, "RmDir"},
                                         {16, "ReadDir"},
                                         {17, "FsStat"}}};
constexpr std::array<Method, 21> kV3 = {
    {{1, "GetAttr"},  {2, "SetAttr"},      {3, "Lookup"},  {4, "Access"},  {5, "ReadLink"},
     {6, "Read"},     {7, "Write"},        {8, "Create"},  {9, "MkDir"},   {10, "SymLink"},
     {11, "MkNod"},   {12, "Remove"},      {13, "RmDir"},  {14, "Rename"}, {15, "Link"},
     {16, "ReadDir"}, {17, "ReadDirPlus"}, {18, "FsStat"}, {19, "FsInfo"}, {20, "PathConf"},
     {21, "Commit"}}};
// proc4ops column = the NFSv4 opcode (RFC 7530/8881: OP_ACCESS 3 ... OP_RELEASE_LOCKOWNER 39).
// node_exporter 1.5 (procfs 0.8) reads Verify, Write and RelLockOwner from columns 35-37, which
// are SETCLIENTID, SETCLIENTID_CONFIRM and VERIFY; later procfs releases fixed that.
constexpr std::array<Method, 33> kV4 = {
    {{3, "Access"},       {4, "Close"},        {5, "Commit"},     {6, "Create"},
     {7, "DelegPurge"},   {8, "DelegReturn"},  {9, "GetAttr"},    {10, "GetFH"},
     {11, "Link"},        {12, "Lock"},        {13, "Lockt"},     {14, "Locku"},
     {15, "Lookup"},      {16, "LookupRoot"},  {17, "Nverify"},   {18, "Open"},
     {19, "OpenAttr"},    {20, "OpenConfirm"}, {21, "OpenDgrd"},  {22, "PutFH"},
     {25, "Read"},        {26, "ReadDir"},     {27, "ReadLink"},  {28, "Remove"},
     {29, "Rename"},      {30, "Renew"},       {31, "RestoreFH"}, {32, "SaveFH"},
     {33, "SecInfo"},     {34, "SetAttr"},     {37, "Verify"},    {38, "Write"},
     {39, "RelLockOwner"}}};

template <size_t N>
void AddRequests(MetricFamily& f, const std::array<Method, N>& methods, const RpcLine& l,
                 const char* proto) {
  if (l.bad) return;
  for (const Method& m : methods) {
    AddSample(f, static_cast<double>(l.values[m.column]), {{"method", m.name}, {"proto", proto}});
  }
}

void One(std::vector<MetricFamily>& out, const char* name, const char* help, MetricType type,
         uint64_t v) {
  AddSample(AddFamily(out, name, help, type), static_cast<double>(v));
}

class NfsdCollector final : public Collector {
 public:
  explicit NfsdCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), file_(cfg.paths.Proc("net/rpc/nfsd")) {}
  std::string_view Name() const override { return "nfsd"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) {
      if (IsMissing(text.error(), file_.path())) return Ok{};  // no NFS server
      return text.error();
    }
    const RpcStats s = ParseRpcStats(*text, kRules);
    const auto ok = [&s](Line l) -> const std::vector<uint64_t>* {
      return s.lines[l].bad ? nullptr : &s.lines[l].values;
    };
    constexpr MetricType kC = MetricType::kCounter;
    if (const auto* rc = ok(kRc)) {
      One(out, "node_nfsd_reply_cache_hits_total",
          "Total number of NFSd Reply Cache hits (client lost server response).", kC, (*rc)[0]);
      One(out, "node_nfsd_reply_cache_misses_total",
          "Total number of NFSd Reply Cache an operation that requires caching (idempotent).", kC,
          (*rc)[1]);
      One(out, "node_nfsd_reply_cache_nocache_total",
          "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).", kC,
          (*rc)[2]);
    }
    if (const auto* fh = ok(kFh)) {
      // The other four file-handle counters are always 0 in the kernel; node_exporter skips them.
      One(out, "node_nfsd_file_handles_stale_total", "Total number of NFSd stale file handles", kC,
          (*fh)[0]);
    }
    if (const auto* io = ok(kIo)) {
      One(out, "node_nfsd_disk_bytes_read_total", "Total NFSd bytes read.", kC, (*io)[0]);
      One(out, "node_nfsd_disk_bytes_written_total", "Total NFSd bytes written.", kC, (*io)[1]);
    }
    if (const auto* th = ok(kTh)) {
      One(out, "node_nfsd_server_threads", "Total number of NFSd kernel threads that are running.",
          MetricType::kGauge, (*th)[0]);
    }
    if (const auto* ra = ok(kRa)) {
      One(out, "node_nfsd_read_ahead_cache_size_blocks",
          "How large the read ahead cache is in blocks.", MetricType::kGauge, (*ra)[0]);
      One(out, "node_nfsd_read_ahead_cache_not_found_total",
          "Total number of NFSd read ahead cache not found.", kC, (*ra)[11]);
    }
    if (const auto* net = ok(kNet)) {
      MetricFamily& p =
          AddFamily(out, "node_nfsd_packets_total",
                    "Total NFSd network packets (sent+received) by protocol type.", kC);
      AddSample(p, static_cast<double>((*net)[1]), {{"proto", "udp"}});
      AddSample(p, static_cast<double>((*net)[2]), {{"proto", "tcp"}});
      One(out, "node_nfsd_connections_total", "Total number of NFSd TCP connections.", kC,
          (*net)[3]);
    }
    if (const auto* rpc = ok(kRpc)) {
      MetricFamily& e = AddFamily(out, "node_nfsd_rpc_errors_total",
                                  "Total number of NFSd RPC errors by error type.", kC);
      AddSample(e, static_cast<double>((*rpc)[2]), {{"error", "fmt"}});
      AddSample(e, static_cast<double>((*rpc)[3]), {{"error", "auth"}});
      AddSample(e, static_cast<double>((*rpc)[4]), {{"error", "cInt"}});
      One(out, "node_nfsd_server_rpcs_total", "Total number of NFSd RPCs.", kC, (*rpc)[0]);
    }
    MetricFamily requests{"node_nfsd_requests_total",
                          "Total number NFSd Requests by method and protocol.",
                          kC,
                          {},
                          {}};
    // Columns count from the NULL procedure (proc2, proc3) and from opcode 0 (proc4ops).
    AddRequests(requests, kV2, s.lines[kProc2], "2");
    AddRequests(requests, kV3, s.lines[kProc3], "3");
    AddRequests(requests, kV4, s.lines[kProc4Ops], "4");
    if (!requests.samples.empty()) out.push_back(std::move(requests));
    return s.ToStatus(file_.path());
  }

 private:
  size_t max_;
  CachedFile file_;
};

}  // namespace

std::unique_ptr<Collector> NewNfsdCollector(const NodeOptions& cfg) {
  return std::make_unique<NfsdCollector>(cfg);
}

}  // namespace lookout
