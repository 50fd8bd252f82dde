#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/common/compression.h"
#include "exporters/otlp/disk_queue.h"
#include "exporters/otlp/memory_queue.h"
#include "tests/unit/test_util.h"

// clang says so with __has_feature, GCC with __SANITIZE_*__.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPAN_QUEUE_TEST_CLANG_SANITIZER 1
#endif
#endif
#ifndef SPAN_QUEUE_TEST_CLANG_SANITIZER
#define SPAN_QUEUE_TEST_CLANG_SANITIZER 0
#endif

namespace lookout::otlp {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::string Rec(int i, size_t n = 100) { return std::string(n, static_cast<char>('a' + i % 26)); }

MemorySpanQueueOptions MemoryOptions(size_t max_bytes, uint64_t batch_spans, size_t batch_bytes,
                                     bool gzip = false) {
  MemorySpanQueueOptions o;
  o.max_bytes = max_bytes;
  o.batch_spans = batch_spans;
  o.batch_bytes = batch_bytes;
  o.gzip = gzip;
  return o;
}

TEST(MemorySpanQueue, BoundedByBytesAndDrainedInOrder) {
  MemorySpanQueue q(MemoryOptions(1000, 100, 500));  // batches of one 400-byte record
  EXPECT_EQ(q.Push(Rec(0, 400), 4), SpanQueue::PushResult::kOk);
  EXPECT_EQ(q.Push(Rec(1, 400), 4), SpanQueue::PushResult::kOk);
  EXPECT_EQ(q.Push(Rec(2, 400), 4), SpanQueue::PushResult::kFull);
  EXPECT_EQ(q.Push(Rec(3, 1001), 1), SpanQueue::PushResult::kTooLarge);
  EXPECT_EQ(q.Stats().spans, 8u);
  EXPECT_EQ(q.Stats().stored_bytes, 800u);  // not gzipped: as received
  SpanBatch b;
  ASSERT_TRUE(q.Peek(0, 0, 0ms, b));  // the queue's limits, not Peek's
  EXPECT_EQ(b.records, 1u);
  EXPECT_EQ(b.payload, Rec(0, 400));
  EXPECT_FALSE(b.gzip);
  ASSERT_TRUE(q.Peek(0, 0, 0ms, b));  // not acked: the same batch again
  EXPECT_EQ(b.payload, Rec(0, 400));
  q.Ack();
  EXPECT_EQ(q.Push(Rec(2, 400), 4), SpanQueue::PushResult::kOk);
  ASSERT_TRUE(q.Peek(0, 0, 0ms, b));
  EXPECT_EQ(b.payload, Rec(1, 400));
  q.Ack();
  ASSERT_TRUE(q.Peek(0, 0, 0ms, b));  // the open batch, cut by the Peek after its wait
  EXPECT_EQ(b.payload, Rec(2, 400));
  EXPECT_EQ(b.spans, 4u);
  q.Ack();
  EXPECT_FALSE(q.Peek(0, 0, 10ms, b));
  EXPECT_EQ(q.Stats().bytes, 0u);
  EXPECT_EQ(q.Stats().stored_bytes, 0u);
}

// Batches cut before a record would take them past batch_spans, and as soon as they reach it.
TEST(MemorySpanQueue, CutsBatchesAtItsOwnLimits) {
  MemorySpanQueue q(MemoryOptions(1 << 20, 7, 1 << 20));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q.Push(Rec(i, 10), 3), SpanQueue::PushResult::kOk);
  ASSERT_EQ(q.Push(Rec(5, 10), 4), SpanQueue::PushResult::kOk);  // 3 + 4 = 7: cut at once
  SpanBatch b;
  for (uint64_t want : {6u, 6u, 7u}) {
    // A cut batch ends the wait: a Peek that had to wait for its timeout would take 10 s here.
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(q.Peek(0, 0, 10s, b));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(b.spans, want);
    q.Ack();
  }
  MemorySpanQueue small(MemoryOptions(1 << 20, 2, 1 << 20));
  ASSERT_EQ(small.Push(Rec(0, 10), 3), SpanQueue::PushResult::kOk);
  ASSERT_TRUE(small.Peek(0, 0, 0ms, b));
  EXPECT_EQ(b.spans, 3u);  // at least one record, even above batch_spans
}

// With gzip a cut batch is one gzip member of its records; the size limit counts them as
// received, what is held is the compressed size.
TEST(MemorySpanQueue, GzipKeepsCutBatchesCompressedAndCountsThemAsReceived) {
  MemorySpanQueue q(MemoryOptions(30000, 10, 1 << 20, true));
  std::vector<std::string> want(5);
  for (int i = 0; i < 25; ++i) {
    std::string record;
    for (int k = 0; k < 40; ++k)
      record += "span " + std::to_string(i) + " attr " + std::to_string(k) + ";";
    record.resize(1000, '.');
    want[i / 5] += record;
    ASSERT_EQ(q.Push(record, 2), SpanQueue::PushResult::kOk) << i;
  }
  const SpanQueueStats st = q.Stats();
  EXPECT_EQ(st.bytes, 25000u);
  EXPECT_EQ(st.spans, 50u);
  EXPECT_LT(st.stored_bytes * 5, st.bytes) << st.stored_bytes;
  EXPECT_EQ(q.Push(std::string(5001, 'x'), 1), SpanQueue::PushResult::kFull);  // 30000 as received
  SpanBatch b;
  for (const std::string& batch : want) {
    ASSERT_TRUE(q.Peek(0, 0, 0ms, b));
    ASSERT_TRUE(b.gzip);
    EXPECT_EQ(b.spans, 10u);
    EXPECT_EQ(b.records, 5u);
    auto raw = Inflate(b.payload, 1 << 20);
    ASSERT_TRUE(raw.ok()) << raw.error().detail;
    EXPECT_TRUE(*raw == batch);
    q.Ack();
  }
  EXPECT_FALSE(q.Peek(0, 0, 0ms, b));
  EXPECT_EQ(q.Stats().stored_bytes, 0u);
}

// A batch's buffer grows with its records: nothing is reserved for max_batch_bytes ahead, and an
// uncompressed batch waiting in the queue holds about its size. Reserving max_batch_bytes for
// each batch held 256 MiB here per open batch, and without gzip per waiting batch too: address
// space that RLIMIT_AS or a strict overcommit refuses long before the queue is full (found by a
// reviewer: 503s at a quarter of the queue).
// mallinfo2 is glibc's; the sanitizers bring their own allocator.
TEST(MemorySpanQueue, HoldsAboutWhatItQueuesNotMaxBatchBytes) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || SPAN_QUEUE_TEST_CLANG_SANITIZER
  GTEST_SKIP() << "glibc's mallinfo2 does not see the sanitizer's allocator";
#else
  auto allocated = [] {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  for (bool gzip : {false, true}) {
    // batch_spans 1: 16 batches cut and waiting; 1000: one open batch of 16 records.
    for (uint64_t batch_spans : {uint64_t{1}, uint64_t{1000}}) {
      const size_t before = allocated();
      MemorySpanQueue q(MemoryOptions(size_t{1} << 30, batch_spans, size_t{256} << 20, gzip));
      for (int i = 0; i < 16; ++i) {
        // Growing by more than doubling: a batch's last growth leaves slack to trim.
        ASSERT_EQ(q.Push(Rec(i, 100 + i * 300), 1), SpanQueue::PushResult::kOk);
      }
      EXPECT_LT(allocated() - before, size_t{1} << 20) << "gzip " << gzip << " " << batch_spans;
      EXPECT_EQ(q.Stats().spans, 16u);
    }
  }
#endif
}

// Pushers on several threads, each compressing the batches it cuts, and the one consumer: every
// record arrives exactly once, and each pusher's records in the order it pushed them.
TEST(MemorySpanQueue, ConcurrentPushersLoseNothing) {
  constexpr int kThreads = 4, kRecords = 1500;
  MemorySpanQueue q(MemoryOptions(1 << 20, 64, 1 << 20, true));
  std::vector<std::thread> pushers;
  pushers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    pushers.emplace_back([&q, t] {
      for (int i = 0; i < kRecords; ++i) {
        const std::string record = std::to_string(t) + ":" + std::to_string(i) + ";";
        while (q.Push(record, 1) == SpanQueue::PushResult::kFull) std::this_thread::yield();
      }
    });
  }
  std::vector<int> next(kThreads, 0);
  uint64_t spans = 0;
  SpanBatch b;
  while (spans < uint64_t{kThreads} * kRecords) {
    if (!q.Peek(0, 0, 1ms, b)) continue;
    auto raw = Inflate(b.payload, 1 << 20);
    ASSERT_TRUE(raw.ok()) << raw.error().detail;
    size_t at = 0;
    uint64_t records = 0;
    for (size_t end; (end = raw->find(';', at)) != std::string::npos; at = end + 1, ++records) {
      const std::string r = raw->substr(at, end - at);
      const int t = std::stoi(r.substr(0, r.find(':')));
      EXPECT_EQ(std::stoi(r.substr(r.find(':') + 1)), next[t]++) << r;
    }
    EXPECT_EQ(records, b.records);
    spans += b.spans;
    q.Ack();
  }
  for (auto& p : pushers) p.join();
  EXPECT_EQ(spans, uint64_t{kThreads} * kRecords);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kRecords);
  EXPECT_FALSE(q.Peek(0, 0, 0ms, b));
}

DiskQueueOptions Opts(const std::string& dir) {
  DiskQueueOptions o;
  o.directory = dir + "/q";
  o.max_bytes = 1 << 20;
  o.segment_bytes = 1000;  // small: several segments
  o.fsync = DiskQueueOptions::Fsync::kNever;
  return o;
}

TEST(DiskSpanQueue, SurvivesReopenAndDeletesDeliveredSegments) {
  TempDir dir;
  {
    auto q = DiskSpanQueue::Open(Opts(dir.path()));
    ASSERT_TRUE(q.ok()) << q.error().detail;
    for (int i = 0; i < 30; ++i) ASSERT_EQ((*q)->Push(Rec(i), 2), SpanQueue::PushResult::kOk);
    SpanBatch b;
    ASSERT_TRUE((*q)->Peek(1000, 1000, 0ms, b));
    EXPECT_EQ(b.records, 10u);  // 10 x 100 bytes
    EXPECT_EQ(b.payload.substr(0, 100), Rec(0));
    (*q)->Ack();
    EXPECT_EQ((*q)->Stats().spans, 40u);
    ASSERT_TRUE((*q)->Peek(1000, 250, 0ms, b));  // peeked but not acked: comes back after restart
    EXPECT_EQ(b.records, 2u);
  }  // like a kill: nothing flushed beyond what write() did
  auto q = DiskSpanQueue::Open(Opts(dir.path()));
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_EQ((*q)->recovery().records, 20u);
  EXPECT_EQ((*q)->recovery().spans, 40u);
  EXPECT_EQ((*q)->recovery().corrupt_bytes, 0u);
  std::string all;
  SpanBatch b;
  while ((*q)->Peek(1000, 1 << 20, 0ms, b)) {
    all += b.payload;
    (*q)->Ack();
    if (b.records == 0) break;
  }
  std::string want;
  for (int i = 10; i < 30; ++i) want += Rec(i);
  EXPECT_EQ(all, want);
  EXPECT_EQ((*q)->Stats().records, 0u);
  // Only the segment being written is left.
  size_t segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/q")) {
    segments += e.path().extension() == ".wal";
  }
  EXPECT_EQ(segments, 1u);
}

TEST(DiskSpanQueue, CutsATornTailAndKeepsEverythingBefore) {
  TempDir dir;
  std::string segment;
  {
    auto q = DiskSpanQueue::Open(Opts(dir.path()));
    ASSERT_TRUE(q.ok());
    for (int i = 0; i < 3; ++i) ASSERT_EQ((*q)->Push(Rec(i), 1), SpanQueue::PushResult::kOk);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/q")) {
    if (e.path().extension() == ".wal" && std::filesystem::file_size(e.path()) > 0) {
      segment = e.path();
    }
  }
  ASSERT_FALSE(segment.empty());
  {
    // A crash mid-write: a header promising 100 bytes, and 10 of them.
    std::ofstream f(segment, std::ios::binary | std::ios::app);
    const uint32_t len = 100, crc = 0;
    const uint64_t spans = 1;
    f.write(reinterpret_cast<const char*>(&len), 4);
    f.write(reinterpret_cast<const char*>(&crc), 4);
    f.write(reinterpret_cast<const char*>(&spans), 8);
    f << std::string(10, 'x');
  }
  auto q = DiskSpanQueue::Open(Opts(dir.path()));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->recovery().records, 3u);
  EXPECT_EQ((*q)->recovery().corrupt_bytes, 26u);
  // New records go after the cut, in a new segment.
  ASSERT_EQ((*q)->Push(Rec(3), 1), SpanQueue::PushResult::kOk);
  SpanBatch b;
  ASSERT_TRUE((*q)->Peek(1000, 1 << 20, 0ms, b));
  EXPECT_EQ(b.payload, Rec(0) + Rec(1) + Rec(2) + Rec(3));
}

TEST(DiskSpanQueue, FullAtMaxBytesAndExclusiveToOneProcess) {
  TempDir dir;
  auto o = Opts(dir.path());
  o.max_bytes = 1 << 20;
  auto q = DiskSpanQueue::Open(o);
  ASSERT_TRUE(q.ok());
  auto again = DiskSpanQueue::Open(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, "locked");
  int pushed = 0;
  while ((*q)->Push(Rec(0, 10000), 1) == SpanQueue::PushResult::kOk) ++pushed;
  EXPECT_EQ(pushed, (1 << 20) / 10016);
  EXPECT_EQ((*q)->Push(Rec(0, 10000), 1), SpanQueue::PushResult::kFull);
  EXPECT_EQ((*q)->Push(Rec(0, 2 << 20), 1), SpanQueue::PushResult::kTooLarge);
  SpanBatch b;
  ASSERT_TRUE((*q)->Peek(1000, 50000, 0ms, b));
  (*q)->Ack();
  EXPECT_EQ((*q)->Push(Rec(0, 10000), 1), SpanQueue::PushResult::kOk);  // room again
}

TEST(DiskSpanQueue, FsyncAlwaysWorks) {
  TempDir dir;
  auto o = Opts(dir.path());
  o.fsync = DiskQueueOptions::Fsync::kAlways;
  auto q = DiskSpanQueue::Open(o);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ((*q)->Push(Rec(0), 1), SpanQueue::PushResult::kOk);
  SpanBatch b;
  ASSERT_TRUE((*q)->Peek(1000, 1000, 0ms, b));
  (*q)->Ack();
  std::ifstream cursor(o.directory + "/cursor");
  uint64_t seg = 0, off = 0;
  cursor >> seg >> off;
  EXPECT_EQ(off, 116u);
}

}  // namespace
}  // namespace lookout::otlp

namespace lookout::otlp {
namespace {

TEST(DiskSpanQueue, BatchesStopAtMaxSpans) {
  testing::TempDir dir;
  auto disk = DiskSpanQueue::Open(Opts(dir.path()));
  ASSERT_TRUE(disk.ok());
  SpanQueue* q = disk->get();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q->Push(Rec(i, 10), 3), SpanQueue::PushResult::kOk);
  SpanBatch b;
  ASSERT_TRUE(q->Peek(7, 1 << 20, std::chrono::milliseconds(0), b));
  EXPECT_EQ(b.spans, 6u);  // a third record would make 9
  q->Ack();
  ASSERT_TRUE(q->Peek(2, 1 << 20, std::chrono::milliseconds(0), b));
  EXPECT_EQ(b.spans, 3u);  // at least one record, even above max_spans
}

}  // namespace
}  // namespace lookout::otlp
