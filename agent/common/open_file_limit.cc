#include "agent/common/open_file_limit.h"

#include <cerrno>

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

namespace {

class OpenFileMetrics final : public Collectable {
 public:
  void Collect(std::vector<MetricFamily>& out) override {
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
};

}  // namespace

std::shared_ptr<Collectable> NewOpenFileMetrics() { return std::make_shared<OpenFileMetrics>(); }

}  // namespace lookout
