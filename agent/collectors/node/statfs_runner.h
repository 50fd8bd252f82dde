#pragma once
// StatfsRunner: statfs(2) with a deadline per call. A hung network mount blocks statfs in the
// kernel forever; the calls run on a worker thread, and when one overruns the deadline the
// caller gets kTimeout for it, the worker is abandoned (it exits if the call ever returns) and a
// fresh worker takes the remaining paths. The number of abandoned, still-hung workers is capped.
//
// All paths of one scrape go to the worker as one batch: one thread hand-off per scrape instead
// of one per mount (context switches dominated the collector's cost otherwise).
//
// Thread-safety: RunBatch() may be called from any thread; calls are serialised.

#include <sys/statfs.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lookout {

class StatfsRunner {
 public:
  enum class Outcome { kOk, kError, kTimeout, kTooManyStuck };
  struct Result {
    Outcome outcome = Outcome::kTooManyStuck;
    struct statfs st {};
    int err = 0;
  };
  using StatfsFn = std::function<int(const char*, struct statfs*)>;
  // Called with the index of a path whose call timed out (`on_stuck`, on the caller's thread)
  // and when that call finally returns (`on_unstuck`, on the abandoned worker's thread).
  // on_stuck always happens before the matching on_unstuck.
  using IndexFn = std::function<void(size_t index)>;

  // `fn` is ::statfs in production; tests inject one that hangs.
  explicit StatfsRunner(int max_stuck, StatfsFn fn = ::statfs)
      : max_stuck_(max_stuck), fn_(std::move(fn)) {}
  ~StatfsRunner();

  std::vector<Result> RunBatch(const std::vector<std::string>& paths,
                               std::chrono::milliseconds timeout, const IndexFn& on_stuck = {},
                               const IndexFn& on_unstuck = {});
  int stuck() const { return stuck_->load(); }

 private:
  struct Worker;
  std::shared_ptr<Worker> StartWorker();

  const int max_stuck_;
  const StatfsFn fn_;
  std::mutex run_mu_;
  std::shared_ptr<Worker> worker_;  // guarded by run_mu_
  std::shared_ptr<std::atomic<int>> stuck_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace lookout
