#pragma once
// One blocking OTLP/gRPC unary call on raw bytes: gRPC's GenericStub with the request as one
// slice and the response joined into a string, so callers never build protobuf objects. Used by
// the OTLP/gRPC span sender, the gRPC receiver's tests and the trace benchmark's load generator.
// Header-only so the benchmark tool needs only gRPC. Thread-safety: as GenericStub (any thread).

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace lookout {

inline constexpr char kOtlpTraceExportMethod[] =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// Sends `request` to `method` with `ctx`'s deadline, metadata and compression, waits for the
// answer, and returns its status; on OK, `*response` (if given) holds the response message.
inline grpc::Status BlockingUnaryCall(grpc::GenericStub& stub, grpc::ClientContext& ctx,
                                      const std::string& method, const std::string& request,
                                      std::string* response = nullptr) {
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  std::vector<grpc::Slice> slices;
  if (response != nullptr && status.ok() && resp.Dump(&slices).ok()) {
    for (const auto& s : slices)
      response->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

}  // namespace lookout
