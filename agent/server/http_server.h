#pragma once
// Minimal HTTP/1.1 server on Boost.Beast for the agent's endpoints.
//
// Limits, all from ServerOptions: request header size (431), body size (413), a per-request
// deadline covering reading, handling and writing (a slow client cannot pin a connection), a
// first-byte deadline for new connections, an idle timeout between keep-alive requests, and
// caps on open connections, in total and per client address, where a newcomer evicts an idle
// connection as ConnectionLimiter decides. Malformed requests get 400 and the connection is
// closed; the server goes on.
//
// Thread-safety: the handler is called from the io_context's threads, possibly concurrently.
// Start()/Stop() may be called from any thread.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/server/server_options.h"
#include "lookout/metrics/self_metrics.h"

namespace boost::asio {
class io_context;
}

namespace lookout {

struct HttpRequest {
  std::string method;
  std::string target;                                        // as sent, e.g. "/metrics?x=1"
  std::string path;                                          // target without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // at most max_body_bytes
  std::string remote_address;                                // peer IP, e.g. "10.1.2.3"
  std::string Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

class HttpServer {
 public:
  // The registry is shared because sessions still queued in the io_context when the server is
  // destroyed update its gauges as they unwind.
  // Its own metrics are <metric_prefix>_connections, _connections_rejected_total and
  // _errors_total (a second listener, e.g. OTLP/HTTP, uses another prefix).
  HttpServer(boost::asio::io_context& ioc, const ServerOptions& cfg, HttpHandler handler,
             std::shared_ptr<SelfMetrics> registry,
             const std::string& metric_prefix = "lookout_http");
  ~HttpServer();
  // Binds and starts accepting. Throws std::runtime_error when the address cannot be bound.
  void Start();
  // The bound port (useful with port 0 in tests).
  unsigned short port() const;
  // Stops accepting and closes idle keep-alive connections; requests in flight finish.
  void Stop();
  size_t open_connections() const;

  struct Impl;  // public only so the .cc's session class can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace lookout
