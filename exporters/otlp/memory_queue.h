#pragma once
// In-memory SpanQueue bounded by bytes: when full, Push says so and the receiver answers
// 429 / RESOURCE_EXHAUSTED, so memory never grows past the limit. Lost on restart.
//
// Batches are cut as records arrive (at batch_spans / batch_bytes, the exporter's
// max_batch_spans / max_batch_bytes), not at Peek: with `gzip` the Push that completes a batch
// compresses it (libdeflate, level 1, one gzip member) before it waits in the queue, so a
// backlog costs about a fifth of its size in memory (issue 18: a full 32 MiB queue of spans was
// 32 MiB of RSS; kept as the exporter sends it, 5-6 MiB). Only the batch still being filled is
// held as received (up to batch_bytes). Compressing at the Push also spreads the gzip over the
// receiving threads instead of the one exporter thread. Peek's limits are not used: the batch
// was cut at the queue's. The size limit counts records as received (uncompressed), so the
// queue holds as many spans as without gzip; what it holds in memory is Stats().stored_bytes.
// Nothing is reserved ahead: a batch's buffer grows with its records and, kept uncompressed,
// is trimmed to its size when cut.
//
// Thread-safety: see SpanQueue.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "lookout/trace/span_queue.h"

namespace lookout::otlp {

struct MemorySpanQueueOptions {
  size_t max_bytes = 32 << 20;   // records as received; beyond: kFull
  uint64_t batch_spans = 8192;   // a batch is cut before a record would take it past either,
  size_t batch_bytes = 4 << 20;  // or once it reaches either (at least one record each)
  bool gzip = false;             // keep cut batches gzip-compressed (SpanBatch::gzip)
};

class MemorySpanQueue final : public SpanQueue {
 public:
  explicit MemorySpanQueue(MemorySpanQueueOptions options) : o_(options) {}
  PushResult Push(std::string_view record, uint64_t spans) noexcept override;
  bool Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
            SpanBatch& out) noexcept override;
  void Ack() noexcept override;
  void Close() noexcept override;
  SpanQueueStats Stats() const noexcept override;
  bool persistent() const noexcept override { return false; }

 private:
  struct Batch {
    std::string bytes;  // the records, or (gzip) one gzip member of them
    bool gzip = false;
    size_t raw_bytes = 0;  // the records' size as received
    uint64_t spans = 0;
    uint64_t records = 0;
    uint64_t seq = 0;  // order of the cut: batches are handed out in it
  };
  // Compresses a cut batch (when o_.gzip); outside the lock. If compression fails (no memory),
  // the batch stays as it is and is sent uncompressed-flagged for the sender to deal with.
  void Seal(Batch& b) const noexcept;
  // Moves the open batch to the cut ones: the caller seals it outside the lock and then hands it
  // to Finish. Counted in sealing_ meanwhile, so a Peek knows a batch is on its way.
  Batch CutLocked();
  void FinishLocked(Batch b);

  const MemorySpanQueueOptions o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Batch open_;  // records since the last cut, as received
  // Cut and sealed batches by seq. Pushers seal concurrently and may finish out of order; Peek
  // hands out only the batch whose seq is next_out_, so records leave in the order they came.
  std::deque<Batch> ready_;
  uint64_t next_cut_ = 0, next_out_ = 0;
  std::optional<Batch> peeked_;  // handed out by the last Peek, until Ack
  size_t sealing_ = 0;           // cut batches being compressed outside the lock
  uint64_t bytes_ = 0, spans_ = 0, records_ = 0, stored_ = 0;  // all of the above
  bool closed_ = false;
};

}  // namespace lookout::otlp
