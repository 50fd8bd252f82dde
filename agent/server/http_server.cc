#include "agent/server/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <unordered_map>

#include "agent/common/log.h"
#include "agent/server/connection_limiter.h"
#include "agent/server/listener_metrics.h"
#include "agent/server/socket_util.h"

namespace lookout {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

std::string HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

namespace {
class Session;
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const ServerOptions& c, HttpHandler h,
       std::shared_ptr<SelfMetrics> reg, const std::string& prefix)
      : ioc(io),
        cfg(c),
        handler(std::move(h)),
        acceptor(io),
        retry_accept(io),
        registry(std::move(reg)),
        metrics(*registry, prefix, static_cast<size_t>(c.max_connections)),
        limiter({static_cast<size_t>(c.max_connections),
                 static_cast<size_t>(c.max_connections_per_peer)}) {}

  void OnAccept(tcp::socket socket);
  void Remove(ConnectionLimiter::Id id) {
    std::lock_guard lock(mu);
    limiter.Remove(id);
    sessions.erase(id);
  }
  void SetIdle(ConnectionLimiter::Id id, bool served) {
    std::lock_guard lock(mu);
    limiter.SetIdle(id, ConnectionLimiter::Clock::now(), served);
  }
  void SetBusy(ConnectionLimiter::Id id) {
    std::lock_guard lock(mu);
    limiter.SetBusy(id);
  }

  asio::io_context& ioc;
  ServerOptions cfg;
  HttpHandler handler;
  tcp::acceptor acceptor;
  asio::steady_timer retry_accept;  // after an accept error such as EMFILE
  std::atomic<int> open{0};
  std::atomic<bool> stopping{false};
  std::shared_ptr<SelfMetrics> registry;  // keeps the instruments below alive
  ListenerMetrics metrics;
  std::mutex mu;
  ConnectionLimiter limiter;          // guarded by mu
  ConnectionLimiter::Id next_id = 1;  // guarded by mu
  // Weak: a session is owned only by its pending I/O, so a stopped io_context frees it (a
  // strong set here would form a cycle with Session::server_ and leak).
  std::unordered_map<ConnectionLimiter::Id, std::weak_ptr<Session>> sessions;  // guarded by mu
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string remote_address, ConnectionLimiter::Id id,
          std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)),
        server_(std::move(server)),
        remote_address_(std::move(remote_address)),
        id_(id) {}

  void Start() { WaitForRequest(); }

  // Called on Stop(): an idle connection is closed now; a busy one closes after its response.
  void Shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->stream_.socket().close();
    });
  }

  // The limiter chose this connection to make room (`reason`: evicted_max_connections or
  // evicted_peer_limit). It was idle or still receiving headers when chosen. If its headers
  // completed in between, the request is served and the connection closes after the response.
  void Evict(const char* reason) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), reason] {
      if (self->closed_ || self->evicted_) return;
      self->server_->metrics.closed.WithLabels({reason}).Increment();
      self->evicted_ = true;
      if (self->busy_) return;
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
  }

  ~Session() {
    server_->Remove(id_);
    server_->open.fetch_sub(1);
    server_->metrics.connections.Increment(-1);
  }

 private:
  // Waits for the first bytes of the next request: first_byte_timeout on a new connection,
  // idle_timeout between keep-alive requests. Then the whole request gets request_timeout: a
  // client that dribbles bytes cannot stretch it. Until its headers are complete the connection
  // is idle for the limiter (evictable).
  void WaitForRequest() {
    if (server_->stopping.load() || evicted_) return Close();
    busy_ = false;
    server_->SetIdle(id_, served_any_);
    if (buffer_.size() > 0) return ReadHeader();
    idle_ = true;
    const bool first = !served_any_;
    stream_.expires_after(first ? server_->cfg.first_byte_timeout : server_->cfg.idle_timeout);
    auto buf = buffer_.prepare(4096);
    stream_.async_read_some(buf, [self = shared_from_this(), first](beast::error_code ec,
                                                                    size_t n) {
      self->idle_ = false;
      if (ec == beast::error::timeout) {
        self->server_->metrics.closed.WithLabels({first ? "first_byte_timeout" : "idle_timeout"})
            .Increment();
      }
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->cfg.max_header_bytes));
    parser_->body_limit(server_->cfg.max_body_bytes);
    stream_.expires_after(server_->cfg.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->OnRead(ec);
                              self->busy_ = true;
                              self->server_->SetBusy(self->id_);
                              self->ReadBody();
                            });
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted || evicted_) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      server_->metrics.errors->WithLabels({"timeout"}).Increment();
      return Close();
    }
    if (ec == http::error::header_limit) return SendError(431, "header_too_large");
    if (ec == http::error::body_limit) return SendError(413, "body_too_large");
    if (ec) return SendError(400, "malformed");

    auto& req = parser_->get();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.path = r.target.substr(0, r.target.find('?'));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    r.body = std::move(req.body());
    r.remote_address = remote_address_;
    HttpResponse resp;
    try {
      server_->handler(r, resp);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "handler threw", {{"path", r.path}, {"err", e.what()}});
      resp = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
    const bool head = req.method() == http::verb::head;
    Send(std::move(resp), req.keep_alive() && !server_->stopping.load(), req.version(), head);
  }

  void SendError(int status, const char* reason) {
    server_->metrics.errors->WithLabels({reason}).Increment();
    busy_ = true;  // the answer is in flight
    server_->SetBusy(id_);
    HttpResponse resp{status, "text/plain; charset=utf-8", std::string(reason) + "\n", {}};
    Send(std::move(resp), /*keep_alive=*/false, 11, false);
  }

  void Send(HttpResponse resp, bool keep_alive, unsigned version, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(resp.status), version);
    res->set(http::field::server, "lookout");
    res->set(http::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    const size_t len = resp.body.size();
    if (!head) res->body() = std::move(resp.body);
    res->content_length(len);
    stream_.expires_after(server_->cfg.request_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive || self->evicted_) return self->Close();
                        self->served_any_ = true;
                        self->WaitForRequest();
                      });
  }

  void Close() {
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    server_->Remove(id_);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpServer::Impl> server_;
  const std::string remote_address_;
  const ConnectionLimiter::Id id_;
  // Touched only on the session's own strand.
  bool idle_ = false;
  bool served_any_ = false;
  bool busy_ = false;     // headers in: the request is served even if evicted meanwhile
  bool evicted_ = false;  // close at the next chance (after the response when busy)
  bool closed_ = false;
};

}  // namespace

void HttpServer::Impl::OnAccept(tcp::socket socket) {
  std::string peer = RemoteAddress(socket);
  std::shared_ptr<Session> session;
  std::shared_ptr<Session> victim;
  ConnectionLimiter::Admission a;
  {
    std::lock_guard lock(mu);
    const ConnectionLimiter::Id id = next_id++;
    a = limiter.Admit(id, peer);
    if (!a.admit) {
      metrics.rejected.WithLabels({a.reason}).Increment();
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    open.fetch_add(1);
    metrics.connections.Increment(1);
    session = std::make_shared<Session>(std::move(socket), std::move(peer), id, shared_from_this());
    sessions.emplace(id, session);
    if (a.has_victim) {
      if (auto it = sessions.find(a.victim); it != sessions.end()) victim = it->second.lock();
    }
  }
  if (victim) {
    victim->Evict(std::string_view(a.reason) == "peer_limit" ? "evicted_peer_limit"
                                                             : "evicted_max_connections");
  }
  session->Start();
}

HttpServer::HttpServer(asio::io_context& ioc, const ServerOptions& cfg, HttpHandler handler,
                       std::shared_ptr<SelfMetrics> registry, const std::string& metric_prefix)
    : impl_(std::make_shared<Impl>(ioc, cfg, std::move(handler), std::move(registry),
                                   metric_prefix)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  OpenListener(impl_->acceptor, impl_->cfg.listen_address);
  AcceptLoop(impl_);
}

unsigned short HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::Stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [id, weak] : impl_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (const auto& s : sessions) s->Shutdown();
}

size_t HttpServer::open_connections() const { return static_cast<size_t>(impl_->open.load()); }

}  // namespace lookout
