// The containers collector: one pass over the kubepods cgroups per scrape, labelled from the pod
// index, with cAdvisor's metric names, label set and value rules (see cgroup_stats.h).
//
// Only cgroups the index can name are reported: a pod the index does not know yet triggers a
// metadata refresh and shows up at the next scrape; sandbox ("pause") containers are not in the
// pod spec and are skipped. Label values therefore come from pod metadata only.

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "agent/collectors/pod/cgroup_layout.h"
#include "agent/collectors/pod/cgroup_stats.h"
#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

enum Fam : size_t {
  kCpuUsage,
  kCpuUser,
  kCpuSystem,
  kCfsPeriods,
  kCfsThrottledPeriods,
  kCfsThrottledSeconds,
  kMemUsage,
  kMemWorkingSet,
  kMemRss,
  kMemCache,
  kMemMappedFile,
  kMemSwap,
  kOomEvents,
  kSpecCpuPeriod,
  kSpecCpuQuota,
  kSpecCpuShares,
  kSpecMemoryLimit,
  kFsReadBytes,
  kFsWriteBytes,
  kFsReads,
  kFsWrites,
  kProcesses,
  kThreads,
  kThreadsMax,
  kPsiCpuWaiting,
  kPsiCpuStalled,
  kPsiMemWaiting,
  kPsiMemStalled,
  kPsiIoWaiting,
  kPsiIoStalled,
  kFamCount
};

struct FamSpec {
  const char* name;
  const char* help;
  MetricType type;
};

// HELP texts as cAdvisor writes them.
constexpr std::array<FamSpec, kFamCount> kSpecs = {{
    {"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.",
     MetricType::kCounter},
    {"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.",
     MetricType::kCounter},
    {"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.",
     MetricType::kCounter},
    {"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.",
     MetricType::kCounter},
    {"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.",
     MetricType::kCounter},
    {"container_cpu_cfs_throttled_seconds_total",
     "Total time duration the container has been throttled.", MetricType::kCounter},
    {"container_memory_usage_bytes",
     "Current memory usage in bytes, including all memory regardless of when it was accessed",
     MetricType::kGauge},
    {"container_memory_working_set_bytes", "Current working set in bytes.", MetricType::kGauge},
    {"container_memory_rss", "Size of RSS in bytes.", MetricType::kGauge},
    {"container_memory_cache", "Number of bytes of page cache memory.", MetricType::kGauge},
    {"container_memory_mapped_file", "Size of memory mapped files in bytes.", MetricType::kGauge},
    {"container_memory_swap", "Container swap usage in bytes.", MetricType::kGauge},
    {"container_oom_events_total", "Count of out of memory events observed for the container",
     MetricType::kCounter},
    {"container_spec_cpu_period", "CPU period of the container.", MetricType::kGauge},
    {"container_spec_cpu_quota", "CPU quota of the container.", MetricType::kGauge},
    {"container_spec_cpu_shares", "CPU share of the container.", MetricType::kGauge},
    {"container_spec_memory_limit_bytes", "Memory limit for the container.", MetricType::kGauge},
    {"container_fs_reads_bytes_total", "Cumulative count of bytes read", MetricType::kCounter},
    {"container_fs_writes_bytes_total", "Cumulative count of bytes written", MetricType::kCounter},
    {"container_fs_reads_total", "Cumulative count of reads completed", MetricType::kCounter},
    {"container_fs_writes_total", "Cumulative count of writes completed", MetricType::kCounter},
    {"container_processes", "Number of processes running inside the container.",
     MetricType::kGauge},
    {"container_threads", "Number of threads running inside the container", MetricType::kGauge},
    {"container_threads_max",
     "Maximum number of threads allowed inside the container, infinity if value is zero",
     MetricType::kGauge},
    {"container_pressure_cpu_waiting_seconds_total",
     "Total time duration tasks in the container have waited due to CPU congestion.",
     MetricType::kCounter},
    {"container_pressure_cpu_stalled_seconds_total",
     "Total time duration no tasks in the container could make progress due to CPU "
     "congestion.",
     MetricType::kCounter},
    {"container_pressure_memory_waiting_seconds_total",
     "Total time duration tasks in the container have waited due to memory congestion.",
     MetricType::kCounter},
    {"container_pressure_memory_stalled_seconds_total",
     "Total time duration no tasks in the container could make progress due to memory "
     "congestion.",
     MetricType::kCounter},
    {"container_pressure_io_waiting_seconds_total",
     "Total time duration tasks in the container have waited due to IO congestion.",
     MetricType::kCounter},
    {"container_pressure_io_stalled_seconds_total",
     "Total time duration no tasks in the container could make progress due to IO congestion.",
     MetricType::kCounter},
}};

// cAdvisor's specMemoryValue: limits above 2^62 mean "unlimited" and are reported as 0.
double SpecMemoryValue(uint64_t v) { return v > (uint64_t{1} << 62) ? 0 : static_cast<double>(v); }

class ContainersCollector final : public Collector {
 public:
  ContainersCollector(const PodsOptions& pods, const NodeOptions& node,
                      std::shared_ptr<PodIndex> index)
      : layout_(pods.cgroupfs),
        kubepods_config_(pods.kubepods_cgroups),
        cgroup_recheck_(pods.cgroup_recheck),
        sysfs_(node.paths.sysfs),
        max_file_bytes_(node.max_file_bytes),
        index_(std::move(index)) {}

  std::string_view Name() const override { return "containers"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto layout = layout_.Get();
    if (!layout.ok()) {
      ForgetCgroups();
      return layout.error();
    }
    const std::vector<std::string> kubepods = FindKubepodsCgroups(*layout, kubepods_config_);
    if (kubepods.empty()) {
      ForgetCgroups();
      return MakeError("no_kubepods", "no kubepods cgroup under " + layout->WalkRoot() +
                                          " (set pods.kubepods_cgroups)");
    }
    const auto snapshot = index_->Snapshot();
    std::vector<MetricFamily> fams(kFamCount);
    for (size_t i = 0; i < kFamCount; ++i) {
      fams[i].name = kSpecs[i].name;
      fams[i].help = kSpecs[i].help;
      fams[i].type = kSpecs[i].type;
    }
    std::lock_guard<std::mutex> scrape_lock(scrape_mu_);
    ++scrape_;
    limit_watch_.Drain();
    CgroupFileReader reader(max_file_bytes_, cgroup_recheck_, &limit_watch_);
    CgroupStats stats;
    std::vector<std::string> unknown;
    for (const PodCgroup& pod_cg : ListPodCgroups(*layout, kubepods)) {
      const Pod* pod = snapshot->FindByUid(pod_cg.uid);
      if (pod == nullptr) {
        unknown.push_back(pod_cg.uid);
        continue;
      }
      if (Read(*layout, pod_cg.rel, reader, stats)) {
        Emit(fams, stats,
             Labels{{"container", ""},
                    {"id", pod_cg.rel},
                    {"image", ""},
                    {"name", ""},
                    {"namespace", pod->namespace_name},
                    {"pod", pod->name}});
      }
      for (const ContainerCgroup& c : pod_cg.containers) {
        const auto ref = snapshot->FindContainer(c.id);
        // Not found: the sandbox, or a container newer than the snapshot.
        if (ref.pod != pod) continue;
        const ContainerInfo* info = ref.container;
        if (!Read(*layout, c.rel, reader, stats)) continue;
        Emit(fams, stats,
             Labels{{"container", info->name},
                    {"id", c.rel},
                    {"image", info->image},
                    {"name", c.id},
                    {"namespace", pod->namespace_name},
                    {"pod", pod->name}});
      }
    }
    std::erase_if(dirs_, [&](const auto& kv) { return kv.second.scrape != scrape_; });
    if (AskAbout(unknown, snapshot)) index_->RequestRefresh();
    for (auto& f : fams) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    AddSample(AddFamily(out, "lookout_pod_cgroups_unknown",
                        "Pod cgroups on this node whose pod the pod metadata does not list (their "
                        "containers have no series).",
                        MetricType::kGauge),
              static_cast<double>(unknown.size()));
    return Ok{};
  }

 private:
  // The kubepods tree is gone or unreadable: let go of the descriptors and watches that pin
  // its directories, instead of keeping them until a scrape succeeds again.
  void ForgetCgroups() {
    std::lock_guard<std::mutex> scrape_lock(scrape_mu_);
    dirs_.clear();
  }

  // Reads one cgroup through what its directories remember from earlier scrapes (cgroup_stats.h:
  // descriptors, absent files, limits). A cgroup gone is forgotten at once, so one created
  // again under its path starts afresh. Called with scrape_mu_ held.
  bool Read(const CgroupLayout& layout, const std::string& rel, CgroupFileReader& reader,
            CgroupStats& stats) {
    auto [it, added] = dirs_.try_emplace(rel);
    if (added) it->second.dirs = layout.DirsFor(rel);
    it->second.scrape = scrape_;
    if (ReadCgroupStats(it->second.dirs, reader, true, stats)) return true;
    dirs_.erase(it);
    return false;
  }

  // Whether an unknown pod cgroup is worth an early refresh of the pod metadata: a new pod's
  // cgroup appears before the pod list has it, so the first sighting asks. One still unknown
  // after the refresh it asked for (a pod the metadata source does not list, e.g. a static pod
  // of a kubelet whose mirror pod is gone) asks no more: the regular refreshes look again, and
  // re-listing every scrape only loads the API server.
  bool AskAbout(const std::vector<std::string>& unknown,
                const std::shared_ptr<const PodSnapshot>& snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, std::weak_ptr<const PodSnapshot>> still;
    bool ask = false;
    for (const auto& uid : unknown) {
      auto it = asked_.find(uid);
      if (it == asked_.end()) {
        ask = true;  // first sighting: remember the snapshot it was missing from
        still.emplace(uid, snapshot);
        continue;
      }
      const bool same_snapshot =
          !it->second.owner_before(snapshot) && !snapshot.owner_before(it->second);
      ask = ask || (same_snapshot && !it->second.expired());  // no refresh since: ask again
      still.emplace(uid, std::move(it->second));
    }
    asked_ = std::move(still);  // cgroups gone are forgotten
    return ask;
  }

  // /sys/dev/block/<major>:<minor>/uevent DEVNAME=sda -> "/dev/sda", as cAdvisor names devices.
  std::string DeviceName(uint32_t major, uint32_t minor) {
    const uint64_t key = (uint64_t{major} << 32) | minor;
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = devices_.find(key); it != devices_.end()) return it->second;
    std::string name;
    auto uevent = ReadFileLimited(
        sysfs_ + "/dev/block/" + std::to_string(major) + ":" + std::to_string(minor) + "/uevent",
        64 << 10);
    if (uevent.ok()) {
      ForEachLine(*uevent, [&](std::string_view line) {
        if (line.starts_with("DEVNAME=")) name = "/dev/" + std::string(line.substr(8));
      });
    }
    if (devices_.size() < 4096) devices_.emplace(key, name);
    return name;
  }

  static void Put(MetricFamily& f, const Labels& base, double v) { AddSample(f, v, base); }

  void Emit(std::vector<MetricFamily>& fams, const CgroupStats& s, const Labels& base) {
    if (s.cpu_usage_seconds) {
      Labels l = base;
      l.insert(l.begin() + 1, Label{"cpu", "total"});
      AddSample(fams[kCpuUsage], *s.cpu_usage_seconds, std::move(l));
    }
    if (s.cpu_user_seconds) Put(fams[kCpuUser], base, *s.cpu_user_seconds);
    if (s.cpu_system_seconds) Put(fams[kCpuSystem], base, *s.cpu_system_seconds);
    // cAdvisor reports CFS counters only for cgroups with a quota.
    const bool quota = s.cpu_quota_us && *s.cpu_quota_us != 0;
    if (quota && s.cfs_periods) Put(fams[kCfsPeriods], base, double(*s.cfs_periods));
    if (quota && s.cfs_throttled_periods) {
      Put(fams[kCfsThrottledPeriods], base, double(*s.cfs_throttled_periods));
    }
    if (quota && s.cfs_throttled_seconds) {
      Put(fams[kCfsThrottledSeconds], base, *s.cfs_throttled_seconds);
    }
    if (s.memory_usage_bytes) Put(fams[kMemUsage], base, double(*s.memory_usage_bytes));
    if (s.memory_working_set_bytes) {
      Put(fams[kMemWorkingSet], base, double(*s.memory_working_set_bytes));
    }
    if (s.memory_rss_bytes) Put(fams[kMemRss], base, double(*s.memory_rss_bytes));
    if (s.memory_cache_bytes) Put(fams[kMemCache], base, double(*s.memory_cache_bytes));
    if (s.memory_mapped_file_bytes) {
      Put(fams[kMemMappedFile], base, double(*s.memory_mapped_file_bytes));
    }
    if (s.memory_swap_bytes) Put(fams[kMemSwap], base, double(*s.memory_swap_bytes));
    if (s.oom_kills) Put(fams[kOomEvents], base, double(*s.oom_kills));
    if (s.cpu_period_us && *s.cpu_period_us != 0) {
      Put(fams[kSpecCpuPeriod], base, double(*s.cpu_period_us));
    }
    if (quota) Put(fams[kSpecCpuQuota], base, double(*s.cpu_quota_us));
    if (s.cpu_shares) Put(fams[kSpecCpuShares], base, double(*s.cpu_shares));
    if (s.memory_limit_bytes) {
      Put(fams[kSpecMemoryLimit], base, SpecMemoryValue(*s.memory_limit_bytes));
    }
    for (const IoDeviceStat& d : s.io) {
      Labels l = base;
      l.insert(l.begin() + 1, Label{"device", DeviceName(d.major, d.minor)});
      AddSample(fams[kFsReadBytes], double(d.read_bytes), l);
      AddSample(fams[kFsWriteBytes], double(d.write_bytes), l);
      AddSample(fams[kFsReads], double(d.reads), l);
      AddSample(fams[kFsWrites], double(d.writes), std::move(l));
    }
    if (s.processes) Put(fams[kProcesses], base, double(*s.processes));
    if (s.threads) Put(fams[kThreads], base, double(*s.threads));
    if (s.threads_max) {
      // cAdvisor: 0 means unlimited.
      Put(fams[kThreadsMax], base, *s.threads_max == UINT64_MAX ? 0 : double(*s.threads_max));
    }
    const auto psi = [&](const std::optional<PsiTotals>& p, Fam waiting, Fam stalled) {
      if (!p) return;
      Put(fams[waiting], base, p->some_seconds);
      Put(fams[stalled], base, p->full_seconds);
    };
    psi(s.psi_cpu, kPsiCpuWaiting, kPsiCpuStalled);
    psi(s.psi_memory, kPsiMemWaiting, kPsiMemStalled);
    psi(s.psi_io, kPsiIoWaiting, kPsiIoStalled);
  }

  CachedCgroupLayout layout_;
  const std::vector<std::string> kubepods_config_;
  const Duration cgroup_recheck_;
  const std::string sysfs_;
  const size_t max_file_bytes_;
  const std::shared_ptr<PodIndex> index_;
  struct RememberedCgroup {
    CgroupDirs dirs;
    uint64_t scrape = 0;  // the last scrape that listed it
  };
  std::mutex scrape_mu_;  // one Collect at a time: they share dirs_
  uint64_t scrape_ = 0;   // guarded by scrape_mu_
  // Before dirs_, so it outlives them; guarded by scrape_mu_.
  CgroupLimitWatch limit_watch_;
  // The cgroups of the last scrape by relative path; guarded by scrape_mu_.
  std::unordered_map<std::string, RememberedCgroup> dirs_;
  std::mutex mu_;
  std::map<uint64_t, std::string> devices_;  // guarded by mu_
  // Unknown pod cgroups by UID, with the snapshot they were first missing from; guarded by mu_.
  std::map<std::string, std::weak_ptr<const PodSnapshot>> asked_;
};

}  // namespace

std::unique_ptr<Collector> NewContainersCollector(const PodsOptions& pods, const NodeOptions& node,
                                                  std::shared_ptr<PodIndex> index) {
  return std::make_unique<ContainersCollector>(pods, node, std::move(index));
}

}  // namespace lookout
