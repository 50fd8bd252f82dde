#include "agent/config/config.h"

#include <gtest/gtest.h>

#include "agent/collectors/node/node_collectors.h"

namespace lookout {
namespace {

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml, "test.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, EmbeddedDefaultParsesAndEnablesEveryNodeCollector) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.server.listen_address, "0.0.0.0:9464");
  EXPECT_EQ(c.server.threads, 2);
  EXPECT_EQ(c.server.request_timeout, Duration(10'000));
  EXPECT_EQ(c.node.paths.procfs, "/proc");
  for (const auto& info : NodeCollectorRegistry()) {
    EXPECT_EQ(c.node.enabled.at(std::string(info.name)), info.default_enabled) << info.name;
  }
  EXPECT_TRUE(c.node.filesystem.fs_types_exclude.Matches("tmpfs") == false);
  EXPECT_TRUE(c.node.filesystem.fs_types_exclude.Matches("overlay"));
  EXPECT_TRUE(c.node.filesystem.mount_points_exclude.Matches("/var/lib/docker/overlay2/x"));
  EXPECT_TRUE(c.node.diskstats.Ignored("nvme0n1p2"));
  EXPECT_FALSE(c.node.diskstats.Ignored("nvme0n1"));
}

TEST(Config, EmptyFileMeansDefaults) {
  Config c = ParseConfig("", "empty.yaml");
  EXPECT_EQ(c.server.listen_address, DefaultConfig().server.listen_address);
  EXPECT_EQ(c.source_name, "empty.yaml");
}

TEST(Config, PartialOverrideKeepsOtherDefaults) {
  Config c = ParseConfig(R"(
server:
  listen_address: "127.0.0.1:19464"
node:
  collectors:
    filesystem:
      mount_timeout: 250ms
    netstat: {enabled: false}
)",
                         "x.yaml");
  EXPECT_EQ(c.server.listen_address, "127.0.0.1:19464");
  EXPECT_EQ(c.server.threads, 2);
  EXPECT_EQ(c.node.filesystem.mount_timeout, Duration(250));
  EXPECT_TRUE(c.node.filesystem.fs_types_exclude.Matches("proc"));  // default kept
  EXPECT_FALSE(c.node.enabled.at("netstat"));
  EXPECT_TRUE(c.node.enabled.at("cpu"));
}

TEST(Config, UnknownKeyIsAnErrorWithLocation) {
  const std::string e = ErrorOf("server:\n  listen_adress: \":1\"\n");
  EXPECT_NE(e.find("test.yaml:2:3: server.listen_adress: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("listen_address"), std::string::npos) << e;  // says what was expected
  EXPECT_NE(ErrorOf("bogus: 1\n").find("test.yaml:1:1: bogus: unknown key"), std::string::npos);
  EXPECT_NE(ErrorOf("node:\n  collectors:\n    cpux: {}\n").find("node.collectors.cpux"),
            std::string::npos);
}

TEST(Config, WrongTypesAndValues) {
  EXPECT_NE(
      ErrorOf("server:\n  threads: many\n")
          .find("test.yaml:2:12: server.threads: expected an integer from 1 to 64, got \"many\""),
      std::string::npos);
  EXPECT_NE(ErrorOf("server:\n  request_timeout: 5\n").find("expected a duration"),
            std::string::npos);
  EXPECT_NE(ErrorOf("log:\n  level: loud\n").find("log.level: expected one of debug"),
            std::string::npos);
  EXPECT_NE(ErrorOf("node:\n  collectors:\n    cpu: {enabled: yes}\n").find("true or false"),
            std::string::npos);
  EXPECT_NE(ErrorOf("node:\n  collectors:\n    netstat: {fields: \"([\"}\n")
                .find("expected a valid regular expression"),
            std::string::npos);
  EXPECT_NE(ErrorOf("server: [1, 2]\n").find("server: expected a mapping, got a list"),
            std::string::npos);
  EXPECT_NE(ErrorOf("server:\n  listen_address: \"nope\"\n").find("host:port"), std::string::npos);
}

TEST(Config, AppsStaticTargets) {
  const Config c = ParseConfig(
      "apps:\n  scrape_interval: 20s\n  static_targets:\n"
      "  - url: http://127.0.0.1:8080/metrics\n    labels: {team: pay}\n"
      "  - {url: \"https://api:9443/m\", job: api, interval: 5s, timeout: 1s}\n",
      "test.yaml");
  ASSERT_EQ(c.apps.static_targets.size(), 2u);
  EXPECT_EQ(c.apps.static_targets[0].job, "127.0.0.1:8080");  // default job: host:port
  EXPECT_EQ(c.apps.static_targets[0].labels[0].first, "team");
  EXPECT_EQ(c.apps.static_targets[1].interval, std::chrono::seconds(5));
  EXPECT_EQ(c.apps.scrape_interval, std::chrono::seconds(20));
  EXPECT_EQ(c.apps.max_concurrent_scrapes, 4);  // default kept
  EXPECT_NE(
      ErrorOf("apps:\n  static_targets:\n  - url: ftp://x/\n")
          .find("test.yaml:3:10: apps.static_targets[0].url: expected an http:// or https:// URL"),
      std::string::npos)
      << ErrorOf("apps:\n  static_targets:\n  - url: ftp://x/\n");
  EXPECT_NE(ErrorOf("apps:\n  static_targets:\n  - {url: \"http://a:1/\", interval: 2s, "
                    "timeout: 3s}\n")
                .find("at most the interval"),
            std::string::npos);
  EXPECT_NE(ErrorOf("apps:\n  static_targets:\n  - {url: \"http://a:1/\", labels: {__x: y}}\n")
                .find("valid label names"),
            std::string::npos);
  EXPECT_NE(ErrorOf("apps:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n")
                .find("apps.scrape_timeout: expected at most scrape_interval"),
            std::string::npos);
  EXPECT_NE(ErrorOf("apps:\n  limits: {max_samples: 0}\n").find("apps.limits.max_samples"),
            std::string::npos);
  EXPECT_NE(ErrorOf("otlp:\n  http: {listen_address: nope}\n").find("otlp.http.listen_address"),
            std::string::npos);
}

TEST(Config, InvalidYamlHasLocation) {
  const std::string e = ErrorOf("server:\n  threads: [1,\n");
  EXPECT_NE(e.find("test.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(Config, HostileInputIsRejectedNotCrashed) {
  EXPECT_NE(ErrorOf("server: " + std::string(200000, '[')).find("test.yaml:"), std::string::npos);
  std::string nested = "a: ";
  for (int i = 0; i < 50000; ++i) nested += "{a: ";
  EXPECT_NE(ErrorOf(nested).find("invalid YAML"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string("\x00\xff\xfe{{{:::\0", 10)).find("test.yaml"), std::string::npos);
  EXPECT_NE(ErrorOf("? [1, 2]\n: x\n").find("unknown key"), std::string::npos);  // non-scalar key
}

TEST(Config, Durations) {
  Duration d{};
  ASSERT_TRUE(ParseDuration("1m30s", &d));
  EXPECT_EQ(d, Duration(90'000));
  ASSERT_TRUE(ParseDuration("250ms", &d));
  EXPECT_EQ(d, Duration(250));
  EXPECT_FALSE(ParseDuration("", &d));
  EXPECT_FALSE(ParseDuration("5", &d));
  EXPECT_FALSE(ParseDuration("5x", &d));
  EXPECT_FALSE(ParseDuration("-5s", &d));
}

}  // namespace
}  // namespace lookout

namespace lookout {
namespace {

TEST(Config, Traces) {
  const Config d = DefaultConfig();
  EXPECT_TRUE(d.traces.enabled);
  EXPECT_EQ(d.traces.exporter.protocol, TracesOptions::Export::Protocol::kGrpc);
  EXPECT_EQ(d.traces.exporter.max_elapsed.count(), 0);
  EXPECT_EQ(d.traces.span_metrics.buckets.size(), 16u);
  EXPECT_FALSE(d.traces.queue.disk_enabled);
  const Config c = ParseConfig(
      "traces:\n  sampling_ratio: 0.25\n  resource_attributes: {k8s.cluster.name: prod}\n"
      "  span_metrics: {unit: s, buckets: [0.1, 1], dimensions: [http.method]}\n"
      "  export: {protocol: http, endpoint: \"http://j:4318/v1/traces\", headers: {x-a: b}}\n"
      "  queue: {disk: {enabled: true, directory: /var/lib/lookout, fsync: always}}\n",
      "test.yaml");
  EXPECT_EQ(c.traces.sampling_ratio, 0.25);
  ASSERT_EQ(c.traces.resource_attributes.size(), 1u);
  EXPECT_EQ(c.traces.resource_attributes[0].first, "k8s.cluster.name");
  EXPECT_TRUE(c.traces.span_metrics.seconds);
  EXPECT_EQ(c.traces.span_metrics.buckets, (std::vector<double>{0.1, 1}));
  EXPECT_EQ(c.traces.exporter.protocol, TracesOptions::Export::Protocol::kHttp);
  EXPECT_EQ(c.traces.exporter.headers[0].second, "b");
  EXPECT_TRUE(c.traces.exporter.gzip);  // default kept
  EXPECT_TRUE(c.traces.queue.disk_enabled);
  EXPECT_EQ(c.traces.queue.disk_fsync, TracesOptions::Queue::Fsync::kAlways);
  auto error = [](const std::string& yaml) {
    try {
      ParseConfig(yaml, "t.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("traces:\n  export: {protocol: zipkin}\n")
                .find("traces.export.protocol: "
                      "expected grpc or http"),
            std::string::npos);
  EXPECT_NE(error("traces:\n  queue: {disk: {enabled: true}}\n").find("a directory"),
            std::string::npos);
  EXPECT_NE(error("traces:\n  span_metrics: {buckets: [5, 1]}\n").find("increasing"),
            std::string::npos);
  EXPECT_NE(error("traces:\n  sampling_ratio: 2\n").find("from 0 to 1"), std::string::npos);
  EXPECT_NE(error("traces:\n  queue: {disk: {fsync: sometimes}}\n").find("never, interval"),
            std::string::npos);
}

TEST(Config, PaymentAvailabilityMinBadEvents) {
  EXPECT_EQ(DefaultConfig().slo.payments.AvailabilitySlo().min_bad_events, 10);
  Config c =
      ParseConfig("slo:\n  payments:\n    availability_slo: {min_bad_events: 0}\n", "x.yaml");
  EXPECT_EQ(c.slo.payments.AvailabilitySlo().min_bad_events, 0);  // the guard off
  EXPECT_NE(ErrorOf("slo:\n  payments:\n    availability_slo: {min_bad_events: -5}\n")
                .find("slo.payments.availability_slo.min_bad_events"),
            std::string::npos);
}

// Config patterns are node_exporter's flags: Go's RE2 syntax, searched (MatchString).
TEST(Config, PatternsAreGoSyntaxAndSearched) {
  Config c = ParseConfig(
      "node:\n  collectors:\n    diskstats: {device_exclude: '(?i)^LOOP\\d+$'}\n", "x.yaml");
  EXPECT_TRUE(c.node.diskstats.Ignored("loop7"));
  EXPECT_FALSE(c.node.diskstats.Ignored("sda"));
  EXPECT_TRUE(Pattern("da").Matches("sda1"));  // unanchored unless the user anchors it
  EXPECT_FALSE(Pattern("").Matches(""));       // empty: matches nothing
  // An invalid byte reads as U+FFFD, as in Go: `.+` matches it (node_exporter's default
  // mount_points_exclude excludes /var/lib/docker/<0xff>).
  EXPECT_TRUE(Pattern("^/var/lib/docker/.+$").Matches("/var/lib/docker/\xff"));
  EXPECT_TRUE(Pattern("^a.b$").Matches(std::string("a\xff") + "b"));
  EXPECT_FALSE(Pattern("^a.b$").Matches(std::string("a\xff\xfe") + "b"));  // two U+FFFD
  const std::string e =
      ErrorOf("node:\n  collectors:\n    diskstats: {device_exclude: 'a(?=b)'}\n");
  EXPECT_NE(e.find("device_exclude: expected a valid regular expression"), std::string::npos) << e;
}

}  // namespace
}  // namespace lookout
