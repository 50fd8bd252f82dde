#pragma once
// A blocking HTTP/1.1 client over raw sockets for server tests: it sends exactly the bytes the
// test gives it, so malformed and slow requests can be written by hand.

#include <boost/asio.hpp>
#include <chrono>
#include <string>

namespace lookout::testing {

class RawClient {
 public:
  // `from`: the loopback source address to connect from (any 127.x.y.z), so that one test can
  // play several peers.
  explicit RawClient(unsigned short port, const char* from = nullptr) : socket_(ioc_) {
    if (from != nullptr) {
      socket_.open(boost::asio::ip::tcp::v4());
      socket_.bind({boost::asio::ip::make_address(from), 0});
    }
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    // No test may hang on a server that never answers: reads give up after 10s.
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  unsigned short local_port() const { return socket_.local_endpoint().port(); }
  void Send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }

  // Reads one response (headers + Content-Length body). Empty string if the server closed.
  // For a HEAD request pass head=true: Content-Length describes a body that is not sent.
  std::string ReadResponse(bool is_head = false) {
    boost::system::error_code ec;
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(ec)) return "";
    }
    size_t len = 0;
    const std::string head = buf_.substr(0, header_end);
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto p = lower.find("content-length:"); p != std::string::npos && !is_head) {
      len = std::stoul(head.substr(p + 15));
    }
    while (buf_.size() < header_end + 4 + len) {
      if (!ReadSome(ec)) return "";
    }
    std::string resp = buf_.substr(0, header_end + 4 + len);
    buf_.erase(0, header_end + 4 + len);
    return resp;
  }

  // True if the server closed the connection (reads EOF) within `wait`.
  bool ClosedWithin(std::chrono::milliseconds wait) {
    socket_.non_blocking(false);
    timeval tv{static_cast<time_t>(wait.count() / 1000),
               static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    const ssize_t n = ::recv(socket_.native_handle(), &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  static int Status(const std::string& resp) {
    return resp.size() > 12 ? std::stoi(resp.substr(9, 3)) : 0;
  }
  static std::string Body(const std::string& resp) {
    auto p = resp.find("\r\n\r\n");
    return p == std::string::npos ? "" : resp.substr(p + 4);
  }

 private:
  // Plain recv(2), not Asio's read_some: Asio polls without a timeout and would ignore
  // SO_RCVTIMEO.
  bool ReadSome(boost::system::error_code&) {
    char tmp[65536];
    const ssize_t n = ::recv(socket_.native_handle(), tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  std::string buf_;
};

inline std::string Get(unsigned short port, const std::string& path,
                       const std::string& extra_headers = "") {
  RawClient c(port);
  c.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra_headers + "\r\n");
  return c.ReadResponse();
}

}  // namespace lookout::testing
