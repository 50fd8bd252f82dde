#include "agent/server/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>

#include "agent/common/log.h"

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
        registry(std::move(reg)),
        connections(registry
                        ->AddGauge(::prometheus::BuildGauge()
                                       .Name(prefix + "_connections")
                                       .Help("Open HTTP connections to the agent's endpoint."))
                        .Get()),
        rejected(
            registry
                ->AddCounter(
                    ::prometheus::BuildCounter()
                        .Name(prefix + "_connections_rejected_total")
                        .Help("Connections closed at once because max_connections was reached."))
                .Get()),
        errors(registry->AddCounter(
            ::prometheus::BuildCounter()
                .Name(prefix + "_errors_total")
                .Help("HTTP requests that failed before reaching a handler, by reason."),
            {"reason"})) {}

  void Accept();
  void Register(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(mu);
    sessions.emplace(s.get(), s);
  }
  void Unregister(const Session* s) {
    std::lock_guard lock(mu);
    sessions.erase(s);
  }

  asio::io_context& ioc;
  ServerOptions cfg;
  HttpHandler handler;
  tcp::acceptor acceptor;
  std::atomic<int> open{0};
  std::atomic<bool> stopping{false};
  std::shared_ptr<SelfMetrics> registry;  // keeps the instruments below alive
  ::prometheus::Gauge& connections;
  ::prometheus::Counter& rejected;
  Family<::prometheus::Counter>& errors;
  std::mutex mu;
  // Weak: a session is owned only by its pending I/O, so a stopped io_context frees it (a
  // strong set here would form a cycle with Session::server_ and leak).
  std::map<const Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto addr = ep.address();
      // IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; pods are indexed by a.b.c.d.
      if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
      }
      remote_address_ = addr.to_string();
    }
  }

  void Start() {
    server_->Register(shared_from_this());
    WaitForRequest();
  }

  // Called on Stop(): an idle connection is closed now; a busy one closes after its response.
  void Shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->stream_.socket().close();
    });
  }

  ~Session() {
    server_->Unregister(this);
    server_->open.fetch_sub(1);
    server_->connections.Increment(-1);
  }

 private:
  // Waits up to idle_timeout for the first bytes of the next request (keep-alive), then gives
  // the whole request request_timeout: a client that dribbles bytes cannot stretch it.
  void WaitForRequest() {
    if (server_->stopping.load()) return Close();
    if (buffer_.size() > 0) return ReadRequest();
    idle_ = true;
    stream_.expires_after(server_->cfg.idle_timeout);
    auto buf = buffer_.prepare(4096);
    stream_.async_read_some(buf, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->idle_ = false;
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadRequest();
    });
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->cfg.max_header_bytes));
    parser_->body_limit(server_->cfg.max_body_bytes);
    stream_.expires_after(server_->cfg.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      server_->errors.WithLabels({"timeout"}).Increment();
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
    server_->errors.WithLabels({reason}).Increment();
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
                        if (ec || !keep_alive) return self->Close();
                        self->WaitForRequest();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    server_->Unregister(this);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::string remote_address_;
  bool idle_ = false;  // touched only on the session's own completion handlers / strand
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (ec) {
                            if (ec == asio::error::operation_aborted || self->stopping.load())
                              return;
                            Log(LogLevel::kWarn, "accept failed", {{"err", ec.message()}});
                            self->Accept();
                            return;
                          }
                          if (self->open.load() >= self->cfg.max_connections) {
                            self->rejected.Increment();
                            beast::error_code ignored;
                            socket.close(ignored);
                          } else {
                            self->open.fetch_add(1);
                            self->connections.Increment(1);
                            std::make_shared<Session>(std::move(socket), self)->Start();
                          }
                          self->Accept();
                        });
}

HttpServer::HttpServer(asio::io_context& ioc, const ServerOptions& cfg, HttpHandler handler,
                       std::shared_ptr<SelfMetrics> registry, const std::string& metric_prefix)
    : impl_(std::make_shared<Impl>(ioc, cfg, std::move(handler), std::move(registry),
                                   metric_prefix)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(impl_->cfg.listen_address, &host, &port)) {
    throw std::runtime_error("invalid listen_address: " + impl_->cfg.listen_address);
  }
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("invalid listen address host: " + host);
  const tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + impl_->cfg.listen_address + ": " + ec.message());
  }
  impl_->Accept();
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
    for (const auto& [ptr, weak] : impl_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (const auto& s : sessions) s->Shutdown();
}

size_t HttpServer::open_connections() const { return static_cast<size_t>(impl_->open.load()); }

}  // namespace lookout
