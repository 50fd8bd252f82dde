#include "agent/server/exposer.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>
#include <string_view>

#include "exporters/prometheus/metrics_renderer.h"

namespace lookout {
namespace {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string LandingPage(const std::vector<std::pair<std::string, std::string>>& build_rows) {
  std::string html =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>lookout</title></head>\n"
      "<body>\n<h1>lookout</h1>\n<p>Node observability agent: node metrics, pod metrics, "
      "application metrics, traces and SLOs on one endpoint.</p>\n<ul>\n"
      "<li><a href=\"metrics\">/metrics</a> Prometheus metrics (text 0.0.4 or OpenMetrics 1.0 "
      "by Accept header): everything below</li>\n"
      "<li><a href=\"metrics/node\">/metrics/node</a> node metrics (node_exporter's names)</li>\n"
      "<li><a href=\"metrics/cadvisor\">/metrics/cadvisor</a> container metrics (cAdvisor's "
      "names)</li>\n"
      "<li><a href=\"metrics/lookout\">/metrics/lookout</a> the agent's own, pod info, "
      "applications, OTLP, span metrics and SLOs</li>\n"
      "<li><a href=\"healthz\">/healthz</a> liveness</li>\n"
      "<li><a href=\"readyz\">/readyz</a> readiness</li>\n</ul>\n<h2>Build</h2>\n<table>\n";
  for (const auto& [k, v] : build_rows) {
    fmt::format_to(std::back_inserter(html), "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                   HtmlEscape(k), HtmlEscape(v));
  }
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace

Exposer::Exposer(boost::asio::io_context& ioc, const ServerOptions& cfg,
                 std::shared_ptr<SelfMetrics> registry, std::function<bool()> ready)
    : registry_(std::move(registry)),
      ready_(std::move(ready)),
      requests_(
          registry_->AddCounter(::prometheus::BuildCounter()
                                    .Name("lookout_http_requests_total")
                                    .Help("HTTP requests answered, by handler and status code."),
                                {"handler", "code"})),
      durations_(registry_->AddHistogram(
          ::prometheus::BuildHistogram()
              .Name("lookout_http_request_duration_seconds")
              .Help("Time to answer HTTP requests, by handler."),
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}, {"handler"},
          "seconds")),
      scrapes_(registry_->AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_metrics_scrapes_total")
              .Help("Scrapes of /metrics answered, by exposition format and content encoding."),
          {"format", "encoding"})),
      all_(std::make_unique<prometheus::MetricsRenderer>()),
      landing_page_(LandingPage({})) {
  for (auto& r : by_source_) r = std::make_unique<prometheus::MetricsRenderer>();
  metrics_paths_ = {{
      {"/metrics", "metrics", all_.get()},
      {"/metrics/node", "metrics_node", by_source_[size_t(Source::kNode)].get()},
      {"/metrics/cadvisor", "metrics_cadvisor", by_source_[size_t(Source::kCadvisor)].get()},
      {"/metrics/lookout", "metrics_lookout", by_source_[size_t(Source::kLookout)].get()},
  }};
  server_ = std::make_unique<HttpServer>(
      ioc, cfg, [this](const HttpRequest& req, HttpResponse& resp) { Handle(req, resp); },
      registry_);
}

Exposer::~Exposer() = default;

void Exposer::Expose(Source source, const std::shared_ptr<Collectable>& c) {
  all_->Add(c);
  by_source_[static_cast<size_t>(source)]->Add(c);
}

void Exposer::SetLandingPage(const std::vector<std::pair<std::string, std::string>>& build_rows) {
  landing_page_ = LandingPage(build_rows);
}

void Exposer::Start() { server_->Start(); }

std::vector<MetricFamily> Exposer::Gather() const { return all_->Gather(true); }
void Exposer::Stop() { server_->Stop(); }
unsigned short Exposer::port() const { return server_->port(); }
size_t Exposer::open_connections() const { return server_->open_connections(); }

void Exposer::Handle(const HttpRequest& req, HttpResponse& resp) const {
  const auto start = std::chrono::steady_clock::now();
  std::string handler_label = "other";
  const MetricsPath* metrics_path = nullptr;
  for (const auto& m : metrics_paths_) {
    if (req.path == m.path) metrics_path = &m;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    resp.status = 405;
    resp.headers.emplace_back("Allow", "GET, HEAD");
    resp.body = "method not allowed\n";
  } else if (metrics_path != nullptr) {
    handler_label = metrics_path->handler_label;
    auto r = metrics_path->renderer->Render(req.Header("accept"), req.Header("accept-encoding"));
    resp.content_type = std::move(r.content_type);
    resp.body = std::move(r.body);
    if (r.gzip) resp.headers.emplace_back("Content-Encoding", "gzip");
    scrapes_
        .WithLabels({r.format == prometheus::Format::kOpenMetrics100 ? "openmetrics" : "text",
                     r.gzip ? "gzip" : "identity"})
        .Increment();
    resp.headers.emplace_back("Vary", "Accept, Accept-Encoding");
  } else if (req.path == "/healthz") {
    handler_label = "healthz";
    resp.body = "ok\n";
  } else if (req.path == "/readyz") {
    handler_label = "readyz";
    const bool ready = ready_();
    resp.status = ready ? 200 : 503;
    resp.body = ready ? "ready\n" : "not ready\n";
  } else if (req.path == "/") {
    handler_label = "landing";
    resp.content_type = "text/html; charset=utf-8";
    resp.body = landing_page_;
  } else {
    resp.status = 404;
    resp.body = "not found\n";
  }
  requests_.WithLabels({handler_label, std::to_string(resp.status)}).Increment();
  durations_.WithLabels({handler_label})
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace lookout
