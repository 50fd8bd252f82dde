#include "agent/otlp/prometheus_naming.h"

#include <gtest/gtest.h>

namespace lookout::otlp {
namespace {

TEST(PrometheusMetricName, FollowsTheCompatibilityRules) {
  using K = InstrumentKind;
  EXPECT_EQ(PrometheusMetricName("http.server.request.duration", "s", K::kHistogram),
            "http_server_request_duration_seconds");
  EXPECT_EQ(PrometheusMetricName("system.filesystem.usage", "By", K::kGauge),
            "system_filesystem_usage_bytes");
  EXPECT_EQ(PrometheusMetricName("system.network.dropped", "{packets}", K::kMonotonicSum),
            "system_network_dropped_total");
  EXPECT_EQ(PrometheusMetricName("system.network.dropped", "packets", K::kGauge),
            "system_network_dropped_packets");
  EXPECT_EQ(PrometheusMetricName("system.memory.utilization", "1", K::kGauge),
            "system_memory_utilization_ratio");
  EXPECT_EQ(PrometheusMetricName("hits", "1", K::kMonotonicSum), "hits_total");
  EXPECT_EQ(PrometheusMetricName("speed", "m/s", K::kGauge), "speed_meters_per_second");
  EXPECT_EQ(PrometheusMetricName("(lambda).function.executions(#)", "", K::kMonotonicSum),
            "lambda_function_executions_total");
  // Already there: not appended twice; "total" moves to the end.
  EXPECT_EQ(PrometheusMetricName("process.cpu.seconds", "s", K::kMonotonicSum),
            "process_cpu_seconds_total");
  EXPECT_EQ(PrometheusMetricName("requests.total.count", "", K::kMonotonicSum),
            "requests_count_total");
  EXPECT_EQ(PrometheusMetricName("2xx.responses", "", K::kGauge), "_2xx_responses");
  EXPECT_EQ(PrometheusMetricName("queue", "{item}", K::kNonMonotonicSum), "queue");
  EXPECT_EQ(PrometheusMetricName("temp", "Cel", K::kGauge), "temp_celsius");
  EXPECT_EQ(PrometheusMetricName("...", "", K::kGauge), "_");
}

TEST(PrometheusLabelName, Sanitises) {
  EXPECT_EQ(PrometheusLabelName("http.route"), "http_route");
  EXPECT_EQ(PrometheusLabelName("2xx"), "key_2xx");
  EXPECT_EQ(PrometheusLabelName("_private"), "key_private");
  EXPECT_EQ(PrometheusLabelName("__reserved"), "key__reserved");
  EXPECT_EQ(PrometheusLabelName("k8s.pod.name"), "k8s_pod_name");
  EXPECT_EQ(PrometheusLabelName("caf\xc3\xa9"), "caf__");
}

}  // namespace
}  // namespace lookout::otlp
