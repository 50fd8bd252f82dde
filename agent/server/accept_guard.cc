#include "agent/server/accept_guard.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "agent/common/hash.h"
#include "agent/common/host_port.h"
#include "agent/server/connection_limiter.h"
#include "agent/server/listener_metrics.h"
#include "agent/server/socket_util.h"

namespace lookout {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = ConnectionLimiter::Clock;

namespace {

// A connection accepted but not handed over yet: it has first_byte_timeout to send something.
struct Pending {
  Pending(tcp::socket s, const asio::any_io_executor& ex) : socket(std::move(s)), timer(ex) {}
  tcp::socket socket;
  asio::steady_timer timer;
  bool done = false;  // handed over or closed; touched only on the socket's strand
  // Set by an eviction (from the accept strand): the first byte must not hand it over now.
  std::atomic<const char*> evicted{nullptr};
};

// "10.1.2.3:5678" / "::1:5678": one spelling for an address and port, from the socket or from
// gRPC's peer URI.
std::string EndpointKey(std::string_view ip, unsigned port) {
  return std::string(ip) + ":" + std::to_string(port);
}

// The same key from gRPC's peer URI; empty when it names no TCP peer.
std::string EndpointKeyFromUri(std::string_view uri) {
  std::string_view ip;
  std::string_view port;
  if (!SplitPeerUri(uri, &ip, &port)) return {};
  return std::string(ip) + ":" + std::string(port);
}

// What a descriptor number names: its socket's device and inode ({0, 0} when it names no
// socket any more).
struct SocketIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const SocketIdentity&) const = default;
};
SocketIdentity IdentityOf(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  return {st.st_dev, st.st_ino};
}

}  // namespace

struct AcceptGuard::Impl : std::enable_shared_from_this<AcceptGuard::Impl> {
  Impl(asio::io_context& io, AcceptGuardOptions o, Handoff h, std::shared_ptr<SelfMetrics> reg,
       const std::string& prefix)
      : ioc(io),
        options(std::move(o)),
        handoff(std::move(h)),
        acceptor(io),
        retry_accept(io),
        sweep(io),
        registry(std::move(reg)),
        metrics(*registry, prefix, options.max_connections, /*with_errors=*/false),
        limiter({options.max_connections, options.max_connections_per_peer}) {}

  struct Entry {
    SocketIdentity identity;
    std::string endpoint;              // EndpointKey of the peer
    std::shared_ptr<Pending> pending;  // null once handed over
  };

  void OnAccept(tcp::socket socket);
  void WaitForFirstByte(int fd, const std::shared_ptr<Pending>& p);
  void OnFirstByte(int fd, const std::shared_ptr<Pending>& p);
  void ClosePending(int fd, const std::shared_ptr<Pending>& p, const char* reason);
  void Evict(int fd, const char* reason);  // mu held
  void Refresh();                          // mu held
  void Sweep();
  void Forget(int fd) {  // mu held
    limiter.Remove(static_cast<ConnectionLimiter::Id>(fd));
    if (const auto it = entries.find(fd); it != entries.end()) {
      if (const auto e = by_endpoint.find(it->second.endpoint);
          e != by_endpoint.end() && e->second == fd) {
        by_endpoint.erase(e);
      }
      entries.erase(it);
    }
    metrics.connections.Set(static_cast<double>(entries.size()));
  }

  asio::io_context& ioc;
  const AcceptGuardOptions options;
  const Handoff handoff;
  tcp::acceptor acceptor;
  asio::steady_timer retry_accept;
  asio::steady_timer sweep;
  std::atomic<bool> stopping{false};
  int listener_fd = -1;  // set by Start, before any accept
  std::shared_ptr<SelfMetrics> registry;
  ListenerMetrics metrics;
  mutable std::mutex mu;
  ConnectionLimiter limiter;               // guarded by mu; ids are descriptor numbers
  std::unordered_map<int, Entry> entries;  // guarded by mu
  StringMap<int> by_endpoint;              // guarded by mu: handed-over connections' peers
  SteadyClock::time_point last_refresh{};  // guarded by mu
};

void AcceptGuard::Impl::OnAccept(tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string peer = ec ? std::string() : PeerAddress(remote);
  const std::string endpoint = ec ? std::string() : EndpointKey(peer, remote.port());
  const int fd = socket.native_handle();
  const SocketIdentity identity = IdentityOf(fd);
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(mu);
    const auto now = SteadyClock::now();
    // Connections gRPC closed are noticed here, and at most every 100 ms during a storm.
    if (limiter.WouldLimit(peer) && now - last_refresh > std::chrono::milliseconds(100)) {
      Refresh();
    }
    Forget(fd);  // a number still here was closed by gRPC: the kernel just reused it
    const auto a = limiter.Admit(static_cast<ConnectionLimiter::Id>(fd), peer);
    if (!a.admit) {
      metrics.rejected.WithLabels({a.reason}).Increment();
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    if (a.has_victim) {
      Evict(static_cast<int>(a.victim), std::string_view(a.reason) == "peer_limit"
                                            ? "evicted_peer_limit"
                                            : "evicted_max_connections");
    }
    auto ex = socket.get_executor();
    pending = std::make_shared<Pending>(std::move(socket), ex);
    entries[fd] = Entry{identity, endpoint, pending};
    limiter.SetIdle(static_cast<ConnectionLimiter::Id>(fd), now, /*served=*/false);
    metrics.connections.Set(static_cast<double>(entries.size()));
  }
  // The socket's own strand runs its timer and wait, as it runs everything else of it.
  asio::post(pending->socket.get_executor(),
             [self = shared_from_this(), fd, pending] { self->WaitForFirstByte(fd, pending); });
}

void AcceptGuard::Impl::WaitForFirstByte(int fd, const std::shared_ptr<Pending>& p) {
  p->timer.expires_after(options.first_byte_timeout);
  p->timer.async_wait([self = shared_from_this(), fd, p](boost::system::error_code ec) {
    if (!ec) self->ClosePending(fd, p, "first_byte_timeout");
  });
  p->socket.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this(), fd, p](boost::system::error_code ec) {
                         if (ec) return self->ClosePending(fd, p, nullptr);
                         self->OnFirstByte(fd, p);
                       });
}

void AcceptGuard::Impl::OnFirstByte(int fd, const std::shared_ptr<Pending>& p) {
  if (p->done) return;
  char byte = 0;
  // Readable with nothing to read is the peer closing (a connect-close storm): never hand it on.
  if (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) return ClosePending(fd, p, nullptr);
  const char* evicted = nullptr;
  {
    // Evict() reads `pending` and sets `evicted` under mu: checking under it too means a
    // victim is either closed here or, once handed over, shut down by Evict.
    std::lock_guard lock(mu);
    evicted = p->evicted.load();
    const auto it = entries.find(fd);
    if (evicted == nullptr && it != entries.end()) {
      it->second.pending.reset();
      if (!it->second.endpoint.empty()) by_endpoint[it->second.endpoint] = fd;
      limiter.SetIdle(static_cast<ConnectionLimiter::Id>(fd), SteadyClock::now(), false);
    }
  }
  if (evicted != nullptr) return ClosePending(fd, p, evicted);
  p->done = true;
  p->timer.cancel();
  const int released = p->socket.release();
  if (stopping.load()) {
    {
      std::lock_guard lock(mu);
      Forget(fd);  // before close: the number may be reused at once
    }
    ::close(released);
    return;
  }
  handoff(released, listener_fd);
}

void AcceptGuard::Impl::ClosePending(int fd, const std::shared_ptr<Pending>& p,
                                     const char* reason) {
  if (p->done) return;
  p->done = true;
  p->timer.cancel();
  if (reason != nullptr) metrics.closed.WithLabels({reason}).Increment();
  // Forget first: once closed, the number may be handed out again by another accept.
  {
    std::lock_guard lock(mu);
    Forget(fd);
  }
  boost::system::error_code ignored;
  p->socket.close(ignored);
}

void AcceptGuard::Impl::Evict(int fd, const char* reason) {
  const auto it = entries.find(fd);
  if (it == entries.end()) return;
  if (auto p = it->second.pending) {
    p->evicted.store(reason);
    asio::post(p->socket.get_executor(),
               [self = shared_from_this(), fd, p, reason] { self->ClosePending(fd, p, reason); });
    return;
  }
  // Handed over: gRPC owns the descriptor. Shut the socket down, if the number still names it;
  // gRPC sees the connection end and closes it, and the next Refresh forgets it.
  if (IdentityOf(fd) == it->second.identity) ::shutdown(fd, SHUT_RDWR);
  metrics.closed.WithLabels({reason}).Increment();
}

void AcceptGuard::Impl::Refresh() {
  last_refresh = SteadyClock::now();
  std::vector<int> gone;
  for (const auto& [fd, e] : entries) {
    // gRPC closed it (and the number may already name something else).
    if (!e.pending && !(IdentityOf(fd) == e.identity)) gone.push_back(fd);
  }
  for (int fd : gone) Forget(fd);
}

void AcceptGuard::Impl::Sweep() {
  sweep.expires_after(std::chrono::seconds(1));
  sweep.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopping.load()) return;
    {
      std::lock_guard lock(self->mu);
      self->Refresh();
    }
    self->Sweep();
  });
}

AcceptGuard::AcceptGuard(asio::io_context& ioc, AcceptGuardOptions options, Handoff handoff,
                         std::shared_ptr<SelfMetrics> registry, const std::string& metric_prefix)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), std::move(handoff), std::move(registry),
                                   metric_prefix)) {}

AcceptGuard::~AcceptGuard() { Stop(); }

void AcceptGuard::Start() {
  OpenListener(impl_->acceptor, impl_->options.listen_address);
  impl_->listener_fd = impl_->acceptor.native_handle();
  AcceptLoop(impl_);
  impl_->Sweep();
}

void AcceptGuard::Stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->retry_accept.cancel();
    impl->sweep.cancel();
  });
  std::vector<std::pair<int, std::shared_ptr<Pending>>> pending;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [fd, e] : impl_->entries) {
      if (e.pending) pending.emplace_back(fd, e.pending);
    }
  }
  for (auto& [fd, p] : pending) {
    asio::post(p->socket.get_executor(),
               [impl = impl_, fd = fd, p = p] { impl->ClosePending(fd, p, nullptr); });
  }
}

unsigned short AcceptGuard::port() const {
  boost::system::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void AcceptGuard::NoteRequest(std::string_view peer) {
  const std::string key = EndpointKeyFromUri(peer);
  std::lock_guard lock(impl_->mu);
  if (const auto it = impl_->by_endpoint.find(key); it != impl_->by_endpoint.end()) {
    impl_->limiter.SetIdle(static_cast<ConnectionLimiter::Id>(it->second), SteadyClock::now(),
                           /*served=*/true);
  }
}

size_t AcceptGuard::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->entries.size();
}

}  // namespace lookout
