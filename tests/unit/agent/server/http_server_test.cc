#include "agent/server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include "agent/config/config.h"
#include "tests/unit/http_client.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using namespace std::chrono_literals;
using testing::RawClient;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions cfg) {
    cfg.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(
        ioc_, cfg,
        [this](const HttpRequest& req, HttpResponse& resp) {
          ++handled_;
          if (req.path == "/slow") std::this_thread::sleep_for(50ms);
          resp.body = "path=" + req.path + " accept=" + req.Header("accept") + "\n";
        },
        registry_);
    server_->Start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  static ServerOptions Defaults() {
    ServerOptions c = DefaultConfig().server;
    c.request_timeout = 500ms;
    c.first_byte_timeout = 300ms;
    c.idle_timeout = 300ms;
    return c;
  }
  void TearDown() override {
    server_->Stop();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  double ErrorCount(const std::string& reason) {
    return Count("lookout_http_errors_total", reason);
  }
  // The server counts a close just after the client sees it: wait up to a second for `want`.
  double CountReaching(const std::string& family, const std::string& reason, double want) {
    double v = 0;
    for (int i = 0; i < 100 && (v = Count(family, reason)) < want; ++i)
      std::this_thread::sleep_for(10ms);
    return v;
  }
  double Count(const std::string& family, const std::string& reason) {
    return testing::ValueByFirstLabel(*registry_, family, reason);
  }

  boost::asio::io_context ioc_;
  std::shared_ptr<SelfMetrics> registry_ = std::make_shared<SelfMetrics>();
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::atomic<int> handled_{0};
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer(Defaults());
  RawClient c(server_->port());
  for (int i = 0; i < 3; ++i) {
    c.Send("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n");
    const std::string r = c.ReadResponse();
    EXPECT_EQ(RawClient::Status(r), 200);
    EXPECT_EQ(RawClient::Body(r), "path=/metrics accept=text/plain\n");
  }
  EXPECT_EQ(handled_.load(), 3);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndServerGoesOn) {
  StartServer(Defaults());
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                          "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
                          "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"}) {
    RawClient c(server_->port());
    c.Send(bad);
    const std::string r = c.ReadResponse();
    EXPECT_EQ(RawClient::Status(r), 400) << bad;
    EXPECT_TRUE(c.ClosedWithin(1000ms));
  }
  EXPECT_EQ(RawClient::Status(testing::Get(server_->port(), "/ok")), 200);
  EXPECT_EQ(ErrorCount("malformed"), 4);
}

TEST_F(HttpServerTest, HeaderAndBodyLimits) {
  ServerOptions cfg = Defaults();
  cfg.max_header_bytes = 1024;
  cfg.max_body_bytes = 100;
  StartServer(cfg);
  {
    RawClient c(server_->port());
    c.Send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    EXPECT_EQ(RawClient::Status(c.ReadResponse()), 431);
  }
  {
    RawClient c(server_->port());
    c.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'));
    EXPECT_EQ(RawClient::Status(c.ReadResponse()), 413);
  }
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, SilentAndSlowClientsAreCutOff) {
  StartServer(Defaults());
  RawClient silent(server_->port());
  EXPECT_TRUE(silent.ClosedWithin(2000ms));  // idle_timeout 300ms

  // Dribbles one header byte every 100ms: never completes within request_timeout (500ms).
  RawClient slow(server_->port());
  const std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: abcdefghijklmnopqrstuvwxyz\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  for (char ch : req) {
    try {
      slow.Send(std::string(1, ch));
    } catch (const std::exception&) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(cut || slow.ClosedWithin(1000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(RawClient::Status(testing::Get(server_->port(), "/")), 200);
}

TEST_F(HttpServerTest, ConcurrentRequests) {
  StartServer(Defaults());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  clients.reserve(8);
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      RawClient c(server_->port());
      for (int i = 0; i < 25; ++i) {
        c.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        if (RawClient::Status(c.ReadResponse()) == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 200);
}

// At the cap a newcomer evicts the longest-idle connection of the peer holding the most: the
// flooder's, never the lone scraper's.
TEST_F(HttpServerTest, AtTheCapTheHeaviestPeersLongestIdleConnectionIsEvicted) {
  ServerOptions cfg = Defaults();
  cfg.max_connections = 3;
  cfg.max_connections_per_peer = 0;
  cfg.first_byte_timeout = 5000ms;
  cfg.idle_timeout = 5000ms;
  StartServer(cfg);
  RawClient scraper(server_->port(), "127.0.0.1");
  scraper.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(scraper.ReadResponse()), 200);
  RawClient flood1(server_->port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  RawClient flood2(server_->port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  RawClient newcomer(server_->port(), "127.0.0.3");
  EXPECT_TRUE(flood1.ClosedWithin(2000ms)) << "the flooder's oldest idle connection goes";
  newcomer.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(newcomer.ReadResponse()), 200);
  scraper.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(scraper.ReadResponse()), 200) << "the scraper kept its connection";
  EXPECT_EQ(CountReaching("lookout_http_connections_closed_total", "evicted_max_connections", 1),
            1);
}

TEST_F(HttpServerTest, APeerOverItsCapLosesItsOwnLongestIdleConnection) {
  ServerOptions cfg = Defaults();
  cfg.max_connections = 100;
  cfg.max_connections_per_peer = 2;
  cfg.first_byte_timeout = 5000ms;
  StartServer(cfg);
  RawClient other(server_->port(), "127.0.0.1");
  RawClient a(server_->port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  RawClient b(server_->port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  RawClient c(server_->port(), "127.0.0.2");
  EXPECT_TRUE(a.ClosedWithin(2000ms));
  EXPECT_FALSE(other.ClosedWithin(200ms));
  c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(c.ReadResponse()), 200);
  EXPECT_EQ(CountReaching("lookout_http_connections_closed_total", "evicted_peer_limit", 1), 1);
}

// Connections with a request in flight are never evicted: with nothing idle, the newcomer is
// refused instead.
TEST_F(HttpServerTest, BusyConnectionsAreNotEvicted) {
  ServerOptions cfg = Defaults();
  cfg.max_connections = 2;
  cfg.request_timeout = 5000ms;
  StartServer(cfg);
  RawClient a(server_->port()), b(server_->port());
  // Headers complete, body still coming: busy.
  a.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
  b.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
  std::this_thread::sleep_for(100ms);
  RawClient third(server_->port());
  EXPECT_TRUE(third.ClosedWithin(2000ms));
  EXPECT_EQ(CountReaching("lookout_http_connections_rejected_total", "max_connections", 1), 1);
  a.Send("cdefghij");
  EXPECT_EQ(RawClient::Status(a.ReadResponse()), 200);
}

TEST_F(HttpServerTest, SilentNewConnectionsGetFirstByteTimeoutNotIdleTimeout) {
  ServerOptions cfg = Defaults();
  cfg.first_byte_timeout = 200ms;
  cfg.idle_timeout = 60000ms;
  StartServer(cfg);
  RawClient silent(server_->port());
  EXPECT_TRUE(silent.ClosedWithin(2000ms));
  EXPECT_EQ(CountReaching("lookout_http_connections_closed_total", "first_byte_timeout", 1), 1);
  RawClient kept(server_->port());
  kept.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(kept.ReadResponse()), 200);
  EXPECT_FALSE(kept.ClosedWithin(600ms)) << "a keep-alive connection has idle_timeout";
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  ServerOptions cfg = Defaults();
  cfg.idle_timeout = 60000ms;
  StartServer(cfg);
  RawClient c(server_->port());
  c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(RawClient::Status(c.ReadResponse()), 200);
  server_->Stop();
  EXPECT_TRUE(c.ClosedWithin(2000ms));
  for (int i = 0; i < 100 && server_->open_connections() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->open_connections(), 0u);
}

}  // namespace
}  // namespace lookout
