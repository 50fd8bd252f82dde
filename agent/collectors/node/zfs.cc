// zfs: OpenZFS statistics from /proc/spl/kstat/zfs (node_exporter 1.5), all untyped except
// node_zfs_zpool_state:
//   node_zfs_<subsystem>_<row>  one per type-4 row of abdstats (zfs_abd), arcstats (zfs_arc),
//     dbuf_stats (zfs_dbuf), dmu_tx (zfs_dmu_tx), dnodestats (zfs_dnode), fm (zfs_fm),
//     vdev_cache_stats (zfs_vdev_cache), vdev_mirror_stats (zfs_vdev_mirror), xuio_stats
//     (zfs_xuio), zfetchstats (zfs_zfetch), zil (zfs_zil); HELP kstat.zfs.misc.<file>.<row>;
//   node_zfs_zpool_<column>{zpool}  from <pool>/io (gone since OpenZFS 2.1);
//   node_zfs_zpool_dataset_<row>{zpool,dataset}  from <pool>/objset-0x<id>, one per dataset;
//   node_zfs_zpool_state{zpool,state}  gauge, 1 for the pool's state among six (no suspended).
//
// Which series exist, as node_exporter's: a row of type 4 (uint64) only, so OpenZFS 2.1's
// arcstats memory_available_bytes (type 3) is not reported; node_exporter 1.5 reads
// "dbuf_stats", a name OpenZFS never used (the file is dbufstats), so node_zfs_dbuf_* never
// appears on a real system; a file that is absent (or cannot be opened) is skipped silently. Two
// series of one name and labels (a row twice, a pool's second io line): the first is kept; a
// family named twice with two help texts ("erpt-dropped" next to "erpt_dropped"): the first
// file's rows are kept; node_exporter's registry drops the same ones (a partial error here).
//
// Deliberate differences (README): no /proc/spl/kstat/zfs (no zfs module) is success with no
// series (node_exporter: success 0). A file that does not parse (no "name type data" header, a
// value that is not a uint64, a line over 64 KiB, a row whose name makes an invalid metric name)
// is left out whole with a partial error and the other files kept; node_exporter fails the
// collector there, keeping whatever its random map order had sent before (or, for an invalid
// name or a short io line, panics and takes the whole process down). Pool and dataset label
// values are repaired to UTF-8 (node_exporter panics on invalid UTF-8).
#include "agent/collectors/node/zfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/node/registry_families.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

bool IsKstatHeader(const std::vector<std::string_view>& f) {
  return f.size() == 3 && f[0] == "name" && f[1] == "type" && f[2] == "data";
}

constexpr std::string_view kKstatDataUint64 = "4";

}  // namespace

Result<std::vector<ZfsKstatValue>> ParseZfsKstat(std::string_view text) {
  std::vector<ZfsKstatValue> out;
  std::vector<std::string_view> f;
  bool header = false;
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (!header && IsKstatHeader(f)) {
      header = true;
      continue;
    }
    if (!header || f.size() < 3 || f[1] != kKstatDataUint64) continue;
    const auto v = ParseGoUint(f[2], 10);
    if (!v) {
      return MakeError("parse", "row " + ToValidUtf8(f[0]) + ": \"" + ToValidUtf8(f[2]) +
                                    "\" is not an unsigned 64-bit decimal");
    }
    out.push_back({std::string(f[0]), *v});
  }
  if (!header) return MakeError("parse", "no \"name type data\" header line");
  if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
  return out;
}

Result<std::vector<ZfsObjsetValue>> ParseZfsObjset(std::string_view text) {
  std::vector<ZfsObjsetValue> out;
  std::vector<std::string_view> f;
  bool header = false;
  bool named = false;
  std::string dataset;
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (!header && IsKstatHeader(f)) {
      header = true;
      continue;
    }
    if (!header || f.size() < 3) continue;
    if (f[0] == "dataset_name") {
      named = true;
      dataset = std::string(f[2]);
      continue;
    }
    if (f[1] != kKstatDataUint64) continue;
    const auto v = ParseGoUint(f[2], 10);
    if (!v) {
      return MakeError("parse", "row " + ToValidUtf8(f[0]) + ": \"" + ToValidUtf8(f[2]) +
                                    "\" is not an unsigned 64-bit decimal");
    }
    out.push_back({named, dataset, std::string(f[0]), *v});
  }
  if (!header) return MakeError("parse", "no \"name type data\" header line");
  if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
  return out;
}

Result<std::vector<ZfsKstatValue>> ParseZfsPoolIo(std::string_view text) {
  std::vector<ZfsKstatValue> out;
  std::vector<std::string> columns;
  std::vector<std::string_view> f;
  bool header = false;
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    SplitGoFields(line, f);
    if (!header) {
      if (f.size() >= 12 && f[0] == "nread") {
        header = true;
        columns.assign(f.begin(), f.end());
      }
      continue;
    }
    if (f.size() < columns.size()) {
      return MakeError("parse", std::to_string(f.size()) + " values for " +
                                    std::to_string(columns.size()) + " columns");
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto v = ParseGoUint(f[i], 10);
      if (!v) {
        return MakeError("parse", "column " + ToValidUtf8(columns[i]) + ": \"" + ToValidUtf8(f[i]) +
                                      "\" is not an unsigned 64-bit decimal");
      }
      out.push_back({columns[i], *v});
    }
  }
  if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
  return out;
}

Result<std::string> ParseZfsPoolState(std::string_view text) {
  GoLineScanner lines(text);
  std::string_view line;
  if (!lines.Next(line)) {
    if (lines.too_long()) return MakeError("parse", "line longer than 64 KiB");
    return std::string();
  }
  std::string state(line);
  for (char& c : state) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return state;
}

std::string ZfsMetricName(std::string_view kstat_name) {
  const size_t dot = kstat_name.rfind('.');
  std::string out(dot == std::string_view::npos ? kstat_name : kstat_name.substr(dot + 1));
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

bool ValidZfsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

namespace {

// node_exporter 1.5's linuxPathMap: subsystem -> file, in subsystem order (node_exporter walks
// its map in random order; the series are the same).
struct ZfsFile {
  const char* subsystem;
  const char* file;
};
constexpr std::array<ZfsFile, 11> kZfsFiles = {{
    {"zfs_abd", "abdstats"},
    {"zfs_arc", "arcstats"},
    {"zfs_dbuf", "dbuf_stats"},
    {"zfs_dmu_tx", "dmu_tx"},
    {"zfs_dnode", "dnodestats"},
    {"zfs_fm", "fm"},
    {"zfs_vdev_cache", "vdev_cache_stats"},
    {"zfs_vdev_mirror", "vdev_mirror_stats"},
    {"zfs_xuio", "xuio_stats"},
    {"zfs_zfetch", "zfetchstats"},
    {"zfs_zil", "zil"},
}};

// The last two path elements (pool directory, file), as node_exporter splits the glob result.
std::string PoolOf(const std::string& path) {
  const size_t file = path.rfind('/');
  if (file == std::string::npos || file == 0) return "";
  const size_t dir = path.rfind('/', file - 1);
  return path.substr(dir == std::string::npos ? 0 : dir + 1,
                     file - (dir == std::string::npos ? 0 : dir + 1));
}

// The metric name for each value, or an error naming the first that gives an invalid one
// (node_exporter panics there).
template <typename V>
Result<std::vector<std::string>> MetricNames(const std::vector<V>& values,
                                             std::string_view prefix) {
  std::vector<std::string> names;
  names.reserve(values.size());
  for (const V& v : values) {
    const std::string short_name = ZfsMetricName(v.name);
    std::string name = std::string(prefix) + short_name;
    if (short_name.empty() || !ValidZfsMetricName(name)) {
      return MakeError("parse", "\"" + ToValidUtf8(v.name) + "\" makes an invalid metric name");
    }
    names.push_back(std::move(name));
  }
  return names;
}

class ZfsCollector final : public Collector {
 public:
  explicit ZfsCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes),
        base_(GoJoinPath(cfg.paths.procfs, "spl/kstat/zfs")),
        files_(MakeFiles(base_)) {}
  std::string_view Name() const override { return "zfs"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    if (!BaseExists()) return Ok{};  // no zfs module: no series, no failure
    RegistryFamilies families;
    SkippedEntries skipped;
    for (size_t i = 0; i < kZfsFiles.size(); ++i) {
      CollectKstat(kZfsFiles[i], *files_[i], families, skipped);
    }
    for (const std::string& path : GoGlob(base_ + "/*/io").value_or(kNone)) {
      CollectPoolIo(path, families, skipped);
    }
    for (const std::string& path : GoGlob(base_ + "/*/objset-*").value_or(kNone)) {
      CollectObjset(path, families, skipped);
    }
    for (const std::string& path : GoGlob(base_ + "/*/state").value_or(kNone)) {
      CollectState(path, families, skipped);
    }
    families.MoveTo(out);
    return skipped.ToStatus();
  }

 private:
  static std::vector<std::unique_ptr<CachedFile>> MakeFiles(const std::string& base) {
    std::vector<std::unique_ptr<CachedFile>> files;
    files.reserve(kZfsFiles.size());
    for (const ZfsFile& f : kZfsFiles) {
      files.push_back(std::make_unique<CachedFile>(base + "/" + f.file));
    }
    return files;
  }

  // node_exporter's os.Open of the directory: any failure means "ZFS not available".
  bool BaseExists() const {
    const int fd = ::open(base_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }

  void CollectKstat(const ZfsFile& zf, CachedFile& file, RegistryFamilies& families,
                    SkippedEntries& skipped) const {
    auto text = file.Read(max_);
    if (!text.ok()) {
      // node_exporter skips a file it cannot open, whatever the reason (not every OpenZFS
      // version has every file).
      if (text.error().reason == "open") return;
      skipped.Add(MakeError(text.error().reason, file.path() + ": " + text.error().detail));
      return;
    }
    auto values = ParseZfsKstat(*text);
    if (!values.ok()) {
      skipped.Add(MakeError("parse", file.path() + ": " + values.error().detail));
      return;
    }
    auto names = MetricNames(*values, std::string("node_") + zf.subsystem + "_");
    if (!names.ok()) {
      skipped.Add(MakeError("parse", file.path() + ": " + names.error().detail));
      return;
    }
    const std::string help_prefix = std::string("kstat.zfs.misc.") + zf.file + ".";
    for (size_t i = 0; i < values->size(); ++i) {
      const ZfsKstatValue& v = (*values)[i];
      families.Add((*names)[i], help_prefix + ToValidUtf8(v.name), MetricType::kUntyped,
                   static_cast<double>(v.value), {}, skipped, file.path());
    }
  }

  // Pool files come and go with pools: read afresh each time.
  Result<std::string> ReadPoolFile(const std::string& path, SkippedEntries& skipped) const {
    auto text = ReadFileLimited(path, max_);
    if (!text.ok()) {
      skipped.Add(MakeError(text.error().reason, path + ": " + text.error().detail));
    }
    return text;
  }

  void CollectPoolIo(const std::string& path, RegistryFamilies& families,
                     SkippedEntries& skipped) const {
    auto text = ReadPoolFile(path, skipped);
    if (!text.ok()) return;
    auto values = ParseZfsPoolIo(*text);
    if (!values.ok()) {
      skipped.Add(MakeError("parse", path + ": " + values.error().detail));
      return;
    }
    auto names = MetricNames(*values, "node_zfs_zpool_");
    if (!names.ok()) {
      skipped.Add(MakeError("parse", path + ": " + names.error().detail));
      return;
    }
    const std::string pool = ToValidUtf8(PoolOf(path));
    for (size_t i = 0; i < values->size(); ++i) {
      const ZfsKstatValue& v = (*values)[i];
      families.Add((*names)[i], "kstat.zfs.misc.io." + ToValidUtf8(v.name), MetricType::kUntyped,
                   static_cast<double>(v.value), {{"zpool", pool}}, skipped, path);
    }
  }

  void CollectObjset(const std::string& path, RegistryFamilies& families,
                     SkippedEntries& skipped) const {
    auto text = ReadPoolFile(path, skipped);
    if (!text.ok()) return;
    auto values = ParseZfsObjset(*text);
    if (!values.ok()) {
      skipped.Add(MakeError("parse", path + ": " + values.error().detail));
      return;
    }
    auto names = MetricNames(*values, "node_zfs_zpool_dataset_");
    if (!names.ok()) {
      skipped.Add(MakeError("parse", path + ": " + names.error().detail));
      return;
    }
    const std::string pool = ToValidUtf8(PoolOf(path));
    for (size_t i = 0; i < values->size(); ++i) {
      const ZfsObjsetValue& v = (*values)[i];
      // Labels in node_exporter's order: zpool, dataset.
      families.Add(
          (*names)[i], "kstat.zfs.misc.objset." + ToValidUtf8(v.name), MetricType::kUntyped,
          static_cast<double>(v.value),
          {{"zpool", v.named ? pool : ""}, {"dataset", v.named ? ToValidUtf8(v.dataset) : ""}},
          skipped, path);
    }
  }

  void CollectState(const std::string& path, RegistryFamilies& families,
                    SkippedEntries& skipped) const {
    auto text = ReadPoolFile(path, skipped);
    if (!text.ok()) return;
    auto state = ParseZfsPoolState(*text);
    if (!state.ok()) {
      skipped.Add(MakeError("parse", path + ": " + state.error().detail));
      return;
    }
    const std::string pool = ToValidUtf8(PoolOf(path));
    for (std::string_view s : kZfsPoolStates) {
      families.Add("node_zfs_zpool_state", "kstat.zfs.misc.state", MetricType::kGauge,
                   *state == s ? 1 : 0, {{"zpool", pool}, {"state", std::string(s)}}, skipped,
                   path);
    }
  }

  inline static const std::vector<std::string> kNone;
  const size_t max_;
  const std::string base_;
  const std::vector<std::unique_ptr<CachedFile>> files_;  // in kZfsFiles order
};

}  // namespace

std::unique_ptr<Collector> NewZfsCollector(const NodeOptions& cfg) {
  return std::make_unique<ZfsCollector>(cfg);
}

}  // namespace lookout
