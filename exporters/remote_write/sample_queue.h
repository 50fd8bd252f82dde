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
// Thread-safety: Push from one collector thread; Take/Done from one sender thread; Sending and
// Finished from the shards' threads between a Take and its Done; the accessors from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exporters/otlp/disk_queue.h"
#include "lookout/result.h"

namespace lookout::remote_write {

struct QueuedRequest {
  std::string request;  // a serialized WriteRequest, not compressed
  uint64_t samples = 0;
  uint64_t exemplars = 0;
  int64_t newest_ms = 0;  // the newest sample timestamp in it
  // Where its series come from, for the order they must reach the receiver in: the collection
  // (unique, increasing) and the lane, one of `lanes` hash partitions of that collection's
  // series (remote_writer.h). A request may be sent while an earlier one is in flight only when
  // they share the collection, or share `lanes` and differ in `lane`: then no series is in
  // both. lanes 0: one lane, and ordered after every earlier request.
  uint64_t collection = 0;
  uint32_t lanes = 0;
  uint32_t lane = 0;
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
  // The oldest entries, left queued until Done: up to `max_requests` entries of together at
  // most `max_samples` samples (at least one entry). A WAL may hand out more entries when they
  // are small (it counts samples, not entries). Empty when the queue is.
  virtual void Take(size_t max_requests, uint64_t max_samples,
                    std::vector<QueuedRequest>& out) noexcept = 0;
  // Entries of the last Take are about to go out as one request (any thread): a WAL writes it
  // down first, so a restart sends them again as that one request, never split (a receiver
  // that stored it would refuse the first part as older than the rest).
  virtual void Sending(const std::vector<size_t>& /*entries*/) noexcept {}
  // Entries of the last Take were delivered or dropped for good (any thread, as it happens): a
  // WAL writes it down, so a restart before the Take is acknowledged does not send them again
  // (a receiver would refuse them as out of order once a later request of their series arrived).
  virtual void Finished(const std::vector<size_t>& /*entries*/) noexcept {}
  // Ends the last Take: `done[i]` says entry i was delivered or dropped for good. A memory
  // queue removes those; a WAL acknowledges the whole Take when every entry is done and keeps
  // the rest otherwise (sent after a restart; delivery is at least once: a crash between a
  // delivery and its Finished sends that entry again).
  virtual void Done(const std::vector<bool>& done) noexcept = 0;
  virtual uint64_t samples() const noexcept = 0;
  virtual uint64_t bytes() const noexcept = 0;
  virtual bool persistent() const noexcept = 0;
};

std::unique_ptr<SampleQueue> MakeMemorySampleQueue(uint64_t capacity_samples);

// Opens (creating it if needed) and recovers the WAL in options.directory. Errors as
// DiskSpanQueue::Open's: "io", "locked".
Result<std::unique_ptr<SampleQueue>> OpenWalSampleQueue(const otlp::DiskQueueOptions& options);

}  // namespace lookout::remote_write
