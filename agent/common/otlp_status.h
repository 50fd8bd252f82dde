#pragma once
// Reading what an OTLP trace backend answers: the partial_success of an
// ExportTraceServiceResponse, and the RetryInfo inside a google.rpc.Status's details.
// Pure functions; malformed input reads as "nothing there".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lookout::otlp {

struct PartialSuccess {
  int64_t rejected_spans = 0;
  std::string error_message;
};
PartialSuccess ParsePartialSuccess(std::string_view export_trace_service_response);

// google.rpc.Status bytes (gRPC's grpc-status-details-bin) -> RetryInfo.retry_delay.
std::optional<std::chrono::milliseconds> ParseRetryInfo(std::string_view rpc_status);

// google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]}, serialized.
std::string MakeRetryInfoStatus(int code, std::string_view message,
                                std::chrono::milliseconds delay);

}  // namespace lookout::otlp
