#pragma once
// In-memory SpanQueue bounded by bytes: when full, Push says so and the receiver answers
// 429 / RESOURCE_EXHAUSTED, so memory never grows past the limit. Lost on restart.
//
// Thread-safety: see SpanQueue.

#include <condition_variable>
#include <deque>
#include <mutex>

#include "lookout/trace/span_queue.h"

namespace lookout::otlp {

class MemorySpanQueue final : public SpanQueue {
 public:
  explicit MemorySpanQueue(size_t max_bytes) : max_bytes_(max_bytes) {}
  PushResult Push(std::string_view record, uint64_t spans) noexcept override;
  bool Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
            SpanBatch& out) noexcept override;
  void Ack() noexcept override;
  void Close() noexcept override;
  SpanQueueStats Stats() const noexcept override;
  bool persistent() const noexcept override { return false; }

 private:
  struct Record {
    std::string bytes;
    uint64_t spans;
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Record> records_;  // guarded by mu_
  uint64_t bytes_ = 0, spans_ = 0;
  size_t peeked_ = 0;  // records handed out by the last Peek
  bool closed_ = false;
};

}  // namespace lookout::otlp
