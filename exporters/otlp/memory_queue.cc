#include "exporters/otlp/memory_queue.h"

namespace lookout::otlp {

SpanQueue::PushResult MemorySpanQueue::Push(std::string_view record, uint64_t spans) noexcept {
  if (record.size() > max_bytes_) return PushResult::kTooLarge;
  try {
    std::string copy(record);  // outside the lock
    std::lock_guard lock(mu_);
    if (bytes_ + copy.size() > max_bytes_) return PushResult::kFull;
    bytes_ += copy.size();
    spans_ += spans;
    records_.push_back({std::move(copy), spans});
  } catch (const std::bad_alloc&) {
    return PushResult::kError;
  }
  cv_.notify_one();
  return PushResult::kOk;
}

bool MemorySpanQueue::Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
                           SpanBatch& out) noexcept {
  out.payload.clear();
  out.spans = out.records = 0;
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return closed_ || spans_ >= max_spans; });
  if (records_.empty()) return false;
  size_t n = 0;
  size_t bytes = 0;
  uint64_t spans = 0;
  while (n < records_.size() && (n == 0 || (bytes + records_[n].bytes.size() <= max_bytes &&
                                            spans + records_[n].spans <= max_spans))) {
    bytes += records_[n].bytes.size();
    spans += records_[n].spans;
    ++n;
  }
  out.payload.reserve(bytes);
  for (size_t i = 0; i < n; ++i) {
    out.payload.append(records_[i].bytes);
    out.spans += records_[i].spans;
  }
  out.records = n;
  peeked_ = n;
  return true;
}

void MemorySpanQueue::Ack() noexcept {
  std::lock_guard lock(mu_);
  for (; peeked_ > 0 && !records_.empty(); --peeked_) {
    bytes_ -= records_.front().bytes.size();
    spans_ -= records_.front().spans;
    records_.pop_front();
  }
  peeked_ = 0;
}

void MemorySpanQueue::Close() noexcept {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

SpanQueueStats MemorySpanQueue::Stats() const noexcept {
  std::lock_guard lock(mu_);
  return {records_.size(), spans_, bytes_, max_bytes_};
}

}  // namespace lookout::otlp
