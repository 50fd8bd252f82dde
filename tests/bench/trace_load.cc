// Load and sink for the trace throughput benchmark (trace_bench.py), plain POSIX sockets so the
// tool itself costs little:
//   trace_load sink PORT
//       an OTLP/HTTP endpoint that reads each request whole and answers 200 with an empty
//       ExportTraceServiceResponse, discarding the spans (the "discarding receiver");
//   trace_load load PORT BODY_FILE CONNECTIONS SECONDS [REQUESTS_PER_SECOND]
//       POSTs BODY_FILE (an ExportTraceServiceRequest) to 127.0.0.1:PORT/v1/traces over
//       CONNECTIONS keep-alive connections as fast as answers come back (or paced to
//       REQUESTS_PER_SECOND in total), for SECONDS, then prints
//       {"requests": N, "ok": N, "r429": N, "other": N, "seconds": S};
//   trace_load grpc-sink PORT
//       the same over OTLP/gRPC: gRPC's callback generic service, any method, answers OK with an
//       empty response (gRPC itself decompresses gzip requests);
//   trace_load grpc-load PORT BODY_FILE CONNECTIONS SECONDS [REQUESTS_PER_SECOND]
//       the same over OTLP/gRPC (TraceService/Export, one channel per connection, the body sent
//       as raw bytes through gRPC's generic stub); RESOURCE_EXHAUSTED counts as r429.
#include <arpa/inet.h>
#include <grpcpp/generic/async_generic_service.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/grpc_unary.h"

namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads one HTTP message (headers + Content-Length body) from fd, using `buf` for leftovers.
// Returns the status code (responses) or 0 (requests); -1 on EOF/error.
int ReadMessage(int fd, std::string& buf) {
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    char tmp[65536];
    const ssize_t r = ::read(fd, tmp, sizeof tmp);
    if (r <= 0) return -1;
    buf.append(tmp, static_cast<size_t>(r));
  }
  const std::string head = buf.substr(0, end);
  size_t len = 0;
  for (const char* key : {"Content-Length:", "content-length:"}) {
    if (auto p = head.find(key); p != std::string::npos)
      len = std::strtoul(head.c_str() + p + 15, nullptr, 10);
  }
  int status = 0;
  // The status line of lookout's answer, "HTTP/1.1 200 OK".
  if (head.rfind("HTTP/", 0) == 0) status = std::atoi(head.c_str() + 9);  // NOLINT(cert-err34-c)
  const size_t total = end + 4 + len;
  while (buf.size() < total) {
    char tmp[1 << 16];
    const ssize_t r = ::read(fd, tmp, sizeof tmp);
    if (r <= 0) return -1;
    buf.append(tmp, static_cast<size_t>(r));
  }
  buf.erase(0, total);
  return status;
}

int Sink(int port) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 64) != 0) {
    std::perror("bind");
    return 1;
  }
  static const std::string kOk =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
  while (true) {
    const int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread([fd] {
      std::string buf;
      while (ReadMessage(fd, buf) >= 0) {
        if (!WriteAll(fd, kOk.data(), kOk.size())) break;
      }
      ::close(fd);
    }).detach();
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What one request got back: 200/OK, 429/RESOURCE_EXHAUSTED, or anything else (the connection
// is then replaced).
enum class Outcome { kOk, kRetryLater, kOther };

// One connection's sender: sends one request and waits for its answer.
using Sender = std::function<Outcome()>;

// Drives `connections` senders (made by `make`) for `seconds`, flat out or paced to `rate`
// requests per second in total, and prints the counts.
int Drive(const std::function<Sender()>& make, int connections, double seconds, double rate) {
  std::atomic<long> ok{0}, r429{0}, other{0};
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  threads.reserve(connections);
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      Sender send = make();
      const auto period = std::chrono::duration<double>(rate > 0 ? connections / rate : 0);
      auto next = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() < until) {
        if (rate > 0) {
          next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
          std::this_thread::sleep_until(next);
        }
        switch (send()) {
          case Outcome::kOk:
            ++ok;
            break;
          case Outcome::kRetryLater:
            ++r429;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            break;
          case Outcome::kOther:
            ++other;
            send = make();
            break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"requests\": %ld, \"ok\": %ld, \"r429\": %ld, \"other\": %ld, \"seconds\": %.3f}\n",
      ok + r429 + other, ok.load(), r429.load(), other.load(), took);
  return 0;
}

int Load(int port, const std::string& body_file, int connections, double seconds, double rate) {
  const std::string body = ReadFile(body_file);
  const auto request = std::make_shared<const std::string>(
      "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/x-protobuf\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  auto make = [port, request]() -> Sender {
    struct Conn {
      int fd = -1;
      std::string buf;
      ~Conn() { ::close(fd); }
    };
    auto conn = std::make_shared<Conn>();
    conn->fd = Connect(port);
    return [conn, request] {
      if (!WriteAll(conn->fd, request->data(), request->size())) return Outcome::kOther;
      const int status = ReadMessage(conn->fd, conn->buf);
      return status == 200 ? Outcome::kOk : status == 429 ? Outcome::kRetryLater : Outcome::kOther;
    };
  };
  return Drive(make, connections, seconds, rate);
}

// One call of the gRPC sink: read the request, answer an empty message and OK.
class DiscardingReactor final : public grpc::ServerGenericBidiReactor {
 public:
  DiscardingReactor() { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    grpc::Slice empty("");
    response_ = grpc::ByteBuffer(&empty, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer request_, response_;
};

class DiscardingService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new DiscardingReactor;  // deletes itself in OnDone
  }
};

int GrpcSink(int port) {
  DiscardingService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(-1);
  builder.RegisterCallbackGenericService(&service);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::perror("grpc-sink: cannot listen");
    return 1;
  }
  server->Wait();
  return 0;
}

int GrpcLoad(int port, const std::string& body_file, int connections, double seconds, double rate) {
  const auto body = std::make_shared<const std::string>(ReadFile(body_file));
  std::atomic<int> channel_id{0};
  auto make = [port, body, &channel_id]() -> Sender {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    // A distinct argument gives each channel its own TCP connection, as separate clients have.
    args.SetInt("lookout.bench.channel", ++channel_id);
    auto stub = std::make_shared<grpc::GenericStub>(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
    return [stub, body] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      const grpc::Status status =
          lookout::BlockingUnaryCall(*stub, ctx, lookout::kOtlpTraceExportMethod, *body);
      if (status.ok()) return Outcome::kOk;
      return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ? Outcome::kRetryLater
                                                                         : Outcome::kOther;
    };
  };
  return Drive(make, connections, seconds, rate);
}

}  // namespace

// The arguments come from the bench scripts (tests/bench/trace_bench.py), not from users.
// NOLINTBEGIN(cert-err34-c)
int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "sink") == 0) return Sink(std::atoi(argv[2]));
  if (argc == 3 && std::strcmp(argv[1], "grpc-sink") == 0) return GrpcSink(std::atoi(argv[2]));
  if ((argc == 6 || argc == 7) && std::strcmp(argv[1], "load") == 0) {
    return Load(std::atoi(argv[2]), argv[3], std::atoi(argv[4]), std::atof(argv[5]),
                argc == 7 ? std::atof(argv[6]) : 0);
  }
  if ((argc == 6 || argc == 7) && std::strcmp(argv[1], "grpc-load") == 0) {
    return GrpcLoad(std::atoi(argv[2]), argv[3], std::atoi(argv[4]), std::atof(argv[5]),
                    argc == 7 ? std::atof(argv[6]) : 0);
  }
  std::fprintf(
      stderr,
      "usage: trace_load {sink|grpc-sink} PORT | {load|grpc-load} PORT BODY CONNECTIONS SECONDS "
      "[REQUESTS_PER_SECOND]\n");
  return 2;
}
// NOLINTEND(cert-err34-c)
