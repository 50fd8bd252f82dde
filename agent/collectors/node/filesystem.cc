// filesystem: node_filesystem_* from statfs(2) of each mount in /proc/1/mounts, filtered by mount
// point and fs type like node_exporter. statfs is time-boxed (StatfsRunner): a mount whose statfs
// overruns mount_timeout is reported with node_filesystem_device_error=1 and skipped until its
// hung call returns, so a dead NFS server never hangs or slows later scrapes.
#include "agent/collectors/node/filesystem.h"

#include <cstring>
#include <set>
#include <tuple>

#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/node/statfs_runner.h"
#include "agent/common/file_util.h"
#include "agent/common/log.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

// The mount point as node_exporter 1.5 reads it (filesystem_linux.go, parseFilesystemLabels):
// only \040 (space) and \011 (tab) are turned back into characters, as fstab(5) has them;
// other octal escapes (\134, \012) stay as the kernel wrote them, in the label and in the path
// given to statfs. The device and type fields are kept verbatim, as there.
std::string UnescapeMountPoint(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 4) == "\\040") {
      out += ' ';
      i += 3;
    } else if (s.substr(i, 4) == "\\011") {
      out += '\t';
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<std::vector<MountEntry>> ParseMounts(std::string_view text) {
  std::vector<MountEntry> out;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    if (f.size() < 4) {
      bad = true;
      return;
    }
    MountEntry m;
    m.device = std::string(f[0]);
    m.mount_point = UnescapeMountPoint(f[1]);
    m.fs_type = std::string(f[2]);
    std::string_view opts = f[3];
    while (!opts.empty()) {
      const size_t comma = opts.find(',');
      if (opts.substr(0, comma) == "ro") m.read_only = true;
      if (comma == std::string_view::npos) break;
      opts.remove_prefix(comma + 1);
    }
    out.push_back(std::move(m));
  });
  if (bad) return MakeError("parse", "malformed line in mounts");
  return out;
}

namespace {

class FilesystemCollector final : public Collector {
 public:
  FilesystemCollector(const NodeOptions& cfg, StatfsRunner::StatfsFn statfs_fn)
      : paths_(cfg.paths),
        max_(cfg.max_file_bytes),
        opts_(cfg.filesystem),
        runner_(cfg.filesystem.max_stuck_mounts, std::move(statfs_fn)),
        stuck_(std::make_shared<StuckSet>()) {}
  std::string_view Name() const override { return "filesystem"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    // PID 1's view is the host's when the agent shares the host PID namespace.
    auto text = mounts_.Read(max_);
    if (!text.ok()) text = ReadFileLimited(paths_.Proc("mounts"), max_);
    if (!text.ok()) return text.error();
    auto mounts = ParseMounts(*text);
    if (!mounts.ok()) return mounts.error();

    const size_t first = out.size();
    AddFamily(out, "node_filesystem_avail_bytes",
              "Filesystem space available to non-root users in bytes.", MetricType::kGauge);
    AddFamily(out, "node_filesystem_device_error",
              "Whether an error occurred while getting statistics for the given device.",
              MetricType::kGauge);
    AddFamily(out, "node_filesystem_files", "Filesystem total file nodes.", MetricType::kGauge);
    AddFamily(out, "node_filesystem_files_free", "Filesystem total free file nodes.",
              MetricType::kGauge);
    AddFamily(out, "node_filesystem_free_bytes", "Filesystem free space in bytes.",
              MetricType::kGauge);
    AddFamily(out, "node_filesystem_readonly", "Filesystem read-only status.", MetricType::kGauge);
    AddFamily(out, "node_filesystem_size_bytes", "Filesystem size in bytes.", MetricType::kGauge);
    enum { kAvail, kError, kFiles, kFilesFree, kFree, kReadonly, kSize };

    struct Target {
      Labels labels;
      bool read_only;
      std::string mount_point;
    };
    std::vector<Target> targets;
    std::vector<std::string> statfs_paths;
    std::vector<size_t> statfs_target;  // statfs_paths[i] belongs to targets[statfs_target[i]]
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    {
      std::lock_guard lock(stuck_->mu);
      for (auto& m : *mounts) {
        std::string mount_point = StripRootfs(m.mount_point);
        if (opts_.mount_points_exclude.Matches(mount_point) ||
            opts_.fs_types_exclude.Matches(m.fs_type)) {
          continue;
        }
        if (!seen.emplace(m.device, mount_point, m.fs_type).second) continue;  // bind mounts
        // A mount still hung since an earlier scrape is not asked again until it answers.
        if (!stuck_->mounts.count(mount_point)) {
          statfs_paths.push_back(paths_.Root(mount_point));
          statfs_target.push_back(targets.size());
        }
        targets.push_back(
            {{{"device", m.device}, {"fstype", m.fs_type}, {"mountpoint", mount_point}},
             m.read_only,
             std::move(mount_point)});
      }
    }
    std::vector<bool> ok(targets.size(), false);
    std::vector<struct statfs> stats(targets.size());
    std::weak_ptr<StuckSet> weak = stuck_;
    std::vector<std::string> batch_mounts;
    batch_mounts.reserve(statfs_target.size());
    for (size_t t : statfs_target) batch_mounts.push_back(targets[t].mount_point);
    const auto results = runner_.RunBatch(
        statfs_paths, opts_.mount_timeout,
        [this, &batch_mounts](size_t index) {
          std::lock_guard lock(stuck_->mu);
          stuck_->mounts.insert(batch_mounts[index]);
        },
        [weak, batch_mounts](size_t index) {
          if (auto s = weak.lock()) {
            std::lock_guard lock(s->mu);
            s->mounts.erase(batch_mounts[index]);
          }
        });
    for (size_t i = 0; i < results.size(); ++i) {
      const Target& t = targets[statfs_target[i]];
      switch (results[i].outcome) {
        case StatfsRunner::Outcome::kOk:
          ok[statfs_target[i]] = true;
          stats[statfs_target[i]] = results[i].st;
          break;
        case StatfsRunner::Outcome::kTimeout:
          Log(LogLevel::kWarn, "statfs timed out, mount marked stuck",
              {{"collector", "filesystem"}, {"mountpoint", t.mount_point}});
          break;
        case StatfsRunner::Outcome::kTooManyStuck:
          break;
        case StatfsRunner::Outcome::kError:
          Log(LogLevel::kDebug, "statfs failed",
              {{"collector", "filesystem"},
               {"mountpoint", t.mount_point},
               {"err", std::strerror(results[i].err)}});
          break;
      }
    }
    for (size_t i = 0; i < targets.size(); ++i) {
      const Labels& labels = targets[i].labels;
      // As node_exporter 1.5: a mount whose statfs failed has device_error 1 and nothing else,
      // not even its read-only flag.
      if (!ok[i]) {
        AddSample(out[first + kError], 1, labels);
        continue;
      }
      const struct statfs& st = stats[i];
      AddSample(out[first + kError], 0, labels);
      AddSample(out[first + kReadonly], targets[i].read_only ? 1 : 0, labels);
      const double bsize = static_cast<double>(st.f_bsize);
      AddSample(out[first + kSize], static_cast<double>(st.f_blocks) * bsize, labels);
      AddSample(out[first + kFree], static_cast<double>(st.f_bfree) * bsize, labels);
      AddSample(out[first + kAvail], static_cast<double>(st.f_bavail) * bsize, labels);
      AddSample(out[first + kFiles], static_cast<double>(st.f_files), labels);
      AddSample(out[first + kFilesFree], static_cast<double>(st.f_ffree), labels);
    }
    return Ok{};
  }

 private:
  struct StuckSet {
    std::mutex mu;
    std::set<std::string> mounts;  // guarded by mu
  };

  // Mount points in /proc/1/mounts are host paths; when rootfs is e.g. /host (the host's / as
  // mounted into the container), they are reported as the host sees them.
  std::string StripRootfs(const std::string& mp) const {
    std::string root = paths_.rootfs;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    if (root == "/" || root.empty()) return mp;
    if (mp == root) return "/";
    if (mp.starts_with(root + "/")) return mp.substr(root.size());
    return mp;
  }

  HostPaths paths_;
  size_t max_;
  CachedFile mounts_{paths_.Proc("1/mounts")};
  FilesystemOptions opts_;
  StatfsRunner runner_;
  std::shared_ptr<StuckSet> stuck_;  // shared with abandoned workers' callbacks
};

}  // namespace

std::unique_ptr<Collector> NewFilesystemCollector(const NodeOptions& cfg,
                                                  StatfsRunner::StatfsFn statfs_fn) {
  return std::make_unique<FilesystemCollector>(cfg, std::move(statfs_fn));
}

std::unique_ptr<Collector> NewFilesystemCollector(const NodeOptions& cfg) {
  return NewFilesystemCollector(cfg, ::statfs);
}

std::vector<Option<NodeOptions>> FilesystemOptionRows() {
  using F = FilesystemOptions;
  OptionTable<F> t{{
      option::Regex<F>("mount_points_exclude", &F::mount_points_exclude,
                       "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/"
                       "storage/.+)($|/)",
                       "mount points to skip (node_exporter 1.5's upstream default)"),
      option::Regex<F>("fs_types_exclude", &F::fs_types_exclude,
                       "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|"
                       "fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_"
                       "pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$",
                       "filesystem types to skip (node_exporter 1.5's upstream default)"),
      option::Dur<F>("mount_timeout", &F::mount_timeout, Duration(10), Duration(600'000), "5s",
                     "a statfs slower than this marks the mount stuck (see Node metrics)"),
      option::Int<F>("max_stuck_mounts", &F::max_stuck_mounts, 1, 1024, "16",
                     "hung statfs calls tolerated at once; beyond, remaining mounts report "
                     "`device_error` without a statfs"),
  }};
  return option::Nest<NodeOptions>("", &NodeOptions::filesystem, t);
}

}  // namespace lookout
