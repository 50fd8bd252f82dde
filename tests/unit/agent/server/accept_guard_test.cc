// The accept guard in front of the OTLP/gRPC receiver, with a stand-in for gRPC that keeps the
// descriptors it is handed.
#include "agent/server/accept_guard.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <mutex>
#include <thread>

#include "tests/unit/http_client.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using namespace std::chrono_literals;
using testing::RawClient;

class AcceptGuardTest : public ::testing::Test {
 protected:
  void Start(AcceptGuardOptions o) {
    o.listen_address = "127.0.0.1:0";
    guard_ = std::make_unique<AcceptGuard>(
        ioc_, o,
        [this](int fd, int) {
          std::lock_guard lock(mu_);
          handed_.push_back(fd);
        },
        registry_, "lookout_test");
    guard_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    guard_->Stop();
    work_.reset();
    ioc_.stop();
    thread_.join();
    for (int fd : handed_) ::close(fd);
  }
  size_t Handed() {
    std::lock_guard lock(mu_);
    return handed_.size();
  }
  bool WaitHanded(size_t n) {
    for (int i = 0; i < 200 && Handed() < n; ++i) std::this_thread::sleep_for(10ms);
    return Handed() >= n;
  }
  double Count(const std::string& family, const std::string& reason) {
    return testing::ValueByFirstLabel(*registry_, family, reason);
  }

  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::shared_ptr<SelfMetrics> registry_ = std::make_shared<SelfMetrics>();
  std::unique_ptr<AcceptGuard> guard_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> handed_;  // guarded by mu_
};

TEST_F(AcceptGuardTest, SilentConnectionsNeverReachTheServer) {
  AcceptGuardOptions o;
  o.max_connections = 10;
  o.first_byte_timeout = 200ms;
  Start(o);
  RawClient silent(guard_->port());
  EXPECT_TRUE(silent.ClosedWithin(2000ms));
  EXPECT_EQ(Handed(), 0u);
  EXPECT_EQ(guard_->connections(), 0u);
  EXPECT_EQ(Count("lookout_test_connections_closed_total", "first_byte_timeout"), 1);
}

TEST_F(AcceptGuardTest, AConnectionIsHandedOverWithItsBytesUnread) {
  AcceptGuardOptions o;
  o.max_connections = 10;
  o.first_byte_timeout = 5000ms;
  Start(o);
  RawClient c(guard_->port());
  c.Send("PRI * HTTP/2.0");
  ASSERT_TRUE(WaitHanded(1));
  char buf[32] = {};
  const ssize_t n = ::recv(handed_[0], buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "PRI * HTTP/2.0");
  EXPECT_EQ(guard_->connections(), 1u);
}

TEST_F(AcceptGuardTest, ConnectCloseStormsAreNotHandedOver) {
  AcceptGuardOptions o;
  o.max_connections = 10;
  o.first_byte_timeout = 5000ms;
  Start(o);
  for (int i = 0; i < 50; ++i) RawClient c(guard_->port());  // connect, close
  // Accepted in order: once this one is handed over, the 50 before it were dealt with.
  RawClient last(guard_->port());
  last.Send("x");
  ASSERT_TRUE(WaitHanded(1));
  for (int i = 0; i < 200 && guard_->connections() > 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(guard_->connections(), 1u);
  EXPECT_EQ(Handed(), 1u);
}

// At the cap, a newcomer shuts down the handed-over connection of the heaviest peer that has
// been idle longest (since its hand-over or its last request); the server's own close is then
// noticed and forgotten.
TEST_F(AcceptGuardTest, AtTheCapTheLongestIdleHandedOverConnectionIsShutDown) {
  AcceptGuardOptions o;
  o.max_connections = 2;
  o.first_byte_timeout = 5000ms;
  Start(o);
  RawClient old_one(guard_->port(), "127.0.0.2");
  old_one.Send("a");
  ASSERT_TRUE(WaitHanded(1));
  std::this_thread::sleep_for(50ms);
  RawClient recent(guard_->port(), "127.0.0.2");
  recent.Send("b");
  ASSERT_TRUE(WaitHanded(2));
  RawClient newcomer(guard_->port(), "127.0.0.3");
  EXPECT_TRUE(old_one.ClosedWithin(2000ms)) << "shut down by the guard";
  EXPECT_FALSE(recent.ClosedWithin(200ms));
  newcomer.Send("c");
  ASSERT_TRUE(WaitHanded(3));
  EXPECT_EQ(Count("lookout_test_connections_closed_total", "evicted_max_connections"), 1);
  {
    std::lock_guard lock(mu_);
    ::close(handed_[0]);  // what gRPC does when its connection ends
    handed_.erase(handed_.begin());
  }
  for (int i = 0; i < 300 && guard_->connections() > 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(guard_->connections(), 2u) << "the closed descriptor is forgotten";
}

// A request reported by the server makes its connection the most recently active one.
TEST_F(AcceptGuardTest, ARequestMakesItsConnectionTheLastToGo) {
  AcceptGuardOptions o;
  o.max_connections = 2;
  o.first_byte_timeout = 5000ms;
  Start(o);
  RawClient served(guard_->port(), "127.0.0.2");
  served.Send("a");
  ASSERT_TRUE(WaitHanded(1));
  std::this_thread::sleep_for(20ms);
  RawClient dribbler(guard_->port(), "127.0.0.2");
  dribbler.Send("P");
  ASSERT_TRUE(WaitHanded(2));
  std::this_thread::sleep_for(20ms);
  guard_->NoteRequest("ipv4:127.0.0.2:" + std::to_string(served.local_port()));
  guard_->NoteRequest("ipv6:[::1]:1");  // unknown peers are ignored
  guard_->NoteRequest("fd:12");
  RawClient newcomer(guard_->port(), "127.0.0.3");
  EXPECT_TRUE(dribbler.ClosedWithin(2000ms));
  EXPECT_FALSE(served.ClosedWithin(200ms));
}

TEST_F(AcceptGuardTest, OnePeerCannotHoldTheListener) {
  AcceptGuardOptions o;
  o.max_connections = 100;
  o.max_connections_per_peer = 3;
  o.first_byte_timeout = 5000ms;
  Start(o);
  std::vector<std::unique_ptr<RawClient>> flood;
  flood.reserve(10);
  for (int i = 0; i < 10; ++i)
    flood.push_back(std::make_unique<RawClient>(guard_->port(), "127.0.0.2"));
  RawClient other(guard_->port(), "127.0.0.3");
  other.Send("x");
  ASSERT_TRUE(WaitHanded(1));
  for (int i = 0; i < 100 && guard_->connections() > 4; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(guard_->connections(), 4u);
  EXPECT_EQ(Count("lookout_test_connections_closed_total", "evicted_peer_limit"), 7);
}

}  // namespace
}  // namespace lookout
