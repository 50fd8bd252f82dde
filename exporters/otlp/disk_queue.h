#pragma once
// Disk-backed SpanQueue: a write-ahead log of segment files under one directory, so accepted
// spans survive a Jaeger outage and an agent restart (kill -9 included).
//
// Layout: <dir>/segment-<16 hex digits>.wal files of records, each
//   u32 payload length | u32 CRC-32 of (spans, payload) | u64 span count | payload
// (little-endian), and <dir>/cursor, the position up to which records were delivered
// (replaced atomically by rename after each Ack). Segments are closed at segment_bytes and
// deleted once delivered. <dir>/lock is flock()ed: two agents cannot share a directory.
//
// Durability (fsync policy):
//   never    - write() before the request is acknowledged: survives a crash or kill -9 of the
//              agent (the kernel has the bytes), not a power loss or kernel crash;
//   interval - as never, plus fdatasync() at most every fsync_interval (default): a power loss
//              loses at most that much;
//   always   - fdatasync() before each request is acknowledged (costs a disk flush each).
// Delivery is at least once: a crash between sending a batch and saving the cursor sends that
// batch again after the restart.
//
// Recovery (constructor): every record after the cursor is checked; the log is cut at the first
// torn or corrupt record (the tail a crash can leave), and what was cut is counted.
//
// Drop-oldest (DropOldest): a user that prefers losing its oldest data to refusing new data
// (remote write, as Prometheus's WAL truncation does) deletes whole segments from the front.
// What the last Peek handed out is the consumer's: it is not counted as dropped.
//
// Thread-safety: see SpanQueue.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "lookout/result.h"
#include "lookout/trace/span_queue.h"

namespace lookout::otlp {

struct DiskQueueOptions {
  std::string directory;
  size_t max_bytes = 1ull << 30;       // records on disk, not yet delivered
  size_t segment_bytes = 16ull << 20;  // a segment is closed once it reaches this size
  enum class Fsync { kNever, kInterval, kAlways };
  Fsync fsync = Fsync::kInterval;
  std::chrono::milliseconds fsync_interval{1000};
  std::string log_name = "span queue";  // what its log lines call it
};

class DiskSpanQueue final : public SpanQueue {
 public:
  // Opens (creating it if needed) and recovers the directory. Errors: "io" (cannot create,
  // read or lock it), "locked" (another process holds it).
  static Result<std::unique_ptr<DiskSpanQueue>> Open(DiskQueueOptions options);
  ~DiskSpanQueue() override;

  PushResult Push(std::string_view record, uint64_t spans) noexcept override;
  bool Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
            SpanBatch& out) noexcept override;
  void Ack() noexcept override;
  void Close() noexcept override;
  SpanQueueStats Stats() const noexcept override;
  bool persistent() const noexcept override { return true; }

  // What recovery found: records and spans pending, and bytes cut as torn or corrupt.
  struct Recovery {
    uint64_t records = 0;
    uint64_t spans = 0;
    uint64_t corrupt_bytes = 0;
  };
  const Recovery& recovery() const { return recovery_; }
  // Records found corrupt while reading (after recovery) and skipped, since the start.
  uint64_t corrupt_records() const noexcept;

  // Deletes the oldest segment (closing the one being written first when it is the only one).
  // Returns the bytes freed and the records and spans deleted, less what the last Peek handed
  // out (the consumer counts those); all 0 when the queue is empty. Thread-safety: as Push.
  struct Dropped {
    uint64_t bytes = 0;
    uint64_t records = 0;
    uint64_t spans = 0;
  };
  Dropped DropOldest() noexcept;

 private:
  struct Segment {
    uint64_t id;
    uint64_t size;
    uint64_t records = 0;  // not yet delivered (in the front segment: after head_offset_)
    uint64_t spans = 0;
  };
  // What the last Peek took from one segment.
  struct Taken {
    uint64_t segment;
    uint64_t records;
    uint64_t spans;
  };
  explicit DiskSpanQueue(DiskQueueOptions options);
  Status Recover();
  std::string SegmentPath(uint64_t id) const;
  bool OpenWriteSegmentLocked(uint64_t id);
  void SaveCursorLocked(uint64_t segment, uint64_t offset);
  void SyncLocked(bool force);
  void RecountLocked();  // live_bytes_, records_, spans_ from segments_
  // One read of the oldest records into `out` (what each segment gave in `taken`); false when
  // the queue is empty. Consumer thread only.
  bool PeekOnce(uint64_t max_spans, size_t max_bytes, SpanBatch& out,
                std::vector<Taken>& taken) noexcept;

  const DiskQueueOptions options_;
  int lock_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Segment> segments_;  // guarded by mu_; oldest first, the last is being written
  int write_fd_ = -1;
  uint64_t head_offset_ = 0;  // delivered bytes in segments_.front()
  uint64_t live_bytes_ = 0, records_ = 0, spans_ = 0;
  std::chrono::steady_clock::time_point last_sync_;
  bool dirty_ = false, closed_ = false;
  // Consumer side (Peek/Ack thread only).
  uint64_t peek_segment_ = 0, peek_offset_ = 0, peek_bytes_ = 0;
  uint64_t peek_front_ = 0;  // the head segment PeekOnce started from
  bool peeked_ = false;
  std::vector<Taken> taken_;      // guarded by mu_: what the last Peek handed out, until Ack
  uint64_t corrupt_records_ = 0;  // guarded by mu_
  Recovery recovery_;
};

}  // namespace lookout::otlp
