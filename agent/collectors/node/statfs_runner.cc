#include "agent/collectors/node/statfs_runner.h"

#include <cerrno>
#include <condition_variable>
#include <thread>

namespace lookout {

using Clock = std::chrono::steady_clock;

struct StatfsRunner::Worker {
  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu. A batch is paths[next..] with results written in place.
  std::vector<std::string> paths;
  std::vector<Result>* results = nullptr;
  size_t base = 0;            // index of paths[0] in the caller's batch
  size_t next = 0;            // first path not finished
  Clock::time_point started;  // when paths[next] was started
  bool has_batch = false, stop = false, abandoned = false;
  IndexFn on_unstuck;
  std::shared_ptr<std::atomic<int>> stuck;
  StatfsFn fn;
  std::thread thread;

  static void Loop(std::shared_ptr<Worker> w) {
    std::unique_lock lock(w->mu);
    while (true) {
      w->cv.wait(lock, [&] { return w->has_batch || w->stop; });
      if (!w->has_batch) return;
      while (w->next < w->paths.size()) {
        const std::string path = w->paths[w->next];
        w->started = Clock::now();
        lock.unlock();
        Result r;
        r.outcome = w->fn(path.c_str(), &r.st) == 0 ? Outcome::kOk : Outcome::kError;
        r.err = r.outcome == Outcome::kOk ? 0 : errno;
        lock.lock();
        if (w->abandoned) {
          // The caller timed out on this call and moved on; report that the mount answers
          // again, then exit (the rest of the batch went to a fresh worker).
          w->stuck->fetch_sub(1);
          auto cb = std::move(w->on_unstuck);
          const size_t index = w->base + w->next;
          lock.unlock();
          if (cb) cb(index);
          return;
        }
        (*w->results)[w->base + w->next] = r;
        ++w->next;
      }
      w->has_batch = false;
      w->cv.notify_all();  // one wake-up per batch
    }
  }
};

StatfsRunner::~StatfsRunner() {
  std::lock_guard run_lock(run_mu_);
  if (!worker_) return;
  {
    std::lock_guard lock(worker_->mu);
    worker_->stop = true;
  }
  worker_->cv.notify_all();
  if (worker_->thread.joinable()) worker_->thread.join();
}

std::shared_ptr<StatfsRunner::Worker> StatfsRunner::StartWorker() {
  auto w = std::make_shared<Worker>();
  w->stuck = stuck_;
  w->fn = fn_;
  w->thread = std::thread(&Worker::Loop, w);
  return w;
}

std::vector<StatfsRunner::Result> StatfsRunner::RunBatch(const std::vector<std::string>& paths,
                                                         std::chrono::milliseconds timeout,
                                                         const IndexFn& on_stuck,
                                                         const IndexFn& on_unstuck) {
  std::vector<Result> results(paths.size());
  std::lock_guard run_lock(run_mu_);
  size_t from = 0;
  while (from < paths.size()) {
    if (stuck_->load() >= max_stuck_) break;  // the rest stay kTooManyStuck
    if (!worker_) worker_ = StartWorker();
    std::shared_ptr<Worker> w = worker_;
    std::unique_lock lock(w->mu);
    w->paths.assign(paths.begin() + static_cast<std::ptrdiff_t>(from), paths.end());
    w->results = &results;
    w->base = from;
    w->next = 0;
    w->started = Clock::now();
    w->has_batch = true;
    w->cv.notify_all();
    bool timed_out = false;
    while (w->has_batch) {
      // Sleep until the current call's deadline; the worker only wakes us when the batch ends.
      const size_t current = w->next;
      const auto deadline = w->started + timeout;
      w->cv.wait_until(lock, deadline, [&] { return !w->has_batch || w->next != current; });
      if (w->has_batch && w->next == current && Clock::now() >= w->started + timeout) {
        timed_out = true;
        break;
      }
    }
    if (!timed_out) break;
    const size_t hung = w->base + w->next;
    results[hung].outcome = Outcome::kTimeout;
    // Still under w->mu: the worker cannot report this call unstuck before we marked it stuck.
    if (on_stuck) on_stuck(hung);
    w->abandoned = true;
    w->on_unstuck = on_unstuck;
    w->results = nullptr;
    stuck_->fetch_add(1);
    w->thread.detach();  // it holds its own reference to w
    lock.unlock();
    worker_.reset();
    from = hung + 1;
  }
  return results;
}

}  // namespace lookout
