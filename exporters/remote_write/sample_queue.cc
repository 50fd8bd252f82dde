#include "exporters/remote_write/sample_queue.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include "agent/common/log.h"
#include "exporters/remote_write/send_log.h"

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

// What the sender did with an unacknowledged Take's records (send_log.h): <endpoint>/sends.
constexpr const char* kSendLogFile = "/sends";
constexpr size_t kMaxLoggedPlaces = 1 << 16;

class WalSampleQueue final : public SampleQueue {
 public:
  WalSampleQueue(std::unique_ptr<otlp::DiskSpanQueue> wal, const std::string& directory)
      : wal_(std::move(wal)), log_(directory + kSendLogFile, kMaxLoggedPlaces) {}

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
    std::lock_guard lock(mu_);  // uncontended: the shards are idle between Takes
    // The WAL counts samples (its records' span counts), not records. A group a previous run
    // sent as one request goes out whole again: the Take reaches its last record.
    const WalPlace reach = log_.furthest_grouped();
    uint64_t want = std::max<uint64_t>(max_samples, 1);
    WalPlace reached{0, 0};
    while (
        wal_->Peek(want, std::numeric_limits<size_t>::max(), std::chrono::milliseconds(0), batch)) {
      if (!batch.index.empty()) {
        const WalPlace last{batch.index.back().segment, batch.index.back().offset};
        if (last < reach && last != reached && want < (uint64_t{1} << 40)) {
          reached = last;
          want *= 2;
          continue;
        }
        last_place_ = last;
      }
      Split(batch, out);
      if (!out.empty()) return;
      AcknowledgeLocked();  // all skipped
    }
  }

  void Sending(const std::vector<size_t>& entries) noexcept override {
    std::lock_guard lock(mu_);
    log_.Sending(PlacesLocked(entries));
  }

  void Finished(const std::vector<size_t>& entries) noexcept override {
    std::lock_guard lock(mu_);
    log_.Finished(PlacesLocked(entries));
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
  // The batch's records as entries, in order: those finished before a restart (or too short
  // to be a request) left out, a group sent as one request before a restart joined again at its
  // first record (one request, as the receiver may have stored it).
  void Split(const SpanBatch& batch, std::vector<QueuedRequest>& out) {
    std::map<const std::vector<WalPlace>*, size_t> joined;  // group -> its entry
    size_t start = 0;
    for (const SpanBatch::Record& rec : batch.index) {
      const std::string_view payload =
          std::string_view(batch.payload).substr(start, rec.end - start);
      start = rec.end;
      const WalPlace place{rec.segment, rec.offset};
      QueuedRequest q;
      if (log_.finished(place) || !Parse(payload, q)) continue;
      q.samples = rec.spans;
      const std::vector<WalPlace>* group = log_.group_of(place);
      if (group != nullptr) {
        const auto it = joined.find(group);
        if (it != joined.end()) {  // WriteRequests concatenate into one
          QueuedRequest& first = out[it->second];
          first.request += q.request;
          first.samples += q.samples;
          first.exemplars += q.exemplars;
          first.newest_ms = std::max(first.newest_ms, q.newest_ms);
          places_[it->second].push_back(place);
          continue;
        }
        joined[group] = out.size();
      }
      out.push_back(std::move(q));
      places_.push_back({place});
    }
  }

  std::vector<WalPlace> PlacesLocked(const std::vector<size_t>& entries) const {
    std::vector<WalPlace> places;
    for (const size_t i : entries) {
      if (i < places_.size()) places.insert(places.end(), places_[i].begin(), places_[i].end());
    }
    return places;
  }

  // The cursor moves past the last Peek: the log forgets those records (all of it when the WAL
  // is empty, so lines naming records that never were do not stay).
  void AcknowledgeLocked() {
    wal_->Ack();
    log_.Forget(last_place_, wal_->Stats().spans == 0);
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
  uint64_t legacy_collection_ = std::numeric_limits<uint64_t>::max();  // sender thread only
  std::mutex mu_;                              // Sending and Finished come from the shards' threads
  SendLog log_;                                // guarded by mu_
  std::vector<std::vector<WalPlace>> places_;  // guarded by mu_: the last Take's entries' records
  WalPlace last_place_{};                      // guarded by mu_: the last Peek's last record
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
