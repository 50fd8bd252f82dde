#include "exporters/remote_write/sample_queue.h"

#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>

#include "agent/common/log.h"

namespace lookout::remote_write {
namespace {

class MemorySampleQueue final : public SampleQueue {
 public:
  explicit MemorySampleQueue(uint64_t capacity) : capacity_(capacity) {}

  PushResult Push(const QueuedRequest& r) noexcept override {
    std::lock_guard lock(mu_);
    entries_.push_back({next_seq_++, r});
    samples_ += r.samples;
    bytes_ += r.request.size();
    PushResult out{true, 0};
    // The oldest go first; the entry the sender holds stays (its samples are the sender's to
    // count, sent or refused).
    while (samples_ > capacity_) {
      size_t i = in_flight_ && entries_.front().seq == *in_flight_ ? 1 : 0;
      if (i >= entries_.size()) break;
      const Entry& e = entries_[i];
      if (e.seq == entries_.back().seq) out.stored = false;
      out.dropped += e.r.samples;
      samples_ -= e.r.samples;
      bytes_ -= e.r.request.size();
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(i));
    }
    if (!out.stored) out.dropped -= r.samples;  // reported as not stored instead
    return out;
  }

  bool Front(QueuedRequest& out) noexcept override {
    std::lock_guard lock(mu_);
    if (entries_.empty()) return false;
    out = entries_.front().r;
    in_flight_ = entries_.front().seq;
    return true;
  }

  void Pop() noexcept override {
    std::lock_guard lock(mu_);
    if (in_flight_ && !entries_.empty() && entries_.front().seq == *in_flight_) {
      samples_ -= entries_.front().r.samples;
      bytes_ -= entries_.front().r.request.size();
      entries_.pop_front();
    }
    in_flight_.reset();
  }

  uint64_t samples() const noexcept override {
    std::lock_guard lock(mu_);
    return samples_;
  }
  uint64_t bytes() const noexcept override {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  bool persistent() const noexcept override { return false; }

 private:
  struct Entry {
    uint64_t seq;
    QueuedRequest r;
  };
  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> entries_;          // guarded by mu_
  uint64_t next_seq_ = 0;              // guarded by mu_
  std::optional<uint64_t> in_flight_;  // guarded by mu_: the entry Front handed out
  uint64_t samples_ = 0, bytes_ = 0;   // guarded by mu_
};

// A WAL record: newest_ms (i64) | exemplars (u64), little-endian, then the serialized request.
// The record's span count is its sample count.
constexpr size_t kWalHeader = 16;

class WalSampleQueue final : public SampleQueue {
 public:
  explicit WalSampleQueue(std::unique_ptr<otlp::DiskSpanQueue> wal) : wal_(std::move(wal)) {}

  PushResult Push(const QueuedRequest& r) noexcept override {
    std::string record(kWalHeader, '\0');
    std::memcpy(record.data(), &r.newest_ms, 8);
    std::memcpy(record.data() + 8, &r.exemplars, 8);
    record += r.request;
    PushResult out;
    while (true) {
      switch (wal_->Push(record, r.samples)) {
        case SpanQueue::PushResult::kOk:
          out.stored = true;
          return out;
        case SpanQueue::PushResult::kFull: {
          const auto d = wal_->DropOldest();
          out.dropped += d.spans;
          if (d.bytes == 0) return out;  // nothing left to drop: it cannot fit
          break;
        }
        case SpanQueue::PushResult::kTooLarge:
        case SpanQueue::PushResult::kError:
          return out;
      }
    }
  }

  bool Front(QueuedRequest& out) noexcept override {
    SpanBatch batch;
    // One record at a time (max_spans 1): each is one request, its header first.
    while (wal_->Peek(1, std::numeric_limits<size_t>::max(), std::chrono::milliseconds(0), batch)) {
      if (batch.records == 1 && batch.payload.size() >= kWalHeader) {
        std::memcpy(&out.newest_ms, batch.payload.data(), 8);
        std::memcpy(&out.exemplars, batch.payload.data() + 8, 8);
        out.request.assign(batch.payload, kWalHeader);
        out.samples = batch.spans;
        return true;
      }
      wal_->Ack();  // only bytes cut as corrupt (counted by the WAL), or a record too short
    }
    return false;
  }

  void Pop() noexcept override { wal_->Ack(); }
  uint64_t samples() const noexcept override { return wal_->Stats().spans; }
  uint64_t bytes() const noexcept override { return wal_->Stats().bytes; }
  bool persistent() const noexcept override { return true; }

 private:
  const std::unique_ptr<otlp::DiskSpanQueue> wal_;
};

}  // namespace

std::unique_ptr<SampleQueue> MakeMemorySampleQueue(uint64_t capacity_samples) {
  return std::make_unique<MemorySampleQueue>(capacity_samples);
}

Result<std::unique_ptr<SampleQueue>> OpenWalSampleQueue(const otlp::DiskQueueOptions& options) {
  auto wal = otlp::DiskSpanQueue::Open(options);
  if (!wal.ok()) return wal.error();
  const auto& rec = (*wal)->recovery();
  Log(LogLevel::kInfo, "remote write WAL opened",
      {{"directory", options.directory},
       {"recovered_samples", std::to_string(rec.spans)},
       {"recovered_requests", std::to_string(rec.records)},
       {"cut_bytes", std::to_string(rec.corrupt_bytes)}});
  return std::unique_ptr<SampleQueue>(std::make_unique<WalSampleQueue>(std::move(wal).value()));
}

}  // namespace lookout::remote_write
