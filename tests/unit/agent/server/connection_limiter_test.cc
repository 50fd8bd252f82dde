#include "agent/server/connection_limiter.h"

#include <gtest/gtest.h>

namespace lookout {
namespace {

using Clock = ConnectionLimiter::Clock;
using std::chrono::seconds;

const Clock::time_point kT0 = Clock::time_point() + seconds(1000);

TEST(ConnectionLimiter, AdmitsBelowTheCaps) {
  ConnectionLimiter l({3, 2});
  EXPECT_TRUE(l.Admit(1, "a").admit);
  EXPECT_TRUE(l.Admit(2, "a").admit);
  EXPECT_TRUE(l.Admit(3, "b").admit);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.peers(), 2u);
  // At the cap with nothing idle: refused, and nothing changes.
  const auto a = l.Admit(4, "c");
  EXPECT_FALSE(a.admit);
  EXPECT_EQ(l.size(), 3u);
}

TEST(ConnectionLimiter, AtTheCapTheHeaviestPeerLosesItsLongestIdle) {
  ConnectionLimiter l({4, 0});
  l.Admit(1, "scraper");
  l.SetIdle(1, kT0, false);  // idle longest of all, but its peer holds one connection
  l.Admit(2, "flood");
  l.SetIdle(2, kT0 + seconds(2), false);
  l.Admit(3, "flood");
  l.SetIdle(3, kT0 + seconds(1), false);
  l.Admit(4, "flood");
  l.SetIdle(4, kT0 + seconds(3), false);
  const auto a = l.Admit(5, "newcomer");
  ASSERT_TRUE(a.admit);
  ASSERT_TRUE(a.has_victim);
  EXPECT_EQ(a.victim, 3u);
  EXPECT_STREQ(a.reason, "max_connections");
  // The victim is no longer counted nor chosen again, though the caller has not removed it.
  const auto b = l.Admit(6, "newcomer");
  ASSERT_TRUE(b.has_victim);
  EXPECT_EQ(b.victim, 2u);
  l.Remove(3);
  l.Remove(2);
  EXPECT_EQ(l.size(), 4u);
}

TEST(ConnectionLimiter, BusyConnectionsAreNeverVictims) {
  ConnectionLimiter l({2, 0});
  l.Admit(1, "a");  // busy from admission on
  l.Admit(2, "a");
  l.SetIdle(2, kT0, false);
  l.SetBusy(2);
  const auto a = l.Admit(3, "b");
  EXPECT_FALSE(a.admit);
  EXPECT_STREQ(a.reason, "max_connections");
  EXPECT_EQ(l.size(), 2u);
  // The heaviest peer has nothing idle: the next heaviest with something idle pays.
  ConnectionLimiter m({3, 0});
  m.Admit(1, "heavy");
  m.Admit(2, "heavy");
  m.Admit(3, "light");
  m.SetIdle(3, kT0, false);
  const auto b = m.Admit(4, "new");
  ASSERT_TRUE(b.has_victim);
  EXPECT_EQ(b.victim, 3u);
}

// A newcomer never takes a connection from a peer that would then hold fewer than it: a
// scraper's one served keep-alive connection survives any flood. Connections that never
// completed a request are fair game for anyone.
TEST(ConnectionLimiter, LighterPeersKeepTheirServedConnections) {
  ConnectionLimiter l({3, 0});
  l.Admit(1, "scraper");
  l.SetIdle(1, kT0, /*served=*/true);
  l.Admit(2, "a");
  l.SetIdle(2, kT0 + seconds(1), true);
  l.Admit(3, "b");
  l.SetIdle(3, kT0 + seconds(2), true);
  EXPECT_FALSE(l.Admit(4, "flood").admit) << "nobody holds 2 more than the newcomer";
  l.Remove(3);
  l.Admit(5, "flood");
  l.SetIdle(5, kT0 + seconds(3), false);  // silent: never served
  const auto a = l.Admit(6, "flood2");
  ASSERT_TRUE(a.has_victim);
  EXPECT_EQ(a.victim, 5u) << "the silent connection goes, not the older served ones";
  // Served connections of a peer holding 2 more than the newcomer are taken.
  ConnectionLimiter m({3, 0});
  for (ConnectionLimiter::Id id : {1, 2}) {
    m.Admit(id, "heavy");
    m.SetIdle(id, kT0 + seconds(static_cast<int>(id)), true);
  }
  m.Admit(3, "scraper");
  m.SetIdle(3, kT0, true);
  const auto b = m.Admit(4, "new");
  ASSERT_TRUE(b.has_victim);
  EXPECT_EQ(b.victim, 1u);
}

TEST(ConnectionLimiter, PerPeerCapEvictsOnlyThePeersOwn) {
  ConnectionLimiter l({100, 2});
  l.Admit(1, "other");
  l.SetIdle(1, kT0, false);
  l.Admit(2, "p");
  l.SetIdle(2, kT0 + seconds(5), false);
  l.Admit(3, "p");
  l.SetIdle(3, kT0 + seconds(1), false);
  EXPECT_TRUE(l.WouldLimit("p"));
  EXPECT_FALSE(l.WouldLimit("other"));
  const auto a = l.Admit(4, "p");
  ASSERT_TRUE(a.has_victim);
  EXPECT_EQ(a.victim, 3u);
  EXPECT_STREQ(a.reason, "peer_limit");
  // All of p's connections busy: p's newcomer is refused, others still get in.
  l.SetBusy(2);
  const auto b = l.Admit(5, "p");
  EXPECT_FALSE(b.admit);
  EXPECT_STREQ(b.reason, "peer_limit");
  EXPECT_TRUE(l.Admit(6, "q").admit);
}

TEST(ConnectionLimiter, AReusedIdReplacesTheStaleEntry) {
  ConnectionLimiter l({2, 0});
  l.Admit(7, "a");
  l.SetIdle(7, kT0, false);
  l.Admit(8, "a");
  // Id 7 comes back (a descriptor number the kernel reused): the stale entry is dropped first,
  // so it is neither the newcomer's victim nor counted twice.
  const auto a = l.Admit(7, "b");
  EXPECT_TRUE(a.admit);
  EXPECT_FALSE(a.has_victim);
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.peers(), 2u);
  l.Remove(7);
  l.Remove(8);
  EXPECT_EQ(l.size(), 0u);
  EXPECT_EQ(l.peers(), 0u);
}

}  // namespace
}  // namespace lookout
