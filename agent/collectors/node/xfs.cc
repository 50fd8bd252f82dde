// xfs: per-filesystem XFS counters from /sys/fs/xfs/<device>/stats/stats (node_exporter 1.5,
// procfs 0.8's xfs.FS.SysStats; /proc/fs/xfs/stat, the sum over all filesystems, is not read):
// 39 counter families node_xfs_{extent_allocation,allocation_btree,block_mapping,block_map_btree,
// directory_operation,inode_operation,vnode}_*_total and node_xfs_{read,write}_calls_total, all by
// `device` (the directory name under /sys/fs/xfs).
//
// Which series exist, as node_exporter's: all 39 for every entry of /sys/fs/xfs that has a
// stats/stats (Go's filepath.Glob "fs/xfs/*/stats/stats", so the global /sys/fs/xfs/stats/ is not
// one), every value of a line absent from the file being 0. No /sys/fs/xfs (no XFS mounted or
// no xfs module): no series, no failure. A file that cannot be read or does not parse as procfs
// parses it (a value that is not a decimal u32, a known line with the wrong count, any line
// with a word where a number belongs) leaves that filesystem out with a partial error and keeps
// the others; node_exporter fails the whole collector there (a deliberate difference, README).
// A device name that is not UTF-8 gets U+FFFD as Go's strings.ToValidUTF8 (node_exporter
// panics on it).
#include "agent/collectors/node/xfs.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

template <size_t N>
bool Take(const std::vector<uint32_t>& v, std::array<uint32_t, N>& out) {
  if (v.size() != N) return false;
  std::copy(v.begin(), v.end(), out.begin());
  return true;
}

}  // namespace

Result<XfsStats> ParseXfsStats(std::string_view text) {
  XfsStats s;
  GoLineScanner lines(text);
  std::vector<std::string_view> f;
  std::vector<uint32_t> u;
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (f.size() < 2) continue;
    const std::string_view label = f[0];
    if (label == "xpc") {  // u64 byte counters; node_exporter exposes none of them
      for (size_t i = 1; i < f.size(); ++i) {
        if (!ParseGoUint(f[i], 10)) return MakeError("parse", "xpc: not a decimal u64");
      }
      if (f.size() != 4) return MakeError("parse", "xpc: not 3 values");
      continue;
    }
    u.clear();
    for (size_t i = 1; i < f.size(); ++i) {
      const auto v = ParseGoUint(f[i], 10);
      if (!v || *v > UINT32_MAX) {
        return MakeError("parse", std::string(label) + ": a value that is not a decimal u32");
      }
      u.push_back(static_cast<uint32_t>(*v));
    }
    const size_t n = u.size();
    bool ok = true;
    if (label == "extent_alloc") {
      ok = Take(u, s.extent_alloc);
    } else if (label == "abt") {
      ok = Take(u, s.abt);
    } else if (label == "blk_map") {
      ok = Take(u, s.blk_map);
    } else if (label == "bmbt") {
      ok = Take(u, s.bmbt);
    } else if (label == "dir") {
      ok = Take(u, s.dir);
    } else if (label == "ig") {
      ok = Take(u, s.ig);
    } else if (label == "rw") {
      ok = Take(u, s.rw);
    } else if (label == "vnodes") {  // 8 since the kernel added "free"; 7 before
      ok = n == 7 || n == 8;
      if (ok) std::copy(u.begin(), u.begin() + 7, s.vnodes.begin());
    } else if (label == "trans" || label == "icluster") {
      ok = n == 3;
    } else if (label == "log") {
      ok = n == 5;
    } else if (label == "push_ail") {
      ok = n == 10;
    } else if (label == "xstrat") {
      ok = n == 2;
    } else if (label == "attr") {
      ok = n == 4;
    } else if (label == "buf") {
      ok = n == 9;
    } else if (label == "abtb2" || label == "abtc2" || label == "bmbt2" || label == "ibt2") {
      ok = n == 15;
    } else if (label == "qm") {  // 9 since Linux 4.20 ("unused")
      ok = n == 8 || n == 9;
    } else if (label == "debug") {
      ok = n == 1;
    }
    if (!ok) {
      return MakeError("parse", std::string(label) + ": " + std::to_string(n) +
                                    " values, not the count this line has");
    }
  }
  if (lines.too_long()) return MakeError("parse", "a line longer than 64 KiB");
  return s;
}

namespace {

struct XfsFamily {
  const char* name;
  const char* help;
  uint32_t (*value)(const XfsStats&);
};

#define XFS_FIELD(group, i) [](const XfsStats& s) { return s.group[i]; }

// node_exporter 1.5's order and help texts (its help for remove says "created", kept as is).
const std::array<XfsFamily, 39> kFamilies = {{
    {"node_xfs_extent_allocation_extents_allocated_total",
     "Number of extents allocated for a filesystem.", XFS_FIELD(extent_alloc, 0)},
    {"node_xfs_extent_allocation_blocks_allocated_total",
     "Number of blocks allocated for a filesystem.", XFS_FIELD(extent_alloc, 1)},
    {"node_xfs_extent_allocation_extents_freed_total", "Number of extents freed for a filesystem.",
     XFS_FIELD(extent_alloc, 2)},
    {"node_xfs_extent_allocation_blocks_freed_total", "Number of blocks freed for a filesystem.",
     XFS_FIELD(extent_alloc, 3)},
    {"node_xfs_allocation_btree_lookups_total",
     "Number of allocation B-tree lookups for a filesystem.", XFS_FIELD(abt, 0)},
    {"node_xfs_allocation_btree_compares_total",
     "Number of allocation B-tree compares for a filesystem.", XFS_FIELD(abt, 1)},
    {"node_xfs_allocation_btree_records_inserted_total",
     "Number of allocation B-tree records inserted for a filesystem.", XFS_FIELD(abt, 2)},
    {"node_xfs_allocation_btree_records_deleted_total",
     "Number of allocation B-tree records deleted for a filesystem.", XFS_FIELD(abt, 3)},
    {"node_xfs_block_mapping_reads_total",
     "Number of block map for read operations for a filesystem.", XFS_FIELD(blk_map, 0)},
    {"node_xfs_block_mapping_writes_total",
     "Number of block map for write operations for a filesystem.", XFS_FIELD(blk_map, 1)},
    {"node_xfs_block_mapping_unmaps_total", "Number of block unmaps (deletes) for a filesystem.",
     XFS_FIELD(blk_map, 2)},
    {"node_xfs_block_mapping_extent_list_insertions_total",
     "Number of extent list insertions for a filesystem.", XFS_FIELD(blk_map, 3)},
    {"node_xfs_block_mapping_extent_list_deletions_total",
     "Number of extent list deletions for a filesystem.", XFS_FIELD(blk_map, 4)},
    {"node_xfs_block_mapping_extent_list_lookups_total",
     "Number of extent list lookups for a filesystem.", XFS_FIELD(blk_map, 5)},
    {"node_xfs_block_mapping_extent_list_compares_total",
     "Number of extent list compares for a filesystem.", XFS_FIELD(blk_map, 6)},
    {"node_xfs_block_map_btree_lookups_total",
     "Number of block map B-tree lookups for a filesystem.", XFS_FIELD(bmbt, 0)},
    {"node_xfs_block_map_btree_compares_total",
     "Number of block map B-tree compares for a filesystem.", XFS_FIELD(bmbt, 1)},
    {"node_xfs_block_map_btree_records_inserted_total",
     "Number of block map B-tree records inserted for a filesystem.", XFS_FIELD(bmbt, 2)},
    {"node_xfs_block_map_btree_records_deleted_total",
     "Number of block map B-tree records deleted for a filesystem.", XFS_FIELD(bmbt, 3)},
    {"node_xfs_directory_operation_lookup_total",
     "Number of file name directory lookups which miss the operating systems directory name "
     "lookup cache.",
     XFS_FIELD(dir, 0)},
    {"node_xfs_directory_operation_create_total",
     "Number of times a new directory entry was created for a filesystem.", XFS_FIELD(dir, 1)},
    {"node_xfs_directory_operation_remove_total",
     "Number of times an existing directory entry was created for a filesystem.",
     XFS_FIELD(dir, 2)},
    {"node_xfs_directory_operation_getdents_total",
     "Number of times the directory getdents operation was performed for a filesystem.",
     XFS_FIELD(dir, 3)},
    {"node_xfs_inode_operation_attempts_total",
     "Number of times the OS looked for an XFS inode in the inode cache.", XFS_FIELD(ig, 0)},
    {"node_xfs_inode_operation_found_total",
     "Number of times the OS looked for and found an XFS inode in the inode cache.",
     XFS_FIELD(ig, 1)},
    {"node_xfs_inode_operation_recycled_total",
     "Number of times the OS found an XFS inode in the cache, but could not use it as it was "
     "being recycled.",
     XFS_FIELD(ig, 2)},
    {"node_xfs_inode_operation_missed_total",
     "Number of times the OS looked for an XFS inode in the cache, but did not find it.",
     XFS_FIELD(ig, 3)},
    {"node_xfs_inode_operation_duplicates_total",
     "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it "
     "had already been added by another process.",
     XFS_FIELD(ig, 4)},
    {"node_xfs_inode_operation_reclaims_total",
     "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for "
     "another purpose.",
     XFS_FIELD(ig, 5)},
    {"node_xfs_inode_operation_attribute_changes_total",
     "Number of times the OS explicitly changed the attributes of an XFS inode.", XFS_FIELD(ig, 6)},
    // procfs 0.8 reads "rw" as write calls then read calls, the kernel's order.
    {"node_xfs_read_calls_total", "Number of read(2) system calls made to files in a filesystem.",
     XFS_FIELD(rw, 1)},
    {"node_xfs_write_calls_total", "Number of write(2) system calls made to files in a filesystem.",
     XFS_FIELD(rw, 0)},
    {"node_xfs_vnode_active_total", "Number of vnodes not on free lists for a filesystem.",
     XFS_FIELD(vnodes, 0)},
    {"node_xfs_vnode_allocate_total", "Number of times vn_alloc called for a filesystem.",
     XFS_FIELD(vnodes, 1)},
    {"node_xfs_vnode_get_total", "Number of times vn_get called for a filesystem.",
     XFS_FIELD(vnodes, 2)},
    {"node_xfs_vnode_hold_total", "Number of times vn_hold called for a filesystem.",
     XFS_FIELD(vnodes, 3)},
    {"node_xfs_vnode_release_total", "Number of times vn_rele called for a filesystem.",
     XFS_FIELD(vnodes, 4)},
    {"node_xfs_vnode_reclaim_total", "Number of times vn_reclaim called for a filesystem.",
     XFS_FIELD(vnodes, 5)},
    {"node_xfs_vnode_remove_total", "Number of times vn_remove called for a filesystem.",
     XFS_FIELD(vnodes, 6)},
}};

#undef XFS_FIELD

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class XfsCollector final : public Collector {
 public:
  explicit XfsCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("fs/xfs")), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "xfs"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto entries = ReadDirNames(dir_);
    if (!entries) return Ok{};  // no XFS: no series, no failure
    std::vector<MetricFamily> families;
    families.reserve(kFamilies.size());
    for (const XfsFamily& f : kFamilies) {
      families.push_back({f.name, f.help, MetricType::kCounter, {}, {}});
    }
    SkippedEntries skipped;
    for (const std::string& device : *entries) {
      // What Go's Glob "*/stats/stats" matches: <device> and <device>/stats are directories
      // (symlinks followed) and the latter lists an entry named "stats".
      const std::string stats_dir = dir_ + "/" + device + "/stats";
      const std::string path = stats_dir + "/stats";
      if (!IsDir(dir_ + "/" + device) || !IsDir(stats_dir) || !Exists(path)) continue;
      const auto text = ReadFileLimited(path, max_);
      if (!text.ok()) {
        skipped.Add(MakeError(text.error().reason, path + ": " + text.error().detail));
        continue;
      }
      const auto stats = ParseXfsStats(*text);
      if (!stats.ok()) {
        skipped.Add(MakeError("parse", path + ": " + stats.error().detail));
        continue;
      }
      const std::string label = ToValidUtf8(device);
      for (size_t i = 0; i < kFamilies.size(); ++i) {
        AddSample(families[i], kFamilies[i].value(*stats), {{"device", label}});
      }
    }
    for (MetricFamily& f : families) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return skipped.ToStatus();
  }

 private:
  const std::string dir_;
  const size_t max_;
};

}  // namespace

std::unique_ptr<Collector> NewXfsCollector(const NodeOptions& cfg) {
  return std::make_unique<XfsCollector>(cfg);
}

}  // namespace lookout
