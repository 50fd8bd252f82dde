#include "agent/k8s/kube_pod_index.h"

#include <gtest/gtest.h>

#include <mutex>

#include "agent/common/expand_env.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FakeClock;

// Answers with whatever the test set; records what was asked.
class FakeHttpClient final : public HttpClient {
 public:
  Result<HttpClientResponse> Do(const HttpClientRequest& req) noexcept override {
    std::lock_guard l(mu);
    last = req;
    ++calls;
    return next;
  }
  std::mutex mu;
  Result<HttpClientResponse> next = MakeError("connect", "not set");
  HttpClientRequest last;
  int calls = 0;
};

HttpClientResponse Resp(long status, std::string body) {
  HttpClientResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

struct Fixture {
  Fixture() {
    cfg.mode = KubernetesOptions::Mode::kKubelet;
    cfg.kubelet_url = "https://10.0.0.11:10250/pods";
    cfg.node_name = "node-a";
    cfg.token_file = dir.path() + "/token";
    cfg.refresh_interval = std::chrono::seconds(30);
    cfg.min_refresh_interval = std::chrono::milliseconds(100);
    cfg.timeout = std::chrono::seconds(5);
    cfg.stale_after = std::chrono::minutes(5);
    cfg.max_response_bytes = 1 << 20;
    dir.Write("token", "abc.def\n");
    auto c = std::make_unique<FakeHttpClient>();
    http = c.get();
    index = std::make_unique<KubePodIndex>(cfg, std::move(c), clock, registry);
  }
  testing::TempDir dir;
  KubernetesOptions cfg;
  FakeClock clock;
  SelfMetrics registry;
  FakeHttpClient* http;
  std::unique_ptr<KubePodIndex> index;
};

TEST(KubePodIndex, RefreshSendsTokenAndBuildsSnapshot) {
  Fixture f;
  EXPECT_EQ(f.index->LastStatus().error().reason, "not_ready");
  EXPECT_TRUE(f.index->Snapshot()->pods().empty());
  f.http->next = Resp(200, testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(f.index->RefreshNow().ok());
  EXPECT_EQ(f.http->last.url, "https://10.0.0.11:10250/pods");
  bool auth = false;
  for (const auto& [k, v] : f.http->last.headers) {
    if (k == "Authorization") auth = v == "Bearer abc.def";  // newline trimmed
  }
  EXPECT_TRUE(auth);
  EXPECT_EQ(f.index->Snapshot()->pods().size(), 5u);
  EXPECT_TRUE(f.index->LastStatus().ok());
  // The token is re-read on every refresh (projected tokens rotate).
  f.dir.Write("token", "rotated");
  ASSERT_TRUE(f.index->RefreshNow().ok());
  for (const auto& [k, v] : f.http->last.headers) {
    if (k == "Authorization") {
      EXPECT_EQ(v, "Bearer rotated");
    }
  }
}

TEST(KubePodIndex, FailuresKeepLastGoodUntilStale) {
  Fixture f;
  f.http->next = Resp(200, testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(f.index->RefreshNow().ok());
  const struct {
    Result<HttpClientResponse> answer;
    const char* reason;
  } cases[] = {
      {Resp(401, "Unauthorized"), "http_401"},
      {Resp(500, "oops"), "http_500"},
      {Resp(200, "{\"kind\":\"PodList\",\"items\":[{\"metadata\""), "json"},
      {Resp(200, "<html>"), "json"},
      {Resp(200, "{\"kind\":\"Status\"}"), "format"},
      {MakeError("timeout", "slow"), "timeout"},
      {MakeError("tls", "bad cert"), "tls"},
      {MakeError("too_large", "big"), "too_large"},
  };
  for (const auto& c : cases) {
    f.http->next = c.answer;
    auto st = f.index->RefreshNow();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().reason, c.reason);
    EXPECT_EQ(f.index->LastStatus().error().reason, c.reason);
    EXPECT_EQ(f.index->Snapshot()->pods().size(), 5u) << c.reason;  // last good kept
  }
  f.clock.Advance(std::chrono::minutes(4));
  EXPECT_EQ(f.index->Snapshot()->pods().size(), 5u);
  f.clock.Advance(std::chrono::minutes(2));
  EXPECT_TRUE(f.index->Snapshot()->pods().empty());  // past stale_after: dropped
  f.http->next = Resp(200, testing::ReadFixture("pods/v2_systemd_containerd/pods.json"));
  ASSERT_TRUE(f.index->RefreshNow().ok());
  EXPECT_EQ(f.index->Snapshot()->pods().size(), 5u);
}

TEST(KubePodIndex, MissingTokenIsAReason) {
  Fixture f;
  std::filesystem::remove(f.cfg.token_file);
  EXPECT_EQ(f.index->RefreshNow().error().reason, "token");
  EXPECT_EQ(f.http->calls, 0);
}

TEST(KubePodIndex, PodsOfOtherNodesAreIgnored) {
  Fixture f;
  f.http->next = Resp(200, R"({"kind":"PodList","items":[
      {"metadata":{"name":"a","namespace":"n","uid":"u-1"},"spec":{"nodeName":"node-a"}},
      {"metadata":{"name":"b","namespace":"n","uid":"u-2"},"spec":{"nodeName":"node-b"}}]})");
  ASSERT_TRUE(f.index->RefreshNow().ok());
  ASSERT_EQ(f.index->Snapshot()->pods().size(), 1u);
  EXPECT_EQ(f.index->Snapshot()->pods()[0].name, "a");
}

TEST(KubePodIndex, BackgroundThreadRefreshesEarlyWhenAsked) {
  Fixture f;
  f.http->next = Resp(200, R"({"kind":"PodList","items":[]})");
  f.index->Start();
  for (int i = 0; i < 200 && !f.index->LastStatus().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(f.index->LastStatus().ok());
  int before;
  {
    std::lock_guard l(f.http->mu);
    before = f.http->calls;
  }
  f.index->RequestRefresh();  // refresh_interval is 30 s: only the request can explain a call
  int after = before;
  for (int i = 0; i < 300 && after == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard l(f.http->mu);
    after = f.http->calls;
  }
  EXPECT_GT(after, before);
  f.index->Stop();
}

TEST(KubernetesOptions, ApiServerUrlAndEnvExpansion) {
  KubernetesOptions c;
  c.mode = KubernetesOptions::Mode::kApiServer;
  c.api_server_url = "https://10.96.0.1:443/";
  c.node_name = "node-a";
  EXPECT_EQ(c.PodListUrl(),
            "https://10.96.0.1:443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a");
  ::setenv("LOOKOUT_TEST_HOST", "10.1.2.3", 1);
  ::unsetenv("LOOKOUT_TEST_UNSET");
  EXPECT_EQ(ExpandEnv("https://${LOOKOUT_TEST_HOST}:10250/pods"), "https://10.1.2.3:10250/pods");
  EXPECT_EQ(ExpandEnv("${LOOKOUT_TEST_UNSET:-127.0.0.1}"), "127.0.0.1");
  EXPECT_EQ(ExpandEnv("${LOOKOUT_TEST_UNSET}x"), "x");
  EXPECT_EQ(ExpandEnv("no vars ${unterminated"), "no vars ${unterminated");
  KubernetesOptions a;
  a.mode = KubernetesOptions::Mode::kAuto;
  a.token_file = "/nonexistent/token";
  EXPECT_EQ(a.Resolved().mode, KubernetesOptions::Mode::kOff);
}

TEST(KubernetesOptions, ParsesAndRejects) {
  Config c = ParseConfig(R"(
kubernetes:
  mode: apiserver
  node_name: n1
  stale_after: 10m
pods:
  cgroupfs: /host/sys/fs/cgroup
  kubepods_cgroups: [/kubepods.slice]
  collectors:
    pod_network: {enabled: true}
)",
                         "t.yaml");
  EXPECT_EQ(c.kubernetes.mode, KubernetesOptions::Mode::kApiServer);
  EXPECT_EQ(c.kubernetes.stale_after, std::chrono::minutes(10));
  EXPECT_EQ(c.pods.kubepods_cgroups, std::vector<std::string>{"/kubepods.slice"});
  EXPECT_TRUE(c.pods.enabled.at("pod_network"));
  EXPECT_TRUE(c.pods.enabled.at("containers"));
  EXPECT_THROW(ParseConfig("kubernetes: {mode: magic}", "t.yaml"), ConfigError);
  EXPECT_THROW(ParseConfig("pods: {kubepods_cgroups: 3}", "t.yaml"), ConfigError);
  EXPECT_THROW(ParseConfig("pods: {collectors: {nope: {enabled: true}}}", "t.yaml"), ConfigError);
  EXPECT_THROW(ParseConfig("kubernetes: {timeout: forever}", "t.yaml"), ConfigError);
}

}  // namespace
}  // namespace lookout
