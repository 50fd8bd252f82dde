#pragma once
// One blocking OTLP/gRPC unary call on raw bytes: gRPC's GenericStub with the request as one
// slice and the response joined into a string, so callers never build protobuf objects. Used by
// the OTLP/gRPC span sender, the gRPC receiver's tests and the trace benchmark's load generator.
// Header-only so the benchmark tool needs only gRPC. Thread-safety: as GenericStub (any thread).

#include <grpc/byte_buffer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

// gRPC C++ has no public way to send a message that is already compressed, which is how a whole
// span batch is gzipped once by libdeflate instead of by gRPC's zlib at level 6. Its core does
// (grpc_raw_compressed_byte_buffer_create: the call then marks the message
// GRPC_WRITE_INTERNAL_COMPRESS, the compression filter leaves it alone and the frame's compressed
// flag is set), and ByteBuffer names this class as the friend that may hand it one. gRPC defines
// it only in its own tests, not in the libraries Debian ships.
namespace grpc::internal {
class GrpcByteBufferPeer {
 public:
  // `payload` compressed with `algorithm`, to be sent as it is (the call's compression algorithm
  // must be the same, for the grpc-encoding header: BlockingUnaryCall sets it).
  static ByteBuffer Precompressed(const std::string& payload,
                                  grpc_compression_algorithm algorithm) {
    grpc_slice slice = grpc_slice_from_copied_buffer(payload.data(), payload.size());
    ByteBuffer b;
    b.set_buffer(grpc_raw_compressed_byte_buffer_create(&slice, 1, algorithm));
    grpc_slice_unref(slice);
    return b;
  }
};
}  // namespace grpc::internal

namespace lookout {

inline constexpr char kOtlpTraceExportMethod[] =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// Sends `request` to `method` with `ctx`'s deadline, metadata and compression, waits for the
// answer, and returns its status; on OK, `*response` (if given) holds the response message.
// `request_gzipped`: `request` is already gzip; the call is then sent with grpc-encoding gzip.
inline grpc::Status BlockingUnaryCall(grpc::GenericStub& stub, grpc::ClientContext& ctx,
                                      const std::string& method, const std::string& request,
                                      std::string* response = nullptr,
                                      bool request_gzipped = false) {
  grpc::ByteBuffer req, resp;
  if (request_gzipped) {
    ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    req = grpc::internal::GrpcByteBufferPeer::Precompressed(request, GRPC_COMPRESS_GZIP);
  } else {
    grpc::Slice slice(request);
    req = grpc::ByteBuffer(&slice, 1);
  }
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
