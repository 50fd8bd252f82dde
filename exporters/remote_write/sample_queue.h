#pragma once
// SampleQueue: what a RemoteWriter's collector queues and its sender sends, oldest first. An
// entry is one request's worth of samples (at most queue_config.max_samples_per_send), already
// serialized as a WriteRequest, so the sender only compresses and posts it.
//
// Two kinds:
//   memory - bounded by queue_config.capacity samples; an agent restart loses what it holds;
//   WAL    - the span queue's write-ahead log (exporters/otlp/disk_queue.h: segments, flock,
//            fsync policy, CRC-checked records, a cursor), bounded by bytes on disk; what was
//            queued survives a receiver outage and an agent restart, kill -9 included.
// Both drop their oldest entries to make room for new ones (Prometheus's remote write does not
// block scraping on a slow receiver either), never the one the sender holds, and say how many
// samples they dropped.
//
// Thread-safety: Push from one collector thread; Front/Pop from one sender thread; the
// accessors from any thread.

#include <cstdint>
#include <memory>
#include <string>

#include "exporters/otlp/disk_queue.h"
#include "lookout/result.h"

namespace lookout::remote_write {

struct QueuedRequest {
  std::string request;  // a serialized WriteRequest, not compressed
  uint64_t samples = 0;
  uint64_t exemplars = 0;
  int64_t newest_ms = 0;  // the newest sample timestamp in it
};

class SampleQueue {
 public:
  struct PushResult {
    bool stored = false;   // false: `r` itself could not be kept (disk error, or bigger than
                           // the whole WAL): its samples are lost
    uint64_t dropped = 0;  // samples of older entries dropped to make room
  };
  virtual ~SampleQueue() = default;
  virtual PushResult Push(const QueuedRequest& r) noexcept = 0;
  // The oldest entry, left queued; false when the queue is empty.
  virtual bool Front(QueuedRequest& out) noexcept = 0;
  // Removes what the last Front returned (nothing when it is gone already).
  virtual void Pop() noexcept = 0;
  virtual uint64_t samples() const noexcept = 0;
  virtual uint64_t bytes() const noexcept = 0;
  virtual bool persistent() const noexcept = 0;
};

std::unique_ptr<SampleQueue> MakeMemorySampleQueue(uint64_t capacity_samples);

// Opens (creating it if needed) and recovers the WAL in options.directory. Errors as
// DiskSpanQueue::Open's: "io", "locked".
Result<std::unique_ptr<SampleQueue>> OpenWalSampleQueue(const otlp::DiskQueueOptions& options);

}  // namespace lookout::remote_write
