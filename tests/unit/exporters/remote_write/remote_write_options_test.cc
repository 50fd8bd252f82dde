#include "exporters/remote_write/remote_write_options.h"

#include <gtest/gtest.h>

#include "agent/config/config.h"

namespace lookout {
namespace {

// The error for a remote_write section, or "ok".
std::string Error(const std::string& remote_write) {
  try {
    ParseConfig("remote_write:\n" + remote_write, "c.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "ok";
}

TEST(RemoteWriteOptions, ReadsPrometheusEntries) {
  Config c = ParseConfig(
      "remote_write:\n"
      "  interval: 15s\n"
      "  endpoints:\n"
      "  - url: https://mimir:8080/api/v1/push\n"
      "    headers: {X-Scope-OrgID: team-a}\n"
      "    external_labels: {cluster: eu-1}\n"
      "    write_relabel_configs: [{source_labels: [__name__], regex: go_.*, action: drop}]\n"
      "    queue_config: {capacity: 5000, max_samples_per_send: 100, min_shards: 2, max_shards: "
      "50,\n"
      "                   batch_send_deadline: 10s}\n",
      "c.yaml");
  ASSERT_EQ(c.remote_write.endpoints.size(), 1u);
  const auto& e = c.remote_write.endpoints[0];
  EXPECT_EQ(c.remote_write.interval, std::chrono::seconds(15));
  EXPECT_EQ(e.capacity, 5000u);
  EXPECT_EQ(e.max_samples_per_send, 100u);
  EXPECT_EQ(e.min_shards, 2);
  EXPECT_EQ(e.max_shards, 50);
  EXPECT_EQ(e.batch_send_deadline, std::chrono::seconds(10));
  EXPECT_EQ(e.external_labels, (Labels{{"cluster", "eu-1"}}));
  EXPECT_EQ(e.write_relabel_configs.size(), 1u);
}

TEST(RemoteWriteOptions, RefusesWhatCouldOnlyFailAtRunTime) {
  EXPECT_EQ(Error("  endpoints: [{url: \"http:///api/v1/write\"}]\n"),
            "c.yaml:2:21: remote_write.endpoints[0].url: expected an http:// or https:// URL "
            "with a host, got \"http:///api/v1/write\"");
  EXPECT_NE(Error("  endpoints: [{url: \"http://exa mple.com/w\"}]\n").find("with a host"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", headers: {Content-Encoding: gzip}}]\n")
                .find("headers other than Content-Encoding"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", external_labels: {foo: \"\"}}]\n")
                .find("external_labels.foo: expected a valid label name with a non-empty value"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", tls_config: {ca_file: /nonexistent}}]\n")
                .find("tls_config.ca_file: expected a readable file"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\"}, {url: \"http://h:1/w\"}]\n")
                .find("endpoints[1]: expected an endpoint other than [0] (same url and name)"),
            std::string::npos);
  EXPECT_EQ(Error("  endpoints: [{url: \"http://h:1/w\"}, {url: \"http://h:1/w\", name: b}]\n"),
            "ok");
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", queue_config: {min_shards: 9, "
                  "max_shards: 4}}]\n")
                .find("queue_config.min_shards: expected at most max_shards"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", queue_config: {max_shards: 0}}]\n")
                .find("queue_config.max_shards"),
            std::string::npos);
  EXPECT_NE(Error("  endpoints: [{url: \"http://h:1/w\", basic_auth: {password_file: x}}]\n")
                .find("c.yaml:2:49: remote_write.endpoints[0].basic_auth.username"),
            std::string::npos);
}

}  // namespace
}  // namespace lookout
