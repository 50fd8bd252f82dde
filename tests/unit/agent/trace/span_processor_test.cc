#include "agent/trace/span_processor.h"

#include <gtest/gtest.h>

#include "agent/trace/resource_enricher.h"
#include "tests/unit/agent/trace/trace_test_util.h"
#include "tests/unit/test_util.h"

namespace lookout::trace {
namespace {

using testing::AddResource;
using testing::TraceRequest;

std::map<std::string, std::string> ResourceAttrs(const testing::pbt::ResourceSpans& rs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : rs.resource().attributes()) out[kv.key()] = kv.value().string_value();
  return out;
}

class FixedPods final : public PodIndex {
 public:
  explicit FixedPods(std::vector<Pod> pods)
      : snap_(std::make_shared<const PodSnapshot>(std::move(pods))) {}
  std::shared_ptr<const PodSnapshot> Snapshot() const override { return snap_; }
  void RequestRefresh() override {}

 private:
  std::shared_ptr<const PodSnapshot> snap_;
};

Pod MakePod(const std::string& name, const std::string& ip, int app_containers) {
  Pod p;
  p.uid = "uid-" + name;
  p.name = name;
  p.namespace_name = "shop";
  p.node_name = "node-a";
  p.phase = "Running";
  p.pod_ip = ip;
  p.pod_ips = {ip};
  p.containers.push_back({"init", "", "", "", true, {}});
  for (int i = 0; i < app_containers; ++i) {
    p.containers.push_back({"c" + std::to_string(i), "", "", "", false, {}});
  }
  return p;
}

TEST(SpanProcessor, PassesBytesThroughUntouchedAndDescribesEverySpan) {
  std::mt19937_64 rng(1);
  TraceRequest req;
  AddResource(req, "checkout", 10, rng, 3);
  AddResource(req, "cart", 5, rng);
  const std::string bytes = req.SerializeAsString();
  SpanProcessor p(nullptr, {}, 1.0, true);
  ProcessedRequest out;
  ASSERT_TRUE(p.Process(bytes, "10.0.0.9", out).ok());
  EXPECT_EQ(out.forward, bytes);  // nothing to change: the very same bytes
  EXPECT_EQ(out.spans, 15u);
  EXPECT_EQ(out.forwarded, 15u);
  EXPECT_EQ(out.invalid, 0u);
  ASSERT_EQ(out.facts.size(), 15u);
  EXPECT_EQ(out.facts[0].service_name, "checkout");
  EXPECT_EQ(out.facts[0].span_name, "GET /x");
  EXPECT_EQ(out.facts[0].kind, 2);
  EXPECT_EQ(out.facts[0].status, 2);  // 0 % 3 == 0: error
  EXPECT_EQ(out.facts[1].status, 0);
  EXPECT_EQ(out.facts[7].end_ns - out.facts[7].start_ns, 7'000'000u);
  EXPECT_EQ(out.facts[10].service_name, "cart");
  EXPECT_EQ(out.facts[10].trace_id, req.resource_spans(1).scope_spans(0).spans(0).trace_id());
}

TEST(SpanProcessor, AddsStaticAndPodAttributesWithoutOverwriting) {
  auto pods = std::make_shared<FixedPods>(
      std::vector<Pod>{MakePod("checkout-1", "10.0.0.7", 1), MakePod("cart-1", "10.0.0.8", 2)});
  ResourceEnricher enricher(pods, "node-a", {{"k8s.cluster.name", "prod"}, {"service.name", "x"}});
  std::mt19937_64 rng(2);
  TraceRequest req;
  AddResource(req, "checkout", 3, rng);
  auto* cart = AddResource(req, "cart", 2, rng);
  // The cart resource names its pod itself; the sender IP (checkout's) must not win.
  testing::SetStringAttr(cart->mutable_resource()->mutable_attributes(), "k8s.pod.uid",
                         "uid-cart-1");
  testing::SetStringAttr(cart->mutable_resource()->mutable_attributes(), "k8s.namespace.name",
                         "custom");
  SpanProcessor p(&enricher, {}, 1.0, false);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(body, "10.0.0.7", out).ok());
  TraceRequest back;
  ASSERT_TRUE(back.ParseFromString(out.forward));
  ASSERT_EQ(back.resource_spans_size(), 2);
  auto a = ResourceAttrs(back.resource_spans(0));
  EXPECT_EQ(a["service.name"], "checkout");  // static attribute did not overwrite
  EXPECT_EQ(a["k8s.pod.name"], "checkout-1");
  EXPECT_EQ(a["k8s.pod.uid"], "uid-checkout-1");
  EXPECT_EQ(a["k8s.namespace.name"], "shop");
  EXPECT_EQ(a["k8s.node.name"], "node-a");
  EXPECT_EQ(a["k8s.container.name"], "c0");  // one app container: unambiguous
  EXPECT_EQ(a["k8s.cluster.name"], "prod");
  auto b = ResourceAttrs(back.resource_spans(1));
  EXPECT_EQ(b["k8s.pod.name"], "cart-1");
  EXPECT_EQ(b["k8s.namespace.name"], "custom");  // existing value kept
  EXPECT_EQ(b.count("k8s.container.name"), 0u);  // two app containers: left out
  // Spans themselves are byte-identical.
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(back.resource_spans(r).scope_spans(0).SerializeAsString(),
              req.resource_spans(r).scope_spans(0).SerializeAsString());
  }
}

TEST(SpanProcessor, UnknownPeerGetsOnlyTheNodeName) {
  auto pods = std::make_shared<FixedPods>(std::vector<Pod>{MakePod("p", "10.0.0.7", 1)});
  ResourceEnricher enricher(pods, "node-a", {});
  std::mt19937_64 rng(3);
  TraceRequest req;
  AddResource(req, "svc", 1, rng);
  SpanProcessor p(&enricher, {}, 1.0, false);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(body, "192.168.1.1", out).ok());
  TraceRequest back;
  ASSERT_TRUE(back.ParseFromString(out.forward));
  auto a = ResourceAttrs(back.resource_spans(0));
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a["k8s.node.name"], "node-a");
}

TEST(SpanProcessor, RefusesSpansWithBadIdsAndForwardsTheRest) {
  std::mt19937_64 rng(4);
  TraceRequest req;
  auto* rs = AddResource(req, "svc", 4, rng);
  rs->mutable_scope_spans(0)->mutable_spans(1)->set_trace_id("short");
  rs->mutable_scope_spans(0)->mutable_spans(2)->set_span_id(std::string(8, '\0'));
  auto* bad_only = AddResource(req, "gone", 1, rng);
  bad_only->mutable_scope_spans(0)->mutable_spans(0)->clear_trace_id();
  SpanProcessor p(nullptr, {}, 1.0, true);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(body, "", out).ok());
  EXPECT_EQ(out.spans, 5u);
  EXPECT_EQ(out.invalid, 3u);
  EXPECT_EQ(out.forwarded, 2u);
  EXPECT_EQ(out.facts.size(), 2u);
  EXPECT_FALSE(out.invalid_reason.empty());
  TraceRequest back;
  ASSERT_TRUE(back.ParseFromString(out.forward));
  ASSERT_EQ(back.resource_spans_size(), 1);  // the resource with no valid span is left out
  const auto& kept = back.resource_spans(0).scope_spans(0);
  EXPECT_EQ(kept.scope().name(), "test");
  ASSERT_EQ(kept.spans_size(), 2);
  EXPECT_EQ(kept.spans(0).span_id(), rs->scope_spans(0).spans(0).span_id());
  EXPECT_EQ(kept.spans(1).span_id(), rs->scope_spans(0).spans(3).span_id());
}

TEST(SpanProcessor, HeadSamplingIsConsistentByTraceId) {
  std::mt19937_64 rng(5);
  TraceRequest req;
  auto* rs = AddResource(req, "svc", 10000, rng);
  // Two spans of one trace: kept or dropped together.
  rs->mutable_scope_spans(0)->mutable_spans(1)->set_trace_id(
      rs->scope_spans(0).spans(0).trace_id());
  SpanProcessor p(nullptr, {}, 0.25, true);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(body, "", out).ok());
  EXPECT_EQ(out.facts.size(), 10000u);  // span metrics see every span
  EXPECT_EQ(out.forwarded + out.sampled_out, 10000u);
  EXPECT_NEAR(static_cast<double>(out.forwarded) / 10000, 0.25, 0.02);
  TraceRequest back;
  ASSERT_TRUE(back.ParseFromString(out.forward));
  std::set<std::string> kept;
  for (const auto& s : back.resource_spans(0).scope_spans(0).spans()) kept.insert(s.span_id());
  EXPECT_EQ(kept.size(), out.forwarded);
  for (const auto& s : rs->scope_spans(0).spans()) {
    EXPECT_EQ(kept.count(s.span_id()) == 1, p.Sampled(s.trace_id()));
  }
  // A second agent with the same ratio decides the same way.
  SpanProcessor other(nullptr, {}, 0.25, false);
  for (const auto& s : rs->scope_spans(0).spans()) {
    EXPECT_EQ(other.Sampled(s.trace_id()), p.Sampled(s.trace_id()));
  }
  SpanProcessor none(nullptr, {}, 0.0, false);
  const std::string body_again = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(none.Process(body_again, "", out).ok());
  EXPECT_EQ(out.forwarded, 0u);
  EXPECT_TRUE(out.forward.empty());
}

TEST(SpanProcessor, DimensionsComeFromSpanThenResourceAttributes) {
  std::mt19937_64 rng(6);
  TraceRequest req;
  auto* rs = AddResource(req, "svc", 2, rng);
  testing::SetStringAttr(rs->mutable_resource()->mutable_attributes(), "deployment.environment",
                         "prod");
  SpanProcessor p(nullptr, {"http.method", "http.status_code", "deployment.environment", "nope"},
                  1.0, true);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(body, "", out).ok());
  ASSERT_EQ(out.dimension_values.size(), 8u);
  EXPECT_EQ(out.dimension_values[0], "GET");
  EXPECT_EQ(out.dimension_values[1], "200");  // int attribute as text
  EXPECT_EQ(out.dimension_values[2], "prod");
  EXPECT_EQ(out.dimension_values[3], "");
  EXPECT_EQ(out.dimension_values[5], "201");
}

// Dimensions read the resource as forwarded: the attributes lookout adds (pod, namespace from
// the pod index) count, after the sender's own (which win).
TEST(SpanProcessor, DimensionsSeeTheAttributesLookoutAdds) {
  auto pods = std::make_shared<FixedPods>(std::vector<Pod>{MakePod("checkout-1", "10.0.0.7", 1)});
  ResourceEnricher enricher(pods, "node-a", {});
  std::mt19937_64 rng(7);
  TraceRequest req;
  AddResource(req, "checkout", 1, rng);
  auto* named = AddResource(req, "cart", 1, rng);
  testing::SetStringAttr(named->mutable_resource()->mutable_attributes(), "k8s.pod.name",
                         "set-by-sdk");
  SpanProcessor p(&enricher, {"k8s.namespace.name", "k8s.pod.name", "k8s.node.name"}, 1.0, true);
  ProcessedRequest out;
  const std::string body = req.SerializeAsString();
  ASSERT_TRUE(p.Process(body, "10.0.0.7", out).ok());
  ASSERT_EQ(out.dimension_values.size(), 6u);
  EXPECT_EQ(out.dimension_values[0], "shop");
  EXPECT_EQ(out.dimension_values[1], "checkout-1");
  EXPECT_EQ(out.dimension_values[2], "node-a");
  EXPECT_EQ(out.dimension_values[3], "shop");        // added: the sender named no namespace
  EXPECT_EQ(out.dimension_values[4], "set-by-sdk");  // the sender's own wins
}

TEST(SpanProcessor, MalformedAndTruncatedBodiesAreRefusedCleanly) {
  std::mt19937_64 rng(7);
  TraceRequest req;
  AddResource(req, "svc", 3, rng);
  const std::string bytes = req.SerializeAsString();
  SpanProcessor p(nullptr, {"http.method"}, 1.0, true);
  ProcessedRequest out;
  int refused = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    // Every prefix either parses (a shorter valid message) or fails; never crashes or reads
    // past the end (ASan runs this too).
    const std::string prefix = bytes.substr(0, n);
    if (!p.Process(prefix, "", out).ok()) ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_FALSE(
      p.Process(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), "", out).ok());
  EXPECT_FALSE(p.Process("\x0a\x05\x12\x03", "", out).ok());  // length beyond the message
  const auto st = p.Process("\x0b\x00", "", out);             // group wire type
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().reason, "protobuf");
  // Deeply nested AnyValue in an attribute: passed through, never recursed into.
  TraceRequest deep;
  auto* rs = AddResource(deep, "svc", 1, rng);
  auto* v = rs->mutable_scope_spans(0)->mutable_spans(0)->add_attributes()->mutable_value();
  for (int i = 0; i < 500; ++i) v = v->mutable_array_value()->add_values();
  v->set_string_value("bottom");
  const std::string deep_body = deep.SerializeAsString();  // outlives `out`
  ASSERT_TRUE(p.Process(deep_body, "", out).ok());
  EXPECT_EQ(out.forwarded, 1u);
}

}  // namespace
}  // namespace lookout::trace
