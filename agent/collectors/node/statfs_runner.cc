#include "agent/collectors/node/statfs_runner.h"

#include <cerrno>
#include <condition_variable>
#include <thread>

namespace lookout {

struct StatfsRunner::Worker {
  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu:
  bool has_job = false, done = false, stop = false, abandoned = false;
  std::string path;
  struct statfs result {};
  int err = 0;
  std::function<void()> on_unstuck;
  std::shared_ptr<std::atomic<int>> stuck;
  StatfsRunner::StatfsFn fn;
  std::thread thread;

  static void Loop(std::shared_ptr<Worker> w) {
    std::unique_lock lock(w->mu);
    while (true) {
      w->cv.wait(lock, [&] { return w->has_job || w->stop; });
      if (w->stop && !w->has_job) return;
      const std::string path = w->path;
      lock.unlock();
      struct statfs st {};
      const int rc = w->fn(path.c_str(), &st);
      const int err = rc == 0 ? 0 : errno;
      lock.lock();
      w->has_job = false;
      w->result = st;
      w->err = err;
      w->done = true;
      if (w->abandoned) {
        // The caller gave up on us; tell it the mount answers again and exit.
        w->stuck->fetch_sub(1);
        auto cb = std::move(w->on_unstuck);
        lock.unlock();
        if (cb) cb();
        return;
      }
      w->cv.notify_all();
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

StatfsRunner::Outcome StatfsRunner::Run(const std::string& path, std::chrono::milliseconds timeout,
                                        struct statfs* out, int* err,
                                        std::function<void()> on_unstuck) {
  std::lock_guard run_lock(run_mu_);
  if (stuck_->load() >= max_stuck_) return Outcome::kTooManyStuck;
  if (!worker_) {
    worker_ = std::make_shared<Worker>();
    worker_->stuck = stuck_;
    worker_->fn = fn_;
    worker_->thread = std::thread(&Worker::Loop, worker_);
  }
  std::shared_ptr<Worker> w = worker_;
  std::unique_lock lock(w->mu);
  w->path = path;
  w->done = false;
  w->has_job = true;
  w->cv.notify_all();
  if (!w->cv.wait_for(lock, timeout, [&] { return w->done; })) {
    w->abandoned = true;
    w->on_unstuck = std::move(on_unstuck);
    stuck_->fetch_add(1);
    w->thread.detach();  // it holds its own reference to w
    lock.unlock();
    worker_.reset();
    return Outcome::kTimeout;
  }
  *out = w->result;
  *err = w->err;
  return w->err == 0 ? Outcome::kOk : Outcome::kError;
}

}  // namespace lookout
