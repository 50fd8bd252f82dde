#include "exporters/otlp/disk_queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "agent/common/log.h"

namespace lookout::otlp {
namespace {

constexpr size_t kHeader = 16;
constexpr uint64_t kMaxRecord = 1ull << 30;

struct Header {
  uint32_t len;
  uint32_t crc;
  uint64_t spans;
};

uint32_t Crc(uint64_t spans, std::string_view payload) {
  uLong c = crc32(0L, Z_NULL, 0);
  c = crc32(c, reinterpret_cast<const Bytef*>(&spans), sizeof spans);
  // zlib takes uInt lengths; records are < 4 GiB (kMaxRecord).
  c = crc32(c, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  return static_cast<uint32_t>(c);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool WriteAll(int fd, const iovec* iov, int n) {
  std::vector<iovec> v(iov, iov + n);
  size_t i = 0;
  while (i < v.size()) {
    const ssize_t w = ::writev(fd, &v[i], static_cast<int>(v.size() - i));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<size_t>(w);
    while (i < v.size() && left >= v[i].iov_len) left -= v[i++].iov_len;
    if (i < v.size()) {
      v[i].iov_base = static_cast<char*>(v[i].iov_base) + left;
      v[i].iov_len -= left;
    }
  }
  return true;
}

bool ReadAt(int fd, char* buf, size_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

// Reads the record at `off`; false when torn, oversized or corrupt.
bool ReadRecord(int fd, uint64_t off, uint64_t file_size, Header& h, std::string* payload) {
  if (file_size - off < kHeader) return false;
  char hb[kHeader];
  if (!ReadAt(fd, hb, kHeader, off)) return false;
  std::memcpy(&h.len, hb, 4);
  std::memcpy(&h.crc, hb + 4, 4);
  std::memcpy(&h.spans, hb + 8, 8);
  if (h.len > kMaxRecord || file_size - off - kHeader < h.len) return false;
  std::string local;
  std::string& p = payload != nullptr ? *payload : local;
  p.resize(h.len);
  if (!ReadAt(fd, p.data(), h.len, off + kHeader)) return false;
  return Crc(h.spans, p) == h.crc;
}

}  // namespace

DiskSpanQueue::DiskSpanQueue(DiskQueueOptions options)
    : options_(std::move(options)), last_sync_(std::chrono::steady_clock::now()) {}

DiskSpanQueue::~DiskSpanQueue() {
  std::lock_guard lock(mu_);
  if (write_fd_ >= 0) {
    if (dirty_ && options_.fsync != DiskQueueOptions::Fsync::kNever) ::fdatasync(write_fd_);
    ::close(write_fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string DiskSpanQueue::SegmentPath(uint64_t id) const {
  char name[40];
  std::snprintf(name, sizeof name, "segment-%016llx.wal", static_cast<unsigned long long>(id));
  return options_.directory + "/" + name;
}

Result<std::unique_ptr<DiskSpanQueue>> DiskSpanQueue::Open(DiskQueueOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) return MakeError("io", "cannot create " + options.directory + ": " + ec.message());
  std::unique_ptr<DiskSpanQueue> q(new DiskSpanQueue(std::move(options)));
  const std::string lock_path = q->options_.directory + "/lock";
  q->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (q->lock_fd_ < 0) return MakeError("io", Errno("open " + lock_path));
  if (::flock(q->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return MakeError("locked", q->options_.directory + " is used by another process");
  }
  if (Status st = q->Recover(); !st.ok()) return st.error();
  return q;
}

Status DiskSpanQueue::Recover() {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> ids;
  DIR* d = ::opendir(options_.directory.c_str());
  if (d == nullptr) return MakeError("io", Errno("opendir " + options_.directory));
  while (dirent* e = ::readdir(d)) {
    unsigned long long id;
    char tail[8];
    // At most 16 hex digits: cannot overflow.
    if (std::sscanf(e->d_name, "segment-%16llx.%4s", &id, tail) == 2 &&  // NOLINT(cert-err34-c)
        std::strcmp(tail, "wal") == 0) {
      ids.push_back(id);
    }
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  uint64_t cursor_seg = 0, cursor_off = 0;
  if (FILE* f = std::fopen((options_.directory + "/cursor").c_str(), "r")) {
    unsigned long long s = 0, o = 0;
    // The queue's own file (WriteCursor); a value out of range reads as the largest.
    if (std::fscanf(f, "%llu %llu", &s, &o) == 2) {  // NOLINT(cert-err34-c)
      cursor_seg = s;
      cursor_off = o;
    }
    std::fclose(f);
  }
  if (!ids.empty() && cursor_seg > ids.back()) {
    // A cursor past every segment (a damaged or foreign file) would delete them all as
    // delivered: distrust it and resend from the oldest (delivery is at least once anyway).
    Log(LogLevel::kWarn, options_.log_name + ": cursor past the newest segment, ignored",
        {{"cursor_segment", std::to_string(cursor_seg)},
         {"newest_segment", std::to_string(ids.back())}});
    cursor_seg = cursor_off = 0;
  }
  uint64_t next_id = cursor_seg + 1;
  for (uint64_t id : ids) {
    next_id = std::max(next_id, id + 1);
    const std::string path = SegmentPath(id);
    if (id < cursor_seg) {  // delivered before the restart
      ::unlink(path.c_str());
      continue;
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return MakeError("io", Errno("open " + path));
    struct stat st {};
    ::fstat(fd, &st);
    const auto size = static_cast<uint64_t>(st.st_size);
    uint64_t off = id == cursor_seg ? std::min(cursor_off, size) : 0;
    const uint64_t start = off;
    Segment seg{id, 0};
    Header h{};
    while (off < size && ReadRecord(fd, off, size, h, nullptr)) {
      off += kHeader + h.len;
      ++seg.records;
      seg.spans += h.spans;
    }
    recovery_.records += seg.records;
    recovery_.spans += seg.spans;
    if (off < size) {  // a torn tail (crash mid-write) or corruption: cut it
      recovery_.corrupt_bytes += size - off;
      Log(LogLevel::kWarn, options_.log_name + ": cut a torn or corrupt segment tail",
          {{"segment", path},
           {"offset", std::to_string(off)},
           {"bytes", std::to_string(size - off)}});
      if (::ftruncate(fd, static_cast<off_t>(off)) != 0) {
        ::close(fd);
        return MakeError("io", Errno("truncate " + path));
      }
    }
    ::close(fd);
    if (segments_.empty()) head_offset_ = start;
    seg.size = off;
    segments_.push_back(seg);
  }
  RecountLocked();
  // Always write into a fresh segment: nothing is appended after a cut tail.
  if (!OpenWriteSegmentLocked(next_id)) return MakeError("io", Errno("create segment"));
  return Ok{};
}

bool DiskSpanQueue::OpenWriteSegmentLocked(uint64_t id) {
  if (write_fd_ >= 0) {
    if (options_.fsync != DiskQueueOptions::Fsync::kNever) ::fdatasync(write_fd_);
    ::close(write_fd_);
    write_fd_ = -1;
  }
  const std::string path = SegmentPath(id);
  write_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (write_fd_ < 0) return false;
  if (segments_.empty()) head_offset_ = 0;
  segments_.push_back({id, 0});
  dirty_ = false;
  return true;
}

void DiskSpanQueue::SyncLocked(bool force) {
  if (!dirty_ || write_fd_ < 0 || options_.fsync == DiskQueueOptions::Fsync::kNever) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_sync_ < options_.fsync_interval) return;
  ::fdatasync(write_fd_);
  last_sync_ = now;
  dirty_ = false;
}

SpanQueue::PushResult DiskSpanQueue::Push(std::string_view record, uint64_t spans) noexcept {
  const uint64_t need = kHeader + record.size();
  if (record.size() > kMaxRecord || need > options_.max_bytes) return PushResult::kTooLarge;
  const Header h{static_cast<uint32_t>(record.size()), Crc(spans, record), spans};
  char hb[kHeader];
  std::memcpy(hb, &h.len, 4);
  std::memcpy(hb + 4, &h.crc, 4);
  std::memcpy(hb + 8, &h.spans, 8);
  {
    std::lock_guard lock(mu_);
    if (live_bytes_ + need > options_.max_bytes) return PushResult::kFull;
    if (write_fd_ < 0) return PushResult::kError;
    if (segments_.back().size >= options_.segment_bytes &&
        !OpenWriteSegmentLocked(segments_.back().id + 1)) {
      Log(LogLevel::kError, options_.log_name + ": cannot create a segment",
          {{"err", std::strerror(errno)}});
      return PushResult::kError;
    }
    const iovec iov[2] = {{hb, kHeader}, {const_cast<char*>(record.data()), record.size()}};
    if (!WriteAll(write_fd_, iov, 2)) {
      // Cut what was partly written, so the segment stays a clean sequence of records.
      Log(LogLevel::kError, options_.log_name + ": write failed", {{"err", std::strerror(errno)}});
      if (::ftruncate(write_fd_, static_cast<off_t>(segments_.back().size)) != 0) {
        ::close(write_fd_);
        write_fd_ = -1;  // unusable until restart; pushes fail (503) rather than corrupt
      }
      return PushResult::kError;
    }
    segments_.back().size += need;
    segments_.back().records += 1;
    segments_.back().spans += spans;
    live_bytes_ += need;
    ++records_;
    spans_ += spans;
    dirty_ = true;
    SyncLocked(options_.fsync == DiskQueueOptions::Fsync::kAlways);
  }
  cv_.notify_one();
  return PushResult::kOk;
}

bool DiskSpanQueue::Peek(uint64_t max_spans, size_t max_bytes, std::chrono::milliseconds wait,
                         SpanBatch& out) noexcept {
  peeked_ = false;
  {
    std::unique_lock lock(mu_);
    taken_.clear();
    cv_.wait_for(lock, wait, [&] { return closed_ || spans_ >= max_spans; });
  }
  // A DropOldest between reading the records and handing them out would count them both
  // dropped and delivered: read again from the new head (once per drop at most).
  while (true) {
    std::vector<Taken> taken;
    if (!PeekOnce(max_spans, max_bytes, out, taken)) return false;
    std::lock_guard lock(mu_);
    if (segments_.front().id != peek_front_) continue;
    taken_ = std::move(taken);
    peeked_ = true;
    return out.records > 0 || peek_bytes_ > 0;
  }
}

bool DiskSpanQueue::PeekOnce(uint64_t max_spans, size_t max_bytes, SpanBatch& out,
                             std::vector<Taken>& taken) noexcept {
  out.payload.clear();
  out.index.clear();
  out.spans = out.records = 0;
  std::deque<Segment> segs;
  uint64_t off;
  {
    std::lock_guard lock(mu_);
    SyncLocked(false);
    if (records_ == 0) return false;
    segs = segments_;
    off = head_offset_;
    peek_front_ = segs.front().id;
  }
  peek_bytes_ = 0;
  size_t si = 0;
  std::string payload;
  int fd = -1;
  uint64_t fd_id = ~0ull;
  while (si < segs.size()) {
    if (off >= segs[si].size) {
      if (si + 1 == segs.size()) break;
      ++si;
      off = 0;
      continue;
    }
    if (fd_id != segs[si].id) {
      if (fd >= 0) ::close(fd);
      fd = ::open(SegmentPath(segs[si].id).c_str(), O_RDONLY | O_CLOEXEC);
      fd_id = segs[si].id;
      if (fd < 0) {
        Log(LogLevel::kError, options_.log_name + ": cannot open segment",
            {{"segment", SegmentPath(segs[si].id)}, {"err", std::strerror(errno)}});
        break;
      }
    }
    Header h{};
    if (!ReadRecord(fd, off, segs[si].size, h, &payload)) {
      // Corrupt on disk after it was written (bit rot, someone else's write): skip the rest
      // of this segment; its spans are lost and counted.
      Log(LogLevel::kError,
          options_.log_name + ": corrupt record, skipping the rest of the segment",
          {{"segment", SegmentPath(segs[si].id)}, {"offset", std::to_string(off)}});
      {
        std::lock_guard lock(mu_);
        corrupt_records_ += 1;
      }
      peek_bytes_ += segs[si].size - off;
      off = segs[si].size;
      continue;
    }
    if (out.records > 0 &&
        (out.payload.size() + payload.size() > max_bytes || out.spans + h.spans > max_spans)) {
      break;
    }
    out.payload.append(payload);
    out.index.push_back({out.payload.size(), h.spans, segs[si].id, off});
    out.spans += h.spans;
    ++out.records;
    if (taken.empty() || taken.back().segment != segs[si].id) taken.push_back({segs[si].id, 0, 0});
    taken.back().records += 1;
    taken.back().spans += h.spans;
    off += kHeader + h.len;
    peek_bytes_ += kHeader + h.len;
  }
  if (fd >= 0) ::close(fd);
  peek_segment_ = segs[si < segs.size() ? si : segs.size() - 1].id;
  peek_offset_ = off;
  return true;
}

void DiskSpanQueue::Ack() noexcept {
  if (!peeked_) return;
  peeked_ = false;
  std::lock_guard lock(mu_);
  // A DropOldest since the Peek may have deleted segments the batch came from; what is left of
  // the batch is removed from the segments still here.
  for (const Taken& t : taken_) {
    for (Segment& s : segments_) {
      if (s.id != t.segment) continue;
      s.records -= std::min(s.records, t.records);
      s.spans -= std::min(s.spans, t.spans);
    }
  }
  taken_.clear();
  if (segments_.front().id <= peek_segment_) {
    // Segments before the one the batch ended in were read to their end (records cut as corrupt
    // included): deleted.
    while (segments_.size() > 1 && segments_.front().id < peek_segment_) {
      ::unlink(SegmentPath(segments_.front().id).c_str());
      segments_.pop_front();
    }
    head_offset_ = peek_offset_;
    if (head_offset_ >= segments_.front().size) {  // read to its end: nothing left in it
      segments_.front().records = segments_.front().spans = 0;
    }
    SaveCursorLocked(peek_segment_, peek_offset_);
  }
  RecountLocked();
}

DiskSpanQueue::Dropped DiskSpanQueue::DropOldest() noexcept {
  std::lock_guard lock(mu_);
  if (records_ == 0) return {};
  // The segment being written is closed first when it is the only one.
  if (segments_.size() == 1 && !OpenWriteSegmentLocked(segments_.back().id + 1)) return {};
  const Segment s = segments_.front();
  segments_.pop_front();
  ::unlink(SegmentPath(s.id).c_str());
  Dropped d{s.size - std::min(s.size, head_offset_), s.records, s.spans};
  head_offset_ = 0;
  for (const Taken& t : taken_) {
    if (t.segment != s.id) continue;
    d.records -= std::min(d.records, t.records);
    d.spans -= std::min(d.spans, t.spans);
  }
  RecountLocked();
  Log(LogLevel::kWarn, options_.log_name + ": full, dropped its oldest segment",
      {{"segment", SegmentPath(s.id)}, {"records", std::to_string(d.records)}});
  return d;
}

void DiskSpanQueue::RecountLocked() {
  live_bytes_ = records_ = spans_ = 0;
  for (const Segment& s : segments_) {
    live_bytes_ += s.size;
    records_ += s.records;
    spans_ += s.spans;
  }
  if (!segments_.empty()) live_bytes_ -= std::min(live_bytes_, head_offset_);
}

void DiskSpanQueue::SaveCursorLocked(uint64_t segment, uint64_t offset) {
  const std::string tmp = options_.directory + "/cursor.tmp";
  const std::string text = std::to_string(segment) + " " + std::to_string(offset) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;  // the next Ack tries again; a restart would resend (at least once)
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (options_.fsync == DiskQueueOptions::Fsync::kAlways) ::fdatasync(fd);
  ::close(fd);
  if (ok) ::rename(tmp.c_str(), (options_.directory + "/cursor").c_str());
}

void DiskSpanQueue::Close() noexcept {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    SyncLocked(true);
  }
  cv_.notify_all();
}

SpanQueueStats DiskSpanQueue::Stats() const noexcept {
  std::lock_guard lock(mu_);
  return {records_, spans_, live_bytes_, options_.max_bytes, live_bytes_};
}

uint64_t DiskSpanQueue::corrupt_records() const noexcept {
  std::lock_guard lock(mu_);
  return corrupt_records_;
}

}  // namespace lookout::otlp
