#include "exporters/remote_write/sample_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <utility>

#include "agent/common/log.h"

namespace lookout::remote_write {
namespace {

class MemorySampleQueue final : public SampleQueue {
 public:
  explicit MemorySampleQueue(uint64_t capacity) : capacity_(capacity) {}

  PushResult Push(const QueuedRequest& r) noexcept override {
    std::lock_guard lock(mu_);
    entries_.push_back({r, false});
    samples_ += r.samples;
    bytes_ += r.request.size();
    PushResult out{true, 0};
    // The oldest go first; the entries the sender holds stay (their samples are the sender's
    // to count, sent or refused). They are the front ones.
    size_t i = 0;
    while (samples_ > capacity_) {
      while (i < entries_.size() && entries_[i].taken) ++i;
      if (i >= entries_.size()) break;
      const Entry& e = entries_[i];
      if (i + 1 == entries_.size()) out.stored = false;
      out.dropped += e.r.samples;
      samples_ -= e.r.samples;
      bytes_ -= e.r.request.size();
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(i));
    }
    if (!out.stored) out.dropped -= r.samples;  // reported as not stored instead
    return out;
  }

  void Take(size_t max_requests, uint64_t max_samples,
            std::vector<QueuedRequest>& out) noexcept override {
    std::lock_guard lock(mu_);
    out.clear();
    uint64_t samples = 0;
    for (Entry& e : entries_) {
      if (!out.empty() && (out.size() >= max_requests || samples + e.r.samples > max_samples)) {
        break;
      }
      e.taken = true;
      samples += e.r.samples;
      out.push_back(e.r);
    }
  }

  void Done(const std::vector<bool>& done) noexcept override {
    std::lock_guard lock(mu_);
    // The taken entries are the front ones, in Take's order.
    size_t kept = 0;
    for (size_t i = 0; i < done.size() && kept < entries_.size() && entries_[kept].taken; ++i) {
      if (!done[i]) {
        entries_[kept++].taken = false;
        continue;
      }
      samples_ -= entries_[kept].r.samples;
      bytes_ -= entries_[kept].r.request.size();
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(kept));
    }
    for (Entry& e : entries_) e.taken = false;
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
    QueuedRequest r;
    bool taken;  // handed out by the last Take
  };
  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> entries_;         // guarded by mu_
  uint64_t samples_ = 0, bytes_ = 0;  // guarded by mu_
};

// A WAL record: a header, then the serialized request. The header (little-endian):
//   "LKRW0002" | newest_ms (i64) | exemplars (u64) | collection (u64) | lanes (u32) | lane (u32)
// The record's span count is its sample count. Records written before collections were kept
// (no magic: newest_ms | exemplars) are read as one collection each, so sent one at a time.
constexpr char kWalMagic[8] = {'L', 'K', 'R', 'W', '0', '0', '0', '2'};
constexpr size_t kWalHeader = 40;
constexpr size_t kLegacyWalHeader = 16;

// The WAL's entries finished (delivered or dropped) since its cursor last moved: one line
// "<segment> <offset>" per record, appended as each finishes, emptied when the cursor moves past
// them. A Take goes out several requests at once and is acknowledged whole, so without it a
// restart would send requests the receiver already has, older than ones it took after them.
constexpr const char* kFinishedFile = "/finished";
constexpr size_t kMaxFinished = 1 << 16;

class WalSampleQueue final : public SampleQueue {
 public:
  WalSampleQueue(std::unique_ptr<otlp::DiskSpanQueue> wal, std::string directory)
      : wal_(std::move(wal)), finished_path_(std::move(directory) + kFinishedFile) {
    if (FILE* f = std::fopen(finished_path_.c_str(), "r")) {
      unsigned long long seg = 0, off = 0;
      // Our own file; a torn last line (a crash mid-append) reads as nothing, and reading stops
      // at the first line that is not two numbers or past a Take's worth many times over.
      while (finished_.size() < kMaxFinished &&
             std::fscanf(f, "%llu %llu", &seg, &off) == 2) {  // NOLINT(cert-err34-c)
        finished_.insert({seg, off});
      }
      std::fclose(f);
    }
    finished_fd_ = ::open(finished_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (finished_fd_ < 0) {
      Log(LogLevel::kWarn, "remote write WAL: cannot write the finished-requests file",
          {{"path", finished_path_}, {"err", std::strerror(errno)}});
    }
  }
  ~WalSampleQueue() override {
    if (finished_fd_ >= 0) ::close(finished_fd_);
  }

  PushResult Push(const QueuedRequest& r) noexcept override {
    std::string record(kWalHeader, '\0');
    std::memcpy(record.data(), kWalMagic, 8);
    std::memcpy(record.data() + 8, &r.newest_ms, 8);
    std::memcpy(record.data() + 16, &r.exemplars, 8);
    std::memcpy(record.data() + 24, &r.collection, 8);
    std::memcpy(record.data() + 32, &r.lanes, 4);
    std::memcpy(record.data() + 36, &r.lane, 4);
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

  void Take(size_t /*max_requests*/, uint64_t max_samples,
            std::vector<QueuedRequest>& out) noexcept override {
    out.clear();
    places_.clear();
    SpanBatch batch;
    std::unique_lock lock(mu_);  // uncontended: the shards are idle between Takes
    // The WAL counts samples (its records' span counts), not records.
    while (wal_->Peek(std::max<uint64_t>(max_samples, 1), std::numeric_limits<size_t>::max(),
                      std::chrono::milliseconds(0), batch)) {
      size_t start = 0;
      if (!batch.index.empty())
        last_place_ = {batch.index.back().segment, batch.index.back().offset};
      for (const SpanBatch::Record& rec : batch.index) {
        const std::string_view payload =
            std::string_view(batch.payload).substr(start, rec.end - start);
        start = rec.end;
        QueuedRequest q;
        // Finished before a restart, or too short to be a request: skipped.
        if (finished_.count({rec.segment, rec.offset}) > 0 || !Parse(payload, q)) continue;
        q.samples = rec.spans;
        out.push_back(std::move(q));
        places_.emplace_back(rec.segment, rec.offset);
      }
      if (!out.empty()) return;
      AcknowledgeLocked();  // all skipped
    }
  }

  void Finished(size_t i) noexcept override {
    std::lock_guard lock(mu_);
    if (i >= places_.size()) return;
    finished_.insert(places_[i]);  // a Take after a partial one skips it too
    if (finished_fd_ < 0) return;
    const std::string line =
        std::to_string(places_[i].first) + " " + std::to_string(places_[i].second) + "\n";
    // One append per line (O_APPEND): survives kill -9; a torn line is ignored at start.
    if (::write(finished_fd_, line.data(), line.size()) < 0) return;
  }

  void Done(const std::vector<bool>& done) noexcept override {
    for (const bool d : done) {
      if (!d) return;  // kept: the WAL acknowledges a Take at once or not at all
    }
    std::lock_guard lock(mu_);
    AcknowledgeLocked();
  }

  uint64_t samples() const noexcept override { return wal_->Stats().spans; }
  uint64_t bytes() const noexcept override { return wal_->Stats().bytes; }
  bool persistent() const noexcept override { return true; }

 private:
  // The cursor moves past the last Peek: what the file says about it is no longer needed; what
  // it says about later records (finished before a restart, not yet taken again) is kept.
  void AcknowledgeLocked() {
    wal_->Ack();
    finished_.erase(finished_.begin(), finished_.upper_bound(last_place_));
    std::string rest;
    for (const auto& [seg, off] : finished_) {
      rest += std::to_string(seg) + " " + std::to_string(off) + "\n";
    }
    if (finished_fd_ < 0) return;
    if (::ftruncate(finished_fd_, 0) != 0 ||
        (!rest.empty() && ::write(finished_fd_, rest.data(), rest.size()) < 0)) {
      Log(LogLevel::kWarn, "remote write WAL: cannot rewrite the finished-requests file",
          {{"path", finished_path_}, {"err", std::strerror(errno)}});
    }
  }

  bool Parse(std::string_view p, QueuedRequest& q) {
    if (p.size() >= kWalHeader && std::memcmp(p.data(), kWalMagic, 8) == 0) {
      std::memcpy(&q.newest_ms, p.data() + 8, 8);
      std::memcpy(&q.exemplars, p.data() + 16, 8);
      std::memcpy(&q.collection, p.data() + 24, 8);
      std::memcpy(&q.lanes, p.data() + 32, 4);
      std::memcpy(&q.lane, p.data() + 36, 4);
      q.request.assign(p.substr(kWalHeader));
      return true;
    }
    if (p.size() < kLegacyWalHeader) return false;
    std::memcpy(&q.newest_ms, p.data(), 8);
    std::memcpy(&q.exemplars, p.data() + 8, 8);
    q.collection = legacy_collection_--;  // lanes 0: sent after everything earlier
    q.request.assign(p.substr(kLegacyWalHeader));
    return true;
  }

  const std::unique_ptr<otlp::DiskSpanQueue> wal_;
  const std::string finished_path_;
  uint64_t legacy_collection_ = std::numeric_limits<uint64_t>::max();  // sender thread only
  std::mutex mu_;  // Finished comes from the shards' threads
  // Records finished and not yet acknowledged (some before this start), as (segment, offset).
  std::set<std::pair<uint64_t, uint64_t>> finished_;
  std::vector<std::pair<uint64_t, uint64_t>> places_;  // the last Take's entries
  std::pair<uint64_t, uint64_t> last_place_{};         // the last Peek's last record
  int finished_fd_ = -1;                               // the file, appended to
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
  return std::unique_ptr<SampleQueue>(
      std::make_unique<WalSampleQueue>(std::move(wal).value(), options.directory));
}

}  // namespace lookout::remote_write
