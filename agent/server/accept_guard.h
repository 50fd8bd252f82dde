#pragma once
// An accept-side guard for a listener whose connections are served by code we do not own: the
// OTLP/gRPC receiver (issue 22). gRPC 1.51, Debian 12's, has no connection cap of its own
// (grpc.max_allowed_incoming_connections came later), so the guard owns the listening socket
// and hands each connection to gRPC through its external-connection acceptor.
//
// For each new connection:
//   - ConnectionLimiter admits it, evicts to make room, or refuses it (connection_limiter.h);
//   - it must send a first byte within first_byte_timeout, or it is closed without ever
//     reaching gRPC (an idle flood costs a descriptor for that long, and no gRPC state);
//   - then its descriptor is handed over, and the guard keeps only its number, inode and peer.
//
// The guard learns that gRPC closed a connection by checking, when it needs the count (at a
// cap, and once per second), that each handed-over descriptor number still names the same
// socket (fstat: device, inode, and still a socket). The server reports each finished request
// with its peer (NoteRequest), so a handed-over connection is idle since its last request, or
// since its hand-over when it has had none: a client dribbling its HTTP/2 preface or settings
// stays idle, and never-served, while it dribbles. gRPC reads the requests itself, so a call
// whose message is still arriving also looks idle: at a cap it can be cut when its client is a
// peer heavier than the newcomer (ConnectionLimiter's rule). Eviction is shutdown(2) of the
// socket, after which gRPC closes it. Between the identity check and shutdown(2) gRPC could
// close the number and something else reuse it; both are done back to back, so the window is
// a few microseconds, at a cap only.
//
// Metrics: ListenerMetrics under the given prefix (listener_metrics.h).
// Thread-safety: Start/Stop from one thread; everything else runs on the io_context.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/common/duration.h"
#include "lookout/metrics/self_metrics.h"

namespace boost::asio {
class io_context;
}

namespace lookout {

struct AcceptGuardOptions {
  std::string listen_address;  // host:port
  size_t max_connections = 0;
  size_t max_connections_per_peer = 0;  // 0: none
  Duration first_byte_timeout{};
};

class AcceptGuard {
 public:
  // Takes ownership of `fd` (an accepted, connected TCP socket with readable data);
  // `listener_fd` is the guard's listening socket.
  using Handoff = std::function<void(int fd, int listener_fd)>;

  AcceptGuard(boost::asio::io_context& ioc, AcceptGuardOptions options, Handoff handoff,
              std::shared_ptr<SelfMetrics> registry, const std::string& metric_prefix);
  ~AcceptGuard();
  // Binds and starts accepting. Throws std::runtime_error when the address cannot be bound.
  void Start();
  // Stops accepting and closes connections not yet handed over. Handed-over ones belong to
  // their server.
  void Stop();
  unsigned short port() const;
  // Connections counted now (pending and handed over, as of the last liveness check).
  size_t connections() const;
  // The server finished a request from `peer`, named as gRPC names it ("ipv4:10.1.2.3:5678",
  // "ipv6:[::1]:5678"): that connection is idle from now on. Unknown peers are ignored.
  void NoteRequest(std::string_view peer);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace lookout
