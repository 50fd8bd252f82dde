#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "exporters/otlp/disk_queue.h"
#include "exporters/otlp/memory_queue.h"
#include "tests/unit/test_util.h"

namespace lookout::otlp {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::string Rec(int i, size_t n = 100) { return std::string(n, static_cast<char>('a' + i % 26)); }

TEST(MemorySpanQueue, BoundedByBytesAndDrainedInOrder) {
  MemorySpanQueue q(1000);
  EXPECT_EQ(q.Push(Rec(0, 400), 4), SpanQueue::PushResult::kOk);
  EXPECT_EQ(q.Push(Rec(1, 400), 4), SpanQueue::PushResult::kOk);
  EXPECT_EQ(q.Push(Rec(2, 400), 4), SpanQueue::PushResult::kFull);
  EXPECT_EQ(q.Push(Rec(3, 1001), 1), SpanQueue::PushResult::kTooLarge);
  EXPECT_EQ(q.Stats().spans, 8u);
  SpanBatch b;
  ASSERT_TRUE(q.Peek(100, 500, 0ms, b));  // max_bytes 500: one record only
  EXPECT_EQ(b.records, 1u);
  EXPECT_EQ(b.payload, Rec(0, 400));
  ASSERT_TRUE(q.Peek(100, 500, 0ms, b));  // not acked: the same record again
  EXPECT_EQ(b.payload, Rec(0, 400));
  q.Ack();
  EXPECT_EQ(q.Push(Rec(2, 400), 4), SpanQueue::PushResult::kOk);
  ASSERT_TRUE(q.Peek(1000, 10000, 0ms, b));
  EXPECT_EQ(b.payload, Rec(1, 400) + Rec(2, 400));
  EXPECT_EQ(b.spans, 8u);
  q.Ack();
  EXPECT_FALSE(q.Peek(1000, 10000, 10ms, b));
  EXPECT_EQ(q.Stats().bytes, 0u);
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

TEST(SpanQueues, BatchesStopAtMaxSpans) {
  testing::TempDir dir;
  auto disk = DiskSpanQueue::Open(Opts(dir.path()));
  ASSERT_TRUE(disk.ok());
  MemorySpanQueue memory(1 << 20);
  for (SpanQueue* q : {static_cast<SpanQueue*>(disk->get()), static_cast<SpanQueue*>(&memory)}) {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(q->Push(Rec(i, 10), 3), SpanQueue::PushResult::kOk);
    SpanBatch b;
    ASSERT_TRUE(q->Peek(7, 1 << 20, std::chrono::milliseconds(0), b));
    EXPECT_EQ(b.spans, 6u);  // a third record would make 9
    q->Ack();
    ASSERT_TRUE(q->Peek(2, 1 << 20, std::chrono::milliseconds(0), b));
    EXPECT_EQ(b.spans, 3u);  // at least one record, even above max_spans
  }
}

}  // namespace
}  // namespace lookout::otlp
