#include "agent/server/connection_limiter.h"

namespace lookout {

namespace {
size_t CountOf(const StringMap<size_t>& per_peer, std::string_view peer) {
  const auto it = per_peer.find(peer);
  return it == per_peer.end() ? 0 : it->second;
}
}  // namespace

const std::pair<const ConnectionLimiter::Id, ConnectionLimiter::Connection>*
ConnectionLimiter::LongestIdle(Among among, std::string_view peer, size_t min_count) const {
  const std::pair<const Id, Connection>* best = nullptr;
  size_t best_count = 0;
  for (const auto& entry : connections_) {
    const Connection& c = entry.second;
    if (!c.idle || c.evicting) continue;
    if (among == Among::kPeer && c.peer != peer) continue;
    if (among == Among::kNeverServed && c.served) continue;
    const size_t count = among == Among::kPeer ? 0 : CountOf(per_peer_, c.peer);
    if (among == Among::kHeavierPeers && count < min_count) continue;
    // The heaviest holder first, then the longest idle within it.
    if (best == nullptr || count > best_count ||
        (count == best_count && c.idle_since < best->second.idle_since)) {
      best = &entry;
      best_count = count;
    }
  }
  return best;
}

ConnectionLimiter::Admission ConnectionLimiter::Evict(const std::pair<const Id, Connection>* victim,
                                                      const char* reason) {
  Admission a;
  a.reason = reason;
  if (victim == nullptr) return a;  // nothing can be closed safely: refuse the newcomer
  auto& c = connections_.at(victim->first);
  c.evicting = true;
  ++evicting_;
  if (auto it = per_peer_.find(c.peer); it != per_peer_.end() && --it->second == 0) {
    per_peer_.erase(it);
  }
  a.admit = true;
  a.has_victim = true;
  a.victim = victim->first;
  return a;
}

ConnectionLimiter::Admission ConnectionLimiter::Admit(Id id, std::string_view peer) {
  // An id still present belongs to a connection that went away unnoticed (a reused descriptor
  // number, for the gRPC guard): forget it before it can be chosen as the newcomer's victim.
  Remove(id);
  Admission a;
  const size_t mine = CountOf(per_peer_, peer);
  if (limits_.max_per_peer > 0 && mine >= limits_.max_per_peer) {
    a = Evict(LongestIdle(Among::kPeer, peer, 0), "peer_limit");
  } else if (connections_.size() - evicting_ >= limits_.max_connections) {
    const auto* victim = LongestIdle(Among::kHeavierPeers, peer, mine + 2);
    if (victim == nullptr) victim = LongestIdle(Among::kNeverServed, peer, 0);
    a = Evict(victim, "max_connections");
  } else {
    a.admit = true;
  }
  if (!a.admit) return a;
  auto [it, inserted] = connections_.try_emplace(id);
  it->second.peer = std::string(peer);
  ++per_peer_[it->second.peer];
  return a;
}

bool ConnectionLimiter::WouldLimit(std::string_view peer) const {
  return (limits_.max_per_peer > 0 && CountOf(per_peer_, peer) >= limits_.max_per_peer) ||
         connections_.size() - evicting_ >= limits_.max_connections;
}

void ConnectionLimiter::SetIdle(Id id, Clock::time_point since, bool served) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  it->second.idle = true;
  it->second.idle_since = since;
  it->second.served = it->second.served || served;
}

void ConnectionLimiter::SetBusy(Id id) {
  const auto it = connections_.find(id);
  if (it != connections_.end()) it->second.idle = false;
}

void ConnectionLimiter::Remove(Id id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second.evicting) {
    --evicting_;
  } else if (auto p = per_peer_.find(it->second.peer); p != per_peer_.end() && --p->second == 0) {
    per_peer_.erase(p);
  }
  connections_.erase(it);
}

}  // namespace lookout
