// bcache: block-layer cache statistics from /sys/fs/bcache (node_exporter 1.5 with procfs 0.8's
// bcache package). Per cache set (label uuid, the directory name): node_bcache_
// {average_key_size_sectors, btree_cache_size_bytes, cache_available_percent, congested,
// root_usage_percent, tree_depth, active_journal_entries, btree_nodes,
// btree_read_average_duration_seconds} (gauges) and node_bcache_cache_read_races_total. Per
// backing device (labels backing_device = the set's bdev<N> link name, uuid):
// node_bcache_{dirty_data_bytes, dirty_target_bytes, writeback_rate,
// writeback_rate_proportional_term, writeback_rate_integral_term, writeback_change} (gauges, the
// last five from writeback_rate_debug) and the seven counters of the device's stats_total
// (node_bcache_{bypassed_bytes, cache_hits, cache_misses, cache_bypass_hits, cache_bypass_misses,
// cache_miss_collisions, cache_readaheads}_total). Per cache device (labels cache_device =
// cache<N>, uuid): node_bcache_io_errors (gauge), node_bcache_{metadata_written,written}_bytes_
// total and, with priority_stats on, node_bcache_priority_stats_{unused,metadata}_percent.
// Units as node_exporter's: btree_read_average_duration_us is multiplied by 1e-9 (procfs calls
// it nanoseconds), so the "seconds" are microseconds / 1e9, kept for parity.
//
// Which files are read and what they decide, as procfs 0.8: every value file of the set (the
// ten above plus stats_five_minute/* and stats_total/*, read only to be validated), of each
// bdev (dirty_data, writeback_rate_debug, stats_five_minute/*, stats_total/*) and of each cache
// (io_errors, metadata_written, written, priority_stats when on). A value file that does not
// exist reads 0 (so a cache link whose device vanished shows zeros, as node_exporter's);
// writeback_rate_debug and priority_stats must exist. Any other read error, or a value that
// does not parse (bcache.h), is an error.
//
// Where lookout differs: node_exporter fails the whole collector on any of those errors; here
// the set (for its own files), or only the backing or cache device (for that device's files),
// is left out with a partial error and the others kept. An empty value file, which panics
// node_exporter 1.5 and kills the process, is such an error. Names that are not UTF-8 get
// U+FFFD. No /sys/fs/bcache: no series, no failure (node_exporter: the same).
#include "agent/collectors/node/bcache.h"

#include <array>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/go_float.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<double> ParseBcachePseudoFloat(std::string_view s) {
  const size_t dot = s.find('.');
  const auto int_part = ParseGoFloat(s.substr(0, dot));
  if (!int_part)
    return MakeError("parse", "not a number: \"" + std::string(s.substr(0, dot)) + "\"");
  if (dot == std::string_view::npos) return *int_part;
  std::string_view frac = s.substr(dot + 1);
  frac = frac.substr(0, frac.find('.'));
  const auto frac_part = ParseGoFloat(frac);
  if (!frac_part) return MakeError("parse", "not a number: \"" + std::string(frac) + "\"");
  return *int_part + *frac_part / 10.24;
}

Result<uint64_t> BcacheDehumanize(std::string_view s) {
  if (s.empty()) return MakeError("parse", "zero-length reply");
  const auto last = static_cast<unsigned char>(s.back());
  double mul = 1;
  double mant = 0;
  if (last > '9') {
    switch (last) {
      case 'k':
        mul = 0x1p10;
        break;
      case 'M':
        mul = 0x1p20;
        break;
      case 'G':
        mul = 0x1p30;
        break;
      case 'T':
        mul = 0x1p40;
        break;
      case 'P':
        mul = 0x1p50;
        break;
      case 'E':
        mul = 0x1p60;
        break;
      case 'Z':
        mul = 0x1p70;
        break;
      case 'Y':
        mul = 0x1p80;
        break;
      default:
        mul = 0;
        break;  // procfs's map lookup of an unknown unit: 0
    }
    auto m = ParseBcachePseudoFloat(s.substr(0, s.size() - 1));
    if (!m.ok()) return m.error();
    mant = *m;
  } else {
    const auto m = ParseGoFloat(s);
    if (!m) return MakeError("parse", "not a number: \"" + std::string(s) + "\"");
    mant = *m;
  }
  return GoFloat64ToUint64(mant * mul);
}

Result<int64_t> BcacheDehumanizeSigned(std::string_view s) {
  const bool negative = !s.empty() && s.front() == '-';
  auto v = BcacheDehumanize(negative ? s.substr(1) : s);
  if (!v.ok()) return v.error();
  return static_cast<int64_t>(negative ? uint64_t{0} - *v : *v);  // modular, as Go's
}

Result<uint64_t> ParseBcacheValue(std::string_view content) {
  if (content.empty()) {
    return MakeError("parse", "empty file (node_exporter 1.5 panics on it)");
  }
  content.remove_suffix(1);  // procfs drops the last byte, newline or not
  return BcacheDehumanize(content);
}

namespace {

bool HasPrefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view TrimSuffix(std::string_view s, std::string_view suffix) {
  if (s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
    s.remove_suffix(suffix.size());
  }
  return s;
}

std::string_view LastField(std::string_view line, std::vector<std::string_view>& fields) {
  SplitGoFields(line, fields);
  return fields.empty() ? std::string_view() : fields.back();
}

Error LineError(std::string_view label, const Error& e) {
  return MakeError("parse", std::string(label) + " " + e.detail);
}

}  // namespace

Result<BcacheWritebackRateDebug> ParseBcacheWritebackRateDebug(std::string_view text) {
  BcacheWritebackRateDebug d;
  GoLineScanner lines(text);
  std::vector<std::string_view> fields;
  for (std::string_view line; lines.Next(line);) {
    uint64_t* unsigned_out = nullptr;
    int64_t* signed_out = nullptr;
    std::string_view label;
    std::string_view suffix;
    if (HasPrefix(line, "rate:")) {
      label = "rate:", suffix = "/sec", unsigned_out = &d.rate;
    } else if (HasPrefix(line, "dirty:")) {
      label = "dirty:", unsigned_out = &d.dirty;
    } else if (HasPrefix(line, "target:")) {
      label = "target:", unsigned_out = &d.target;
    } else if (HasPrefix(line, "proportional:")) {
      label = "proportional:", signed_out = &d.proportional;
    } else if (HasPrefix(line, "integral:")) {
      label = "integral:", signed_out = &d.integral;
    } else if (HasPrefix(line, "change:")) {
      label = "change:", suffix = "/sec", signed_out = &d.change;
    } else if (HasPrefix(line, "next io:")) {
      const std::string_view v = TrimSuffix(LastField(line, fields), "ms");
      const auto n = ParseGoInt(v, 10);
      if (!n) return MakeError("parse", "next io: not a decimal int64: \"" + std::string(v) + "\"");
      d.next_io_ms = *n;
      continue;
    } else {
      continue;
    }
    std::string_view v = LastField(line, fields);
    if (!suffix.empty()) v = TrimSuffix(v, suffix);
    if (unsigned_out != nullptr) {
      auto r = BcacheDehumanize(v);
      if (!r.ok()) return LineError(label, r.error());
      *unsigned_out = *r;
    } else {
      auto r = BcacheDehumanizeSigned(v);
      if (!r.ok()) return LineError(label, r.error());
      *signed_out = *r;
    }
  }
  if (lines.too_long()) return MakeError("parse", "a line longer than 64 KiB");
  return d;
}

Result<BcachePriorityStats> ParseBcachePriorityStats(std::string_view text) {
  BcachePriorityStats p;
  GoLineScanner lines(text);
  std::vector<std::string_view> fields;
  for (std::string_view line; lines.Next(line);) {
    uint64_t* out = nullptr;
    if (HasPrefix(line, "Unused:")) {
      out = &p.unused_percent;
    } else if (HasPrefix(line, "Metadata:")) {
      out = &p.metadata_percent;
    } else {
      continue;
    }
    const std::string_view v = TrimSuffix(LastField(line, fields), "%");
    const auto n = ParseGoUint(v, 10);
    if (!n) {
      return MakeError("parse", std::string(line.substr(0, line.find(':') + 1)) +
                                    " not a decimal percentage: \"" + std::string(v) + "\"");
    }
    *out = *n;
  }
  if (lines.too_long()) return MakeError("parse", "a line longer than 64 KiB");
  return p;
}

bool IsBcacheSetName(std::string_view name) { return name.find('-') != std::string_view::npos; }

bool IsBcacheDeviceLink(std::string_view name, std::string_view prefix) {
  return name.size() > prefix.size() && HasPrefix(name, prefix) && name[prefix.size()] >= '0' &&
         name[prefix.size()] <= '9';
}

namespace {

struct BcacheFamily {
  const char* name;
  const char* help;
  MetricType type;
};

enum FamilyIndex : size_t {
  kAverageKeySize,
  kBtreeCacheSize,
  kCacheAvailablePercent,
  kCongested,
  kRootUsagePercent,
  kTreeDepth,
  kActiveJournalEntries,
  kBtreeNodes,
  kBtreeReadAverageDuration,
  kCacheReadRaces,
  kDirtyData,
  kDirtyTarget,
  kWritebackRate,
  kWritebackProportional,
  kWritebackIntegral,
  kWritebackChange,
  kBypassed,
  kCacheHits,
  kCacheMisses,
  kCacheBypassHits,
  kCacheBypassMisses,
  kCacheMissCollisions,
  kCacheReadaheads,
  kIoErrors,
  kMetadataWritten,
  kWritten,
  kPriorityUnused,
  kPriorityMetadata,
  kFamilyCount,
};

// node_exporter 1.5's names, help texts and types, in FamilyIndex order.
constexpr std::array<BcacheFamily, kFamilyCount> kFamilies = {{
    {"node_bcache_average_key_size_sectors", "Average data per key in the btree (sectors).",
     MetricType::kGauge},
    {"node_bcache_btree_cache_size_bytes", "Amount of memory currently used by the btree cache.",
     MetricType::kGauge},
    {"node_bcache_cache_available_percent",
     "Percentage of cache device without dirty data, usable for writeback (may contain clean "
     "cached data).",
     MetricType::kGauge},
    {"node_bcache_congested", "Congestion.", MetricType::kGauge},
    {"node_bcache_root_usage_percent",
     "Percentage of the root btree node in use (tree depth increases if too high).",
     MetricType::kGauge},
    {"node_bcache_tree_depth", "Depth of the btree.", MetricType::kGauge},
    {"node_bcache_active_journal_entries",
     "Number of journal entries that are newer than the index.", MetricType::kGauge},
    {"node_bcache_btree_nodes", "Total nodes in the btree.", MetricType::kGauge},
    {"node_bcache_btree_read_average_duration_seconds", "Average btree read duration.",
     MetricType::kGauge},
    {"node_bcache_cache_read_races_total",
     "Counts instances where while data was being read from the cache, the bucket was reused "
     "and invalidated - i.e. where the pointer was stale after the read completed.",
     MetricType::kCounter},
    {"node_bcache_dirty_data_bytes", "Amount of dirty data for this backing device in the cache.",
     MetricType::kGauge},
    {"node_bcache_dirty_target_bytes",
     "Current dirty data target threshold for this backing device in bytes.", MetricType::kGauge},
    {"node_bcache_writeback_rate", "Current writeback rate for this backing device in bytes.",
     MetricType::kGauge},
    {"node_bcache_writeback_rate_proportional_term",
     "Current result of proportional controller, part of writeback rate", MetricType::kGauge},
    {"node_bcache_writeback_rate_integral_term",
     "Current result of integral controller, part of writeback rate", MetricType::kGauge},
    {"node_bcache_writeback_change", "Last writeback rate change step for this backing device.",
     MetricType::kGauge},
    {"node_bcache_bypassed_bytes_total",
     "Amount of IO (both reads and writes) that has bypassed the cache.", MetricType::kCounter},
    {"node_bcache_cache_hits_total", "Hits counted per individual IO as bcache sees them.",
     MetricType::kCounter},
    {"node_bcache_cache_misses_total", "Misses counted per individual IO as bcache sees them.",
     MetricType::kCounter},
    {"node_bcache_cache_bypass_hits_total", "Hits for IO intended to skip the cache.",
     MetricType::kCounter},
    {"node_bcache_cache_bypass_misses_total", "Misses for IO intended to skip the cache.",
     MetricType::kCounter},
    {"node_bcache_cache_miss_collisions_total",
     "Instances where data insertion from cache miss raced with write (data already present).",
     MetricType::kCounter},
    {"node_bcache_cache_readaheads_total", "Count of times readahead occurred.",
     MetricType::kCounter},
    {"node_bcache_io_errors", "Number of errors that have occurred, decayed by io_error_halflife.",
     MetricType::kGauge},
    {"node_bcache_metadata_written_bytes_total",
     "Sum of all non data writes (btree writes and all other metadata).", MetricType::kCounter},
    {"node_bcache_written_bytes_total", "Sum of all data that has been written to the cache.",
     MetricType::kCounter},
    {"node_bcache_priority_stats_unused_percent",
     "The percentage of the cache that doesn't contain any data.", MetricType::kGauge},
    {"node_bcache_priority_stats_metadata_percent", "Bcache's metadata overhead.",
     MetricType::kGauge},
}};

// The files of a stats_* directory, procfs's order; stats_total's are exposed in this order
// from kBypassed on.
constexpr std::array<std::string_view, 7> kPeriodFiles = {
    "bypassed",          "cache_hits",          "cache_misses",
    "cache_bypass_hits", "cache_bypass_misses", "cache_miss_collisions",
    "cache_readaheads"};

struct Staged {
  size_t family;
  double value;
  Labels labels;
};

class BcacheCollector final : public Collector {
 public:
  explicit BcacheCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("fs/bcache")),
        priority_stats_(cfg.bcache_priority_stats),
        max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "bcache"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const auto entries = ReadDirNames(dir_);
    if (!entries) return Ok{};  // no bcache module: no series, no failure
    std::vector<MetricFamily> families;
    families.reserve(kFamilies.size());
    for (const BcacheFamily& f : kFamilies) families.push_back({f.name, f.help, f.type, {}, {}});
    SkippedEntries skipped;
    std::vector<Staged> staged;
    for (const std::string& set : *entries) {
      if (!IsBcacheSetName(set)) continue;
      staged.clear();
      CollectSet(set, staged, skipped);
      for (Staged& s : staged) AddSample(families[s.family], s.value, std::move(s.labels));
    }
    for (MetricFamily& f : families) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return skipped.ToStatus();
  }

 private:
  // procfs's readValue: an absent file reads 0.
  Result<uint64_t> ReadValue(const std::string& path) const {
    auto text = kept_.ReadFileLimited(path, max_);
    if (!text.ok()) {
      if (IsMissing(text.error(), path)) return uint64_t{0};
      return MakeError(text.error().reason, text.error().detail);
    }
    auto v = ParseBcacheValue(*text);
    if (!v.ok()) return MakeError("parse", path + ": " + v.error().detail);
    return v;
  }

  // Reads every file of `files` under `dir` into `values` (may be null: validated only).
  bool ReadValues(const std::string& dir, std::string_view const* files, size_t n, uint64_t* values,
                  SkippedEntries& skipped) const {
    for (size_t i = 0; i < n; ++i) {
      auto v = ReadValue(dir + "/" + std::string(files[i]));
      if (!v.ok()) {
        skipped.Add(v.error());
        return false;
      }
      if (values != nullptr) values[i] = *v;
    }
    return true;
  }

  bool ReadPeriods(const std::string& dir, std::array<uint64_t, 7>& total,
                   SkippedEntries& skipped) const {
    return ReadValues(dir + "/stats_five_minute", kPeriodFiles.data(), kPeriodFiles.size(), nullptr,
                      skipped) &&
           ReadValues(dir + "/stats_total", kPeriodFiles.data(), kPeriodFiles.size(), total.data(),
                      skipped);
  }

  template <typename T>
  bool ReadParsed(const std::string& path, Result<T> (*parse)(std::string_view), T& out,
                  SkippedEntries& skipped) const {
    auto text = kept_.ReadFileLimited(path, max_);
    if (!text.ok()) {  // procfs opens these with os.Open: absent is an error too
      skipped.Add(MakeError(text.error().reason, text.error().detail));
      return false;
    }
    auto v = parse(*text);
    if (!v.ok()) {
      skipped.Add(MakeError("parse", path + ": " + v.error().detail));
      return false;
    }
    out = *v;
    return true;
  }

  void CollectSet(const std::string& set, std::vector<Staged>& staged,
                  SkippedEntries& skipped) const {
    const std::string path = dir_ + "/" + set;
    const std::string uuid = ToValidUtf8(set);
    static constexpr std::array<std::string_view, 6> kSetFiles = {
        "average_key_size", "btree_cache_size",   "cache_available_percent",
        "congested",        "root_usage_percent", "tree_depth"};
    static constexpr std::array<std::string_view, 4> kInternalFiles = {
        "active_journal_entries", "btree_nodes", "btree_read_average_duration_us",
        "cache_read_races"};
    std::array<uint64_t, 10> v{};
    std::array<uint64_t, 7> set_total{};
    if (!ReadValues(path, kSetFiles.data(), kSetFiles.size(), v.data(), skipped) ||
        !ReadValues(path + "/internal", kInternalFiles.data(), kInternalFiles.size(), v.data() + 6,
                    skipped) ||
        !ReadPeriods(path, set_total, skipped)) {
      return;  // the set's own files: the whole set is left out
    }
    const auto links = ReadDirNames(path);
    if (!links) {
      skipped.Add(MakeError("open", path + ": cannot be listed"));
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      double value = static_cast<double>(v[i]);
      if (i == kBtreeReadAverageDuration) value *= 1e-9;  // node_exporter's factor, kept
      staged.push_back({i, value, {{"uuid", uuid}}});
    }
    for (const std::string& link : *links) {
      if (IsBcacheDeviceLink(link, "bdev")) CollectBdev(path, uuid, link, staged, skipped);
    }
    for (const std::string& link : *links) {
      if (IsBcacheDeviceLink(link, "cache")) CollectCache(path, uuid, link, staged, skipped);
    }
  }

  void CollectBdev(const std::string& set_path, const std::string& uuid, const std::string& name,
                   std::vector<Staged>& staged, SkippedEntries& skipped) const {
    const std::string path = set_path + "/" + name;
    auto dirty = ReadValue(path + "/dirty_data");
    if (!dirty.ok()) {
      skipped.Add(dirty.error());
      return;
    }
    BcacheWritebackRateDebug wrd;
    std::array<uint64_t, 7> total{};
    if (!ReadParsed(path + "/writeback_rate_debug", &ParseBcacheWritebackRateDebug, wrd, skipped) ||
        !ReadPeriods(path, total, skipped)) {
      return;
    }
    const Labels labels = {{"backing_device", ToValidUtf8(name)}, {"uuid", uuid}};
    staged.push_back({kDirtyData, static_cast<double>(*dirty), labels});
    staged.push_back({kDirtyTarget, static_cast<double>(wrd.target), labels});
    staged.push_back({kWritebackRate, static_cast<double>(wrd.rate), labels});
    staged.push_back({kWritebackProportional, static_cast<double>(wrd.proportional), labels});
    staged.push_back({kWritebackIntegral, static_cast<double>(wrd.integral), labels});
    staged.push_back({kWritebackChange, static_cast<double>(wrd.change), labels});
    for (size_t i = 0; i < total.size(); ++i) {
      staged.push_back({kBypassed + i, static_cast<double>(total[i]), labels});
    }
  }

  void CollectCache(const std::string& set_path, const std::string& uuid, const std::string& name,
                    std::vector<Staged>& staged, SkippedEntries& skipped) const {
    const std::string path = set_path + "/" + name;
    static constexpr std::array<std::string_view, 3> kCacheFiles = {"io_errors", "metadata_written",
                                                                    "written"};
    std::array<uint64_t, 3> v{};
    if (!ReadValues(path, kCacheFiles.data(), kCacheFiles.size(), v.data(), skipped)) return;
    BcachePriorityStats prio;
    if (priority_stats_ &&
        !ReadParsed(path + "/priority_stats", &ParseBcachePriorityStats, prio, skipped)) {
      return;
    }
    const Labels labels = {{"cache_device", ToValidUtf8(name)}, {"uuid", uuid}};
    for (size_t i = 0; i < v.size(); ++i) {
      staged.push_back({kIoErrors + i, static_cast<double>(v[i]), labels});
    }
    if (priority_stats_) {
      staged.push_back({kPriorityUnused, static_cast<double>(prio.unused_percent), labels});
      staged.push_back({kPriorityMetadata, static_cast<double>(prio.metadata_percent), labels});
    }
  }

  const std::string dir_;
  const bool priority_stats_;
  const size_t max_;
  mutable KeptFiles kept_;  // read within Collect's Scrape
};

}  // namespace

std::unique_ptr<Collector> NewBcacheCollector(const NodeOptions& cfg) {
  return std::make_unique<BcacheCollector>(cfg);
}

std::vector<Option<NodeOptions>> BcacheOptionRows() {
  return {option::Bool<NodeOptions>(
      "priority_stats", &NodeOptions::bcache_priority_stats, "false",
      "`--collector.bcache.priorityStats`: also read each cache device's priority_stats "
      "(expensive for the kernel: it sorts every bucket's priority) for "
      "node_bcache_priority_stats_{unused,metadata}_percent")};
}

}  // namespace lookout
