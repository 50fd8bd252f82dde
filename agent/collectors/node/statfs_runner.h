#pragma once
// StatfsRunner: statfs(2) with a deadline. A hung network mount blocks statfs in the kernel
// forever; the call runs on a worker thread, and when it overruns the deadline the caller gets
// kTimeout, the worker is abandoned (it exits if the call ever returns) and a fresh worker takes
// the next call. The number of abandoned, still-hung workers is capped.
//
// Thread-safety: Run() may be called from any thread; calls are serialised (each is
// microseconds unless hung, and a hung one costs at most the deadline once).

#include <sys/statfs.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace lookout {

class StatfsRunner {
 public:
  enum class Outcome { kOk, kError, kTimeout, kTooManyStuck };

  using StatfsFn = std::function<int(const char*, struct statfs*)>;

  // `fn` is ::statfs in production; tests inject one that hangs.
  explicit StatfsRunner(int max_stuck, StatfsFn fn = ::statfs)
      : max_stuck_(max_stuck), fn_(std::move(fn)) {}
  ~StatfsRunner();

  // `on_unstuck` runs (on the worker thread) if a timed-out call later returns.
  Outcome Run(const std::string& path, std::chrono::milliseconds timeout, struct statfs* out,
              int* err, std::function<void()> on_unstuck = {});
  int stuck() const { return stuck_->load(); }

 private:
  struct Worker;
  const int max_stuck_;
  const StatfsFn fn_;
  std::mutex run_mu_;
  std::shared_ptr<Worker> worker_;  // guarded by run_mu_
  std::shared_ptr<std::atomic<int>> stuck_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace lookout
