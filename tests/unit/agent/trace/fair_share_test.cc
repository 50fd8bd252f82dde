#include "agent/trace/fair_share.h"

#include <gtest/gtest.h>

#include "tests/unit/test_util.h"

namespace lookout::trace {
namespace {

double Refused(SelfMetrics& registry, const std::string& source) {
  return testing::ValueByFirstLabel(registry, "lookout_trace_spans_refused_by_source_total",
                                    source);
}

constexpr uint64_t kCapacity = 1000;

// The queue's state as FairShare reads it: `records` records of `bytes` in all.
SpanQueueStats Queue(uint64_t records, uint64_t bytes) { return {records, 0, bytes, kCapacity}; }

TEST(FairShare, BelowTheThresholdEveryoneGetsIn) {
  SelfMetrics registry;
  FairShare fair({0.75, 32}, registry);
  fair.Pushed("noisy", 700);
  EXPECT_TRUE(fair.Admit("noisy", 40, 4, Queue(1, 700)));  // 740 < 750
  EXPECT_EQ(Refused(registry, "noisy"), 0);
}

TEST(FairShare, NearTheLimitTheHeaviestHolderIsRefusedAndTheQuietOneIsNot) {
  SelfMetrics registry;
  FairShare fair({0.75, 32}, registry);
  fair.Pushed("noisy", 720);
  fair.Pushed("quiet", 30);
  EXPECT_FALSE(fair.Admit("noisy", 40, 4, Queue(2, 750)));
  EXPECT_EQ(Refused(registry, "noisy"), 4);
  EXPECT_TRUE(fair.Admit("quiet", 40, 4, Queue(2, 750))) << "30 < 750 / 2";
  EXPECT_TRUE(fair.Admit("new", 40, 4, Queue(2, 750))) << "holds nothing";
}

TEST(FairShare, ASingleSenderStopsAtTheThreshold) {
  SelfMetrics registry;
  FairShare fair({0.75, 32}, registry);
  fair.Pushed("only", 760);
  EXPECT_FALSE(fair.Admit("only", 10, 1, Queue(1, 760)));
  SelfMetrics other_registry;
  FairShare off({1.0, 32}, other_registry);
  off.Pushed("only", 990);
  EXPECT_TRUE(off.Admit("only", 10, 1, Queue(1, 990))) << "threshold 1 turns the rule off";
}

// Exporting takes the oldest records: the queue's record count tells which pushes are gone,
// whatever bytes of framing the queue adds to each (the disk queue's header).
TEST(FairShare, ExportedPushesNoLongerCount) {
  SelfMetrics registry;
  FairShare fair({0.75, 32}, registry);
  fair.Pushed("noisy", 500);
  fair.Pushed("quiet", 100);
  fair.Pushed("noisy", 200);
  EXPECT_EQ(fair.held("noisy"), 700u);
  // The oldest record was exported: 2 remain, quiet's 100 and noisy's 200.
  EXPECT_TRUE(fair.Admit("noisy", 10, 1, Queue(2, 332)));
  EXPECT_EQ(fair.held("noisy"), 200u);
  EXPECT_EQ(fair.held("quiet"), 100u);
  EXPECT_TRUE(fair.Admit("x", 10, 1, Queue(0, 0)));
  EXPECT_EQ(fair.held("noisy"), 0u);
  EXPECT_EQ(fair.held("quiet"), 0u);
}

TEST(FairShare, ConsecutiveRecordsOfOneSenderShareAnEntryAndLeaveOneByOne) {
  SelfMetrics registry;
  FairShare fair({0.75, 32}, registry);
  for (int i = 0; i < 3; ++i) fair.Pushed("noisy", 100);
  fair.Pushed("quiet", 50);
  EXPECT_TRUE(fair.Admit("x", 1, 1, Queue(2, 150)));  // two of noisy's three were exported
  EXPECT_EQ(fair.held("noisy"), 100u);
  EXPECT_EQ(fair.held("quiet"), 50u);
}

TEST(FairShare, SourceLabelsAreBounded) {
  SelfMetrics registry;
  FairShare fair({0.5, 2}, registry);
  for (const char* s : {"a", "b", "c", "d"}) fair.Pushed(s, 200);
  for (const char* s : {"a", "b", "c", "d"}) EXPECT_FALSE(fair.Admit(s, 10, 1, Queue(4, 800)));
  EXPECT_EQ(Refused(registry, "a"), 1);
  EXPECT_EQ(Refused(registry, "b"), 1);
  EXPECT_EQ(Refused(registry, "c"), 0);
  EXPECT_EQ(Refused(registry, "other"), 2);
}

}  // namespace
}  // namespace lookout::trace
