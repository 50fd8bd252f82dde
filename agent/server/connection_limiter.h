#pragma once
// Which connection a listener gives up when it is full: the admission rule shared by the HTTP
// listeners (metrics, OTLP/HTTP) and the OTLP/gRPC accept guard (issue 22).
//
// The rule, at a new connection from peer P holding c connections:
//   1. c >= max_per_peer: close P's own longest-idle connection (reason "peer_limit"); if all
//      of P's are busy, refuse the newcomer.
//   2. The listener holds max_connections (reason "max_connections"): close the longest-idle
//      connection of the heaviest peer holding at least c + 2, so that no peer ends up with
//      fewer connections than P; else the longest-idle connection that has never completed a
//      request (a silent or slowloris connection), whoever holds it; else refuse the newcomer.
// So a flood, however many connections it opens and from however many addresses, only evicts
// connections of peers heavier than itself and connections that never did anything: a
// Prometheus whose one keep-alive connection has served a scrape is never evicted by it.
// "Idle" is whatever the caller says is safe to close without losing a request: waiting for a
// first or next request, or still receiving request headers.
//
// Cost: Admit is O(1) below the caps and O(connections) at a cap (one scan), which is bounded
// by max_connections.
//
// Thread-safety: none; the caller holds its own lock.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/common/hash.h"

namespace lookout {

class ConnectionLimiter {
 public:
  using Id = uint64_t;
  using Clock = std::chrono::steady_clock;

  struct Limits {
    size_t max_connections = 0;
    size_t max_per_peer = 0;
  };

  struct Admission {
    bool admit = false;       // false: close the newcomer at once
    Id victim = 0;            // valid when has_victim: close it to make room
    bool has_victim = false;  //
    const char* reason = "";  // "max_connections" or "peer_limit" when evicting or refusing
  };

  explicit ConnectionLimiter(Limits limits) : limits_(limits) {}

  // A new connection. On admission it is counted and starts busy (SetIdle makes it evictable).
  // A victim stays counted, no longer evictable, until the caller Removes it.
  Admission Admit(Id id, std::string_view peer);
  // True when Admit would have to evict or refuse for a newcomer from `peer`.
  bool WouldLimit(std::string_view peer) const;
  // The connection can be closed without losing a request, and has been since `since`.
  // `served`: it has completed a request (connections that never did are evicted first).
  void SetIdle(Id id, Clock::time_point since, bool served);
  // A request is in flight: not evictable.
  void SetBusy(Id id);
  void Remove(Id id);

  size_t size() const { return connections_.size(); }
  size_t peers() const { return per_peer_.size(); }
  const Limits& limits() const { return limits_; }

 private:
  struct Connection {
    std::string peer;
    Clock::time_point idle_since{};
    bool idle = false;
    bool served = false;
    bool evicting = false;
  };
  enum class Among { kPeer, kHeavierPeers, kNeverServed };
  // The longest-idle evictable connection of `peer` (kPeer), of the heaviest peer holding at
  // least `min_count` (kHeavierPeers), or of any peer that has never completed a request
  // (kNeverServed, heaviest peer first); nullptr when none.
  const std::pair<const Id, Connection>* LongestIdle(Among among, std::string_view peer,
                                                     size_t min_count) const;
  Admission Evict(const std::pair<const Id, Connection>* victim, const char* reason);

  Limits limits_;
  std::unordered_map<Id, Connection> connections_;
  StringMap<size_t> per_peer_;  // counted connections per peer, victims excluded
  size_t evicting_ = 0;         // victims chosen but not yet Removed
};

}  // namespace lookout
