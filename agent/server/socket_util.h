#pragma once
// Small helpers shared by the listeners (http_server.cc, accept_guard.cc).

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "agent/common/host_port.h"
#include "agent/common/log.h"

namespace lookout {

// The address of `ep` as text. IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; pods
// are indexed by a.b.c.d, so that is what is returned.
inline std::string PeerAddress(const boost::asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
  }
  return addr.to_string();
}

// The peer's address as PeerAddress writes it; empty when the peer is already gone.
inline std::string RemoteAddress(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : PeerAddress(ep);
}

// Accept errors that mean "out of descriptors or memory": the listener stays readable, so
// accepting again at once would spin. Retry after a pause instead.
inline bool IsAcceptResourceError(const boost::system::error_code& ec) {
  return ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
         ec == boost::asio::error::no_memory || ec.value() == ENFILE;
}

// Accepts connections on `listener->acceptor` until it is closed, each on a strand of its own,
// and hands them to `listener->OnAccept(socket)`. A failed accept is counted
// (`listener->metrics.rejected{reason="accept_error"}`) and logged; out of descriptors or
// memory, accepting resumes after 100 ms on `listener->retry_accept` instead of spinning. Stops
// once `listener->stopping` is set. Shared by the HTTP server and the gRPC accept guard.
template <class Listener>
void AcceptLoop(const std::shared_ptr<Listener>& listener) {
  listener->acceptor.async_accept(
      boost::asio::make_strand(listener->ioc),
      [listener](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
        if (ec) {
          if (ec == boost::asio::error::operation_aborted || listener->stopping.load()) return;
          listener->metrics.rejected.WithLabels({"accept_error"}).Increment();
          Log(LogLevel::kWarn, "accept failed", {{"err", ec.message()}});
          if (!IsAcceptResourceError(ec)) return AcceptLoop(listener);
          listener->retry_accept.expires_after(std::chrono::milliseconds(100));
          listener->retry_accept.async_wait([listener](boost::system::error_code) {
            if (!listener->stopping.load()) AcceptLoop(listener);
          });
          return;
        }
        listener->OnAccept(std::move(socket));
        AcceptLoop(listener);
      });
}

// Opens, binds and listens on `listen_address` (host:port). Throws std::runtime_error naming
// the address when it cannot.
inline void OpenListener(boost::asio::ip::tcp::acceptor& acceptor,
                         const std::string& listen_address) {
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(listen_address, &host, &port)) {
    throw std::runtime_error("invalid listen_address: " + listen_address);
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("invalid listen address host: " + host);
  const boost::asio::ip::tcp::endpoint ep(addr, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen_address + ": " + ec.message());
}

}  // namespace lookout
