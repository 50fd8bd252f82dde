#include "agent/common/open_file_limit.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

OpenFileLimit RaiseOpenFileLimit() {
  OpenFileLimit r;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    r.err = errno;
    return r;
  }
  r.before = r.soft = rl.rlim_cur;
  r.hard = rl.rlim_max;
  if (rl.rlim_cur == rl.rlim_max) return r;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    r.err = errno;
    return r;
  }
  r.soft = rl.rlim_cur;
  return r;
}

size_t ListenerFileBudget(rlim_t soft, size_t kept_file_limit, size_t reserved) {
  if (soft == RLIM_INFINITY) return SIZE_MAX;
  const size_t taken = kept_file_limit + reserved;
  return soft > taken ? static_cast<size_t>(soft) - taken : 0;
}

std::vector<size_t> FitToBudget(std::vector<size_t> caps, size_t budget) {
  size_t sum = 0;
  for (size_t c : caps) sum += c;
  if (sum <= budget) return caps;
  for (size_t& c : caps) {
    c = std::max<size_t>(1,
                         static_cast<size_t>(static_cast<double>(c) * static_cast<double>(budget) /
                                             static_cast<double>(sum)));
  }
  return caps;
}

namespace {

// Descriptors open now: the entries of /proc/self/fd, minus the one listing it.
int64_t CountOpenFiles() {
  const auto names = ReadDirNames("/proc/self/fd");
  return names ? static_cast<int64_t>(names->size()) - 1 : -1;
}

class OpenFileMetrics final : public Collectable {
 public:
  explicit OpenFileMetrics(size_t reserved) : reserved_(reserved) {}

  void Collect(std::vector<MetricFamily>& out) override {
    if (const int64_t open = CountOpenFiles(); open >= 0) {
      MetricFamily f{
          "lookout_open_files", "Descriptors the process has open.", MetricType::kGauge, {}, {}};
      AddSample(f, static_cast<double>(open), {});
      out.push_back(std::move(f));
    }
    MetricFamily reserved{"lookout_open_files_reserved",
                          "Descriptors no listener may take (server.reserved_files): listener "
                          "connection caps are lowered to leave them.",
                          MetricType::kGauge,
                          {},
                          {}};
    AddSample(reserved, static_cast<double>(reserved_), {});
    out.push_back(std::move(reserved));
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      MetricFamily limit{"lookout_open_files_limit",
                         "The process's soft open-file limit (RLIMIT_NOFILE), raised to the hard "
                         "limit at start-up.",
                         MetricType::kGauge,
                         {},
                         {}};
      AddSample(limit, static_cast<double>(rl.rlim_cur), {});
      out.push_back(std::move(limit));
    }
    MetricFamily kept{"lookout_kept_open_files",
                      "Kernel files the node collectors keep open between scrapes.",
                      MetricType::kGauge,
                      {},
                      {}};
    AddSample(kept, static_cast<double>(KeptFilesOpen()), {});
    out.push_back(std::move(kept));
    MetricFamily kept_limit{"lookout_kept_open_files_limit",
                            "The most kernel files the node collectors may keep open; beyond it "
                            "files are opened on each read.",
                            MetricType::kGauge,
                            {},
                            {}};
    AddSample(kept_limit, static_cast<double>(KeptFileLimit()), {});
    out.push_back(std::move(kept_limit));
  }

 private:
  const size_t reserved_;
};

}  // namespace

std::shared_ptr<Collectable> NewOpenFileMetrics(size_t reserved) {
  return std::make_shared<OpenFileMetrics>(reserved);
}

}  // namespace lookout
