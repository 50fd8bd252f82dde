#pragma once
// HttpClient: outgoing HTTP(S) requests (the kubelet, the API server, application scrape
// targets, the OTLP/HTTP span exporter). Behind an interface so tests can answer without a
// network.
//
// Thread-safety: implementations say so; the libcurl one serialises requests per client.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout {

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;  // http:// or https:// (other schemes fail with reason "request")
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                         // sent with POST only
  std::chrono::milliseconds timeout{5000};  // whole request, connect included
  // A larger body, counted after gzip/deflate decoding, fails with reason "too_large".
  size_t max_response_bytes = 64 << 20;
  int max_redirects = 0;  // > 0: follow up to this many (more fail with reason "redirect")
  // For a sender that needs only the status (remote write): once the status line arrived, a
  // body over max_response_bytes or cut short gives the response anyway (the body as far as
  // kept, body_complete false) instead of an error.
  bool status_suffices = false;
};

struct HttpClientResponse {
  long status = 0;
  std::string content_type;
  std::string body;
  // Retry-After (sent as seconds or as an HTTP date), when the server sent one later than now.
  std::optional<std::chrono::seconds> retry_after;
  bool body_complete = true;  // false: see HttpClientRequest::status_suffices
};

struct TlsClientOptions {
  std::string ca_file;  // "" = the system's trust store
  bool insecure_skip_verify = false;
  std::string cert_file;  // client certificate (mTLS), optional
  std::string key_file;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // A response with any status code is a success here; the caller judges the status.
  // Errors (reason): "connect" (DNS, refused, unreachable), "timeout", "tls" (handshake or
  // certificate), "too_large", "request" (bad URL or scheme, no client), "redirect" (more
  // redirects than max_redirects, a loop included), "io" (any other failure, e.g. the connection
  // broke mid-way).
  virtual Result<HttpClientResponse> Do(const HttpClientRequest& request) noexcept = 0;
};

// libcurl-backed client: keeps its connections alive between requests and runs one request at a
// time (concurrent callers wait); asks for gzip or deflate and decodes it; sends no
// "Expect: 100-continue".
std::unique_ptr<HttpClient> MakeCurlHttpClient(TlsClientOptions tls);

}  // namespace lookout
