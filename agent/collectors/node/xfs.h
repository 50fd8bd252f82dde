#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// The counters of one XFS statistics file that node_exporter 1.5 exposes, by line of the file
// (the kernel's xfs_stats_format: "<label> <value> <value> ..." per line, u32 counters printed
// with %u, the "xpc" byte counters as u64). Counts, no units.
struct XfsStats {
  std::array<uint32_t, 4> extent_alloc{};  // extent_alloc: extents, blocks allocated; freed
  std::array<uint32_t, 4> abt{};           // abt: lookups, compares, inserts, deletes
  std::array<uint32_t, 7> blk_map{};       // blk_map: reads, writes, unmaps, list ins/del/look/cmp
  std::array<uint32_t, 4> bmbt{};          // bmbt: as abt
  std::array<uint32_t, 4> dir{};           // dir: lookup, create, remove, getdents
  std::array<uint32_t, 7> ig{};      // ig: attempts, found, recycle, missed, dup, reclaims, attrchg
  std::array<uint32_t, 2> rw{};      // rw: write calls, read calls (the kernel's order)
  std::array<uint32_t, 7> vnodes{};  // vnodes: active, alloc, get, hold, rele, reclaim, remove
};

// procfs 0.8's xfs.ParseStats, which node_exporter 1.5 runs on each
// /sys/fs/xfs/<device>/stats/stats: lines as Go's bufio.Scanner splits them (a line over 64 KiB
// is an error), fields as strings.Fields; a line with fewer than two fields is skipped; the
// values of "xpc" must be three decimal u64s, those of every other line decimal u32s (lines
// procfs does not know included: "defer_relog 4294967296" fails the file, "gc xpc 0" too). Known
// lines must have exactly their count of values: extent_alloc, abt, bmbt, dir, attr 4;
// blk_map, ig 7; trans, icluster 3; log 5; push_ail 10; xstrat, rw 2; vnodes 7 or 8; buf 9;
// abtb2, abtc2, bmbt2, ibt2 15; qm 8 or 9; debug 1. A line seen twice: the last one counts; a
// line that is absent: zeros (so an empty file parses, all zeros, as in node_exporter).
// Error reason "parse" where procfs returns an error (node_exporter then fails the collector).
Result<XfsStats> ParseXfsStats(std::string_view text);

}  // namespace lookout
