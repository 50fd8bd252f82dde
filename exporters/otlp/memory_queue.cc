#include "exporters/otlp/memory_queue.h"

#include <array>
#include <iterator>

#include "agent/common/compression.h"

namespace lookout::otlp {

void MemorySpanQueue::Seal(Batch& b) const noexcept {
  try {
    if (!o_.gzip) {
      // Kept as it is: without the slack of its growth (up to half its capacity), which would
      // count against RLIMIT_AS and a strict overcommit once many batches wait.
      b.bytes.shrink_to_fit();
      return;
    }
    auto z = Gzip(b.bytes, 1);
    if (!z.ok()) return;
    b.bytes = std::move(z).value();
    b.gzip = true;
  } catch (const std::bad_alloc&) {
  }
}

MemorySpanQueue::Batch MemorySpanQueue::CutLocked() {
  Batch b = std::move(open_);
  open_ = Batch{};
  b.seq = next_cut_++;
  ++sealing_;
  return b;
}

void MemorySpanQueue::FinishLocked(Batch b) {
  --sealing_;
  stored_ = stored_ - b.raw_bytes + b.bytes.size();
  auto at = ready_.end();  // usually the newest
  while (at != ready_.begin() && std::prev(at)->seq > b.seq) --at;
  ready_.insert(at, std::move(b));
}

SpanQueue::PushResult MemorySpanQueue::Push(std::string_view record, uint64_t spans) noexcept {
  if (record.size() > o_.max_bytes) return PushResult::kTooLarge;
  // At most two cuts per Push: the open batch before this record (it would not fit), and this
  // record's batch once it is full.
  std::array<std::optional<Batch>, 2> cut;
  PushResult result = PushResult::kOk;
  {
    std::lock_guard lock(mu_);
    if (bytes_ + record.size() > o_.max_bytes) return PushResult::kFull;
    if (open_.records > 0 && (open_.raw_bytes + record.size() > o_.batch_bytes ||
                              open_.spans + spans > o_.batch_spans)) {
      cut[0] = CutLocked();
    }
    try {
      open_.bytes.append(record);
      open_.raw_bytes += record.size();
      open_.spans += spans;
      ++open_.records;
      bytes_ += record.size();
      stored_ += record.size();
      spans_ += spans;
      ++records_;
      if (open_.raw_bytes >= o_.batch_bytes || open_.spans >= o_.batch_spans) cut[1] = CutLocked();
    } catch (const std::bad_alloc&) {
      result = PushResult::kError;  // nothing of this record was kept
    }
  }
  bool finished = false;
  for (auto& b : cut) {
    if (!b) continue;
    Seal(*b);
    std::lock_guard lock(mu_);
    FinishLocked(std::move(*b));
    finished = true;
  }
  if (finished) cv_.notify_all();
  return result;
}

bool MemorySpanQueue::Peek(uint64_t /*max_spans*/, size_t /*max_bytes*/,
                           std::chrono::milliseconds wait, SpanBatch& out) noexcept {
  out.payload.clear();
  out.gzip = false;
  out.spans = out.records = 0;
  std::unique_lock lock(mu_);
  if (!peeked_) {
    auto next_ready = [&] { return !ready_.empty() && ready_.front().seq == next_out_; };
    cv_.wait_for(lock, wait, [&] { return closed_ || next_ready(); });
    // Pushers are compressing older batches than the open one: wait for them (short: one gzip).
    cv_.wait(lock, [&] { return next_ready() || sealing_ == 0; });
    if (!next_ready()) {  // nothing cut is left: cut the open batch here
      if (open_.records == 0) return false;
      Batch b = CutLocked();
      lock.unlock();
      Seal(b);
      lock.lock();
      FinishLocked(std::move(b));
    }
    peeked_ = std::move(ready_.front());
    ready_.pop_front();
    ++next_out_;
  }
  try {
    out.payload = peeked_->bytes;
  } catch (const std::bad_alloc&) {
    return false;  // kept: the next Peek tries again
  }
  out.gzip = peeked_->gzip;
  out.spans = peeked_->spans;
  out.records = peeked_->records;
  return true;
}

void MemorySpanQueue::Ack() noexcept {
  std::lock_guard lock(mu_);
  if (!peeked_) return;
  bytes_ -= peeked_->raw_bytes;
  stored_ -= peeked_->bytes.size();
  spans_ -= peeked_->spans;
  records_ -= peeked_->records;
  peeked_.reset();
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
  return {records_, spans_, bytes_, o_.max_bytes, stored_};
}

}  // namespace lookout::otlp
