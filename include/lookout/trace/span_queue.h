#pragma once
// SpanQueue: what the receivers append accepted spans to and the exporter drains, in order.
// A record is one accepted request's resource_spans bytes (a serialized
// ExportTraceServiceRequest); records concatenate into a valid, bigger request, so batching is
// appending bytes.
//
// Many producers, one consumer. Peek hands out the oldest records without removing them; Ack
// removes what the last Peek returned once it is delivered (or given up on). With a disk-backed
// queue an unacknowledged record survives a restart.
//
// Thread-safety: Push from any thread; Peek/Ack from the one consumer thread; stats anywhere.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

struct SpanBatch {
  std::string payload;  // concatenated records, or (gzip) one gzip member (RFC 1952) of them
  bool gzip = false;    // payload is compressed already: sent as it is, Content-Encoding gzip
  uint64_t spans = 0;
  uint64_t records = 0;
  // Where each record ends in `payload`, its span count and place, in order: filled by
  // DiskSpanQueue (a consumer whose records do not concatenate, remote write, splits them again);
  // empty when `gzip` is set.
  struct Record {
    size_t end = 0;
    uint64_t spans = 0;
    uint64_t segment = 0, offset = 0;  // where it is on disk: its identity across restarts
  };
  std::vector<Record> index;
};

struct SpanQueueStats {
  uint64_t records = 0;
  uint64_t spans = 0;
  uint64_t bytes = 0;
  uint64_t capacity_bytes = 0;
  uint64_t stored_bytes = 0;  // what the queue holds (compressed, for a gzip memory queue)
};

class SpanQueue {
 public:
  enum class PushResult {
    kOk,        // stored (and, for a disk queue, written as its fsync policy says)
    kFull,      // no room now: the sender should retry later (429 / RESOURCE_EXHAUSTED)
    kTooLarge,  // can never fit (bigger than the whole queue)
    kError,     // could not be stored (disk error); nothing was kept
  };
  virtual ~SpanQueue() = default;
  virtual PushResult Push(std::string_view record, uint64_t spans) noexcept = 0;
  // Waits up to `wait` for at least `max_spans` spans (or any, once `wait` is over), then fills
  // `out` with the oldest records, up to max_spans and max_bytes (at least one record). False
  // when nothing is queued after the wait, or Close() was called and the queue is empty.
  // A queue that cuts batches as records arrive (MemorySpanQueue) uses its own limits instead,
  // and its wait ends with the first cut batch.
  virtual bool Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
                    SpanBatch& out) noexcept = 0;
  // Removes the records the last Peek returned.
  virtual void Ack() noexcept = 0;
  // Wakes a waiting Peek; later Peeks do not wait.
  virtual void Close() noexcept = 0;
  virtual SpanQueueStats Stats() const noexcept = 0;
  virtual bool persistent() const noexcept = 0;
};

}  // namespace lookout
