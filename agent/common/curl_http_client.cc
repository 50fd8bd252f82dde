// libcurl implementation of HttpClient: one easy handle per client, reused so keep-alive
// connections (and TLS sessions) survive between refreshes.

#include <curl/curl.h>

#include <cctype>
#include <mutex>
#include <string>
#include <string_view>

#include "lookout/http_client.h"

namespace lookout {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* body;
  size_t limit;
  bool too_large = false;
};

// Reserves the body once from Content-Length (capped at the limit): a 9 MB scrape would
// otherwise be copied ~20 times as the string doubles.
size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  constexpr std::string_view kName = "content-length:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    }
    if (match) {
      size_t len = 0;
      for (char c : line.substr(kName.size())) {
        if (c >= '0' && c <= '9') len = len * 10 + static_cast<size_t>(c - '0');
        if (len > sink->limit) break;
      }
      if (len > 0 && len <= sink->limit) sink->body->reserve(len);
    }
  }
  return n;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  if (sink->body->size() + n > sink->limit) {
    sink->too_large = true;
    return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(TlsClientOptions tls) : tls_(std::move(tls)) {
    GlobalInitOnce();
    handle_ = curl_easy_init();
  }
  ~CurlHttpClient() override {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Result<HttpClientResponse> Do(const HttpClientRequest& req) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    if (handle_ == nullptr) return MakeError("request", "curl_easy_init failed");
    CURL* h = handle_;
    curl_easy_reset(h);  // keeps the connection cache
    HttpClientResponse resp;
    Sink sink{&resp.body, req.max_response_bytes};
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers) {
      const std::string line = k + ": " + v;
      headers = curl_slist_append(headers, line.c_str());
    }
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // we are multi-threaded
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, static_cast<long>(req.max_redirects));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate if the server offers
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lookout");
    if (req.method == "POST") {
      // No "Expect: 100-continue": it costs a round trip (or a 1 s wait) per large body.
      headers = curl_slist_append(headers, "Expect:");
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (!tls_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (tls_.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!tls_.cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls_.cert_file.c_str());
    if (!tls_.key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls_.key_file.c_str());
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    const CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    long status = 0;
    if (rc != CURLE_OK && req.status_suffices &&
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status > 0 &&
        (sink.too_large || rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ||
         rc == CURLE_OPERATION_TIMEDOUT)) {
      resp.body_complete = false;  // the status arrived; what follows it did not, or not all
    } else if (rc != CURLE_OK) {
      const std::string detail =
          req.url + ": " + (errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc));
      if (sink.too_large) {
        return MakeError("too_large", req.url + ": response larger than " +
                                          std::to_string(req.max_response_bytes) + " bytes");
      }
      switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
          return MakeError("timeout", detail);
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
          return MakeError("connect", detail);
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CIPHER:
          return MakeError("tls", detail);
        case CURLE_TOO_MANY_REDIRECTS:
          return MakeError("redirect", detail);
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
          return MakeError("request", detail);
        default:
          return MakeError("io", detail);
      }
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    char* ct = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) {
      resp.content_type = ct;
    }
    curl_off_t retry_after = -1;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
      resp.retry_after = std::chrono::seconds(retry_after);
    }
    return resp;
  }

 private:
  const TlsClientOptions tls_;
  std::mutex mu_;
  CURL* handle_ = nullptr;  // guarded by mu_
};

}  // namespace

std::unique_ptr<HttpClient> MakeCurlHttpClient(TlsClientOptions tls) {
  return std::make_unique<CurlHttpClient>(std::move(tls));
}

}  // namespace lookout
