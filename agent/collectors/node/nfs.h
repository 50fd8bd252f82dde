#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// How one keyword line of /proc/net/rpc/nfs or /proc/net/rpc/nfsd is read (the kernel's
// svc_seq_show / rpc_proc_show, fs/nfsd/stats.c), as procfs 0.8's nfs package checks it:
// "<key> <v1> <v2> ...", every value a decimal uint64 (Go's ParseUint base 10).
struct RpcLineRule {
  std::string_view key;
  // The first value counts the ones after it ("proc3 22 ..."), and must equal that number.
  bool counted = false;
  size_t min = 0;         // values the line must have (after the count, when counted)
  size_t max = SIZE_MAX;  // and may have at most
  size_t kept = 0;        // values kept, zero-padded (procfs pads a short proc4 line)
  bool parse_all = true;  // false: only the kept values are parsed ("th" has floats after them)
};

// One rule's outcome. `values` has rule.kept entries: the line's values, or zeros when the file
// has no such line (procfs's zero value, which node_exporter exposes). `bad` is set when the
// line is there but breaks its rule or holds a value that is not a number: its series are left
// out, where node_exporter 1.5 fails the whole collector.
struct RpcLine {
  std::vector<uint64_t> values;
  bool bad = false;
};

struct RpcStats {
  std::vector<RpcLine> lines;         // one per rule, in the rules' order
  std::vector<std::string> problems;  // one per bad line, for the collector's partial error

  // Ok, or a partial "parse" error naming `path` and the first problem.
  Status ToStatus(const std::string& path) const;
};

// Splits the file into lines as Go's bufio.Scanner does; a line over 64 KiB stops the scan, a
// problem, and the sections not seen before it are bad. A line with fewer than two fields is a
// problem on its own; a line whose key no rule names is skipped (kernels add lines: 6.7's nfsd
// has "wdeleg_getattr", on which node_exporter 1.5 fails the whole collector). When a key
// appears twice, the last line wins, as in procfs.
RpcStats ParseRpcStats(std::string_view text, std::span<const RpcLineRule> rules);

}  // namespace lookout
