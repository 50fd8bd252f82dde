#include "agent/server/exposer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include "agent/config/config.h"
#include "tests/unit/http_client.h"

namespace lookout {
namespace {

using testing::RawClient;

// One gauge family named after the source it is exposed on.
class NamedFamily final : public Collectable {
 public:
  explicit NamedFamily(std::string name) : name_(std::move(name)) {}
  void Collect(std::vector<MetricFamily>& out) override {
    MetricFamily f{name_, "A test family.", MetricType::kGauge, "", {}};
    f.samples.emplace_back().value = 1;
    out.push_back(std::move(f));
  }

 private:
  std::string name_;
};

class ExposerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions cfg = DefaultConfig().server;
    cfg.listen_address = "127.0.0.1:0";
    exposer_ = std::make_unique<Exposer>(ioc_, cfg, registry_, [this] { return ready_.load(); });
    exposer_->Expose(Exposer::Source::kNode, node_);
    exposer_->Expose(Exposer::Source::kLookout, lookout_);
    exposer_->Expose(Exposer::Source::kLookout, registry_);  // the HTTP metrics, as the agent does
    exposer_->SetLandingPage({{"config", "<b>&\"x\""}});
    exposer_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    exposer_->Stop();
    ioc_.stop();
    thread_.join();
  }
  std::string Get(const std::string& path) { return testing::Get(exposer_->port(), path); }

  boost::asio::io_context ioc_;
  std::shared_ptr<SelfMetrics> registry_ = std::make_shared<SelfMetrics>();
  std::shared_ptr<Collectable> node_ = std::make_shared<NamedFamily>("test_node_family");
  std::shared_ptr<Collectable> lookout_ = std::make_shared<NamedFamily>("test_lookout_family");
  std::atomic<bool> ready_{true};
  std::unique_ptr<Exposer> exposer_;
  std::thread thread_;
};

TEST_F(ExposerTest, EachSourcePathServesOnlyItsCollectablesAndMetricsServesAll) {
  const std::string all = RawClient::Body(Get("/metrics"));
  EXPECT_NE(all.find("test_node_family 1"), std::string::npos) << all;
  EXPECT_NE(all.find("test_lookout_family 1"), std::string::npos) << all;
  const std::string node = RawClient::Body(Get("/metrics/node"));
  EXPECT_NE(node.find("test_node_family 1"), std::string::npos) << node;
  EXPECT_EQ(node.find("test_lookout_family"), std::string::npos) << node;
  const std::string cadvisor = RawClient::Body(Get("/metrics/cadvisor"));
  EXPECT_EQ(cadvisor.find("test_"), std::string::npos) << cadvisor;
  const std::string lookout = RawClient::Body(Get("/metrics/lookout"));
  EXPECT_NE(lookout.find("test_lookout_family 1"), std::string::npos) << lookout;
  EXPECT_NE(lookout.find("lookout_http_requests_total{handler=\"metrics_node\",code=\"200\"} 1"),
            std::string::npos)
      << lookout;
}

TEST_F(ExposerTest, HealthReadinessLandingPageAndErrors) {
  EXPECT_EQ(RawClient::Body(Get("/healthz")), "ok\n");
  EXPECT_EQ(RawClient::Status(Get("/readyz")), 200);
  ready_.store(false);
  EXPECT_EQ(RawClient::Status(Get("/readyz")), 503);
  const std::string landing = RawClient::Body(Get("/"));
  EXPECT_NE(landing.find("<tr><th align=\"left\">config</th><td>&lt;b&gt;&amp;&quot;x&quot;</td>"),
            std::string::npos)
      << landing;
  EXPECT_EQ(RawClient::Status(Get("/nope")), 404);
  RawClient post(exposer_->port());
  post.Send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(RawClient::Status(post.ReadResponse()), 405);
}

}  // namespace
}  // namespace lookout
