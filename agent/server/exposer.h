#pragma once
// Exposer: the agent's endpoints on its main listener (README "Endpoints"), named after the
// prometheus-cpp class that plays this part. It routes each request by path: /metrics and its
// per-source parts (/metrics/node, /metrics/cadvisor, /metrics/lookout), /healthz, /readyz and
// the landing page at /; any other path gets 404, any method but GET and HEAD 405. Every answer
// is counted in lookout_http_requests_total{handler,code} and timed in
// lookout_http_request_duration_seconds{handler}; /metrics scrapes are counted by format and
// encoding in lookout_metrics_scrapes_total. The bodies of /metrics are MetricsRenderer's; the
// agent (agent.cc) decides what is exposed where and when the agent is ready.
//
// Thread-safety: requests are answered concurrently on the io_context's threads. Expose() may
// be called from any thread at any time; SetLandingPage() only before Start().

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/server/http_server.h"
#include "agent/server/server_options.h"
#include "lookout/metrics/collectable.h"
#include "lookout/metrics/self_metrics.h"

namespace boost::asio {
class io_context;
}

namespace lookout {

namespace prometheus {
class MetricsRenderer;
}

class Exposer {
 public:
  // Where a collectable's families are served besides /metrics: node collectors on
  // /metrics/node, pod collectors on /metrics/cadvisor, the rest on /metrics/lookout, so a
  // scrape config can label each as kube-prometheus expects.
  enum class Source { kNode, kCadvisor, kLookout };

  // `ready`: whether /readyz answers 200 (else 503). The HTTP metrics go to `registry`.
  Exposer(boost::asio::io_context& ioc, const ServerOptions& cfg,
          std::shared_ptr<SelfMetrics> registry, std::function<bool()> ready);
  ~Exposer();

  // Serves c's families on /metrics and on its source's path; held weakly (a collectable that
  // is destroyed stops being served).
  void Expose(Source source, const std::shared_ptr<Collectable>& c);
  // The landing page's "Build" table, (name, value) rows in order. Until set, / has no rows.
  void SetLandingPage(const std::vector<std::pair<std::string, std::string>>& build_rows);

  // As HttpServer's: Start() binds (std::runtime_error when it cannot), Stop() stops accepting
  // and lets requests in flight finish.
  void Start();
  void Stop();
  // What /metrics serves, merged and sorted (MetricsRenderer::Gather), scraped samples stamped
  // with their scrape's time: remote write's input.
  std::vector<MetricFamily> Gather() const;
  unsigned short port() const;
  size_t open_connections() const;

 private:
  struct MetricsPath {
    std::string_view path;
    std::string_view handler_label;
    const prometheus::MetricsRenderer* renderer;
  };

  void Handle(const HttpRequest& req, HttpResponse& resp) const;

  const std::shared_ptr<SelfMetrics> registry_;  // holds the families below
  const std::function<bool()> ready_;
  Family<::prometheus::Counter>& requests_;
  Family<::prometheus::Histogram>& durations_;
  Family<::prometheus::Counter>& scrapes_;
  std::unique_ptr<prometheus::MetricsRenderer> all_;                       // /metrics: every source
  std::array<std::unique_ptr<prometheus::MetricsRenderer>, 3> by_source_;  // by Source
  std::array<MetricsPath, 4> metrics_paths_;
  std::string landing_page_;
  std::unique_ptr<HttpServer> server_;  // last: destroyed first, before what Handle() reads
};

}  // namespace lookout
