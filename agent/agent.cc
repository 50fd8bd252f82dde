#include "agent/agent.h"

#include <boost/asio.hpp>
#include <chrono>

#include "agent/build_info.h"
#include "agent/collectors/app/scrape_manager.h"
#include "agent/collectors/collector_set.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/expand_env.h"
#include "agent/common/log.h"
#include "agent/k8s/kube_pod_index.h"
#include "agent/otlp/grpc_server.h"
#include "agent/otlp/http_receiver.h"
#include "agent/otlp/metric_store.h"
#include "agent/server/http_server.h"
#include "agent/slo/slo_engine.h"
#include "agent/trace/trace_pipeline.h"
#include "exporters/otlp/disk_queue.h"
#include "exporters/otlp/memory_queue.h"
#include "exporters/otlp/queue_metrics.h"
#include "exporters/otlp/span_exporter.h"
#include "exporters/otlp/span_senders.h"
#include "exporters/prometheus/metrics_renderer.h"
#include "lookout/metrics/metric_view.h"
#include "lookout/metrics/self_metrics.h"

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

std::string LandingPage(const Config& cfg, size_t node_collectors, size_t pod_collectors) {
  const auto& b = GetBuildInfo();
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
  auto row = [&](std::string_view k, std::string_view v) {
    html +=
        "<tr><th align=\"left\">" + HtmlEscape(k) + "</th><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  row("version", b.version);
  row("revision", b.revision);
  row("compiler", b.compiler);
  row("build type", b.build_type);
  row("config", cfg.source_name);
  row("node collectors enabled", std::to_string(node_collectors));
  row("pod collectors enabled", std::to_string(pod_collectors));
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace

Agent::Agent(Config cfg)
    : cfg_(std::move(cfg)),
      ioc_(std::make_unique<boost::asio::io_context>(cfg_.server.threads)),
      registry_(std::make_shared<SelfMetrics>()),
      metrics_(std::make_unique<prometheus::MetricsRenderer>()) {
  const auto& b = GetBuildInfo();
  registry_
      ->AddGauge(
          ::prometheus::BuildGauge()
              .Name("lookout_build_info")
              .Help("A metric with a constant '1' value labeled by version, revision and compiler "
                    "from which lookout was built."),
          {"version", "revision", "compiler"})
      .WithLabels({std::string(b.version), std::string(b.revision), std::string(b.compiler)})
      .Set(1);
  for (auto& h : source_metrics_) h = std::make_unique<prometheus::MetricsRenderer>();
  Expose(Source::kLookout, registry_);
  // node-mixin's node USE dashboard lists instances by node_exporter_build_info: lookout's node
  // endpoint has one, labelled as lookout's (README "Endpoints").
  node_registry_ = std::make_shared<SelfMetrics>();
  node_registry_
      ->AddGauge(
          ::prometheus::BuildGauge()
              .Name("node_exporter_build_info")
              .Help(
                  "A metric with a constant '1' value: node metrics served by lookout (exporter), "
                  "with its version and revision."),
          {"exporter", "version", "revision"})
      .WithLabels({"lookout", std::string(b.version), std::string(b.revision)})
      .Set(1);
  Expose(Source::kNode, node_registry_);
  node_collectors_ = std::make_shared<CollectorSet>(MakeNodeCollectors(cfg_.node));
  Expose(Source::kNode, node_collectors_);
  const KubernetesOptions k8s = cfg_.kubernetes.Resolved();
  if (k8s.enabled()) {
    TlsClientOptions tls;
    tls.ca_file = k8s.ca_file;
    tls.insecure_skip_verify = k8s.insecure_skip_verify;
    pod_index_ = std::make_shared<KubePodIndex>(k8s, MakeCurlHttpClient(tls), clock_, *registry_);
    PodsOptions pods = cfg_.pods;
    if (pods.cgroupfs.empty()) pods.cgroupfs = HostPaths::Join(cfg_.node.paths.sysfs, "fs/cgroup");
    pod_collectors_ =
        std::make_shared<CollectorSet>(MakePodCollectors(pods, cfg_.node, pod_index_));
    Expose(Source::kCadvisor, pod_collectors_);
    Log(LogLevel::kInfo, "pod metadata on",
        {{"source", k8s.mode == KubernetesOptions::Mode::kApiServer ? "apiserver" : "kubelet"},
         {"url", k8s.PodListUrl()},
         {"cgroupfs", pods.cgroupfs}});
  }
  if (cfg_.apps.enabled) {
    TlsClientOptions scrape_tls;
    scrape_tls.insecure_skip_verify = cfg_.apps.insecure_skip_verify;
    scraper_ = std::make_shared<app::ScrapeManager>(
        cfg_.apps, pod_index_, [scrape_tls] { return MakeCurlHttpClient(scrape_tls); });
    Expose(Source::kLookout, scraper_);
  }
  const OtlpOptions& otlp = cfg_.otlp;
  if (otlp.metrics_enabled && (otlp.http_enabled || otlp.grpc_enabled)) {
    otlp_metrics_ = std::make_shared<otlp::OtlpMetricStore>(otlp, clock_);
    Expose(Source::kLookout, otlp_metrics_);
  }
  if (cfg_.traces.enabled && (otlp.http_enabled || otlp.grpc_enabled)) SetUpTraces();
  view_source_ = std::make_shared<MetricViewSource>();
  if (scraper_) view_source_->Add(scraper_);
  if (otlp_metrics_) view_source_->Add(otlp_metrics_);
  if (span_metrics_) view_source_->Add(span_metrics_);  // span-metrics SLIs read these
  if (cfg_.slo.enabled) {
    slo::EngineOptions o;
    o.tick = cfg_.slo.tick;
    o.buckets_per_window = cfg_.slo.buckets_per_window;
    o.max_groups_per_slo = cfg_.slo.max_groups_per_slo;
    o.series_retention = cfg_.slo.series_retention;
    o.state.directory = cfg_.slo.state.directory;
    o.state.save_interval = cfg_.slo.state.save_interval;
    o.state.max_bytes = cfg_.slo.state.max_bytes;
    o.state.node_name = k8s.node_name;
    slo_engine_ =
        std::make_shared<slo::SloEngine>(o, cfg_.slo.slos, cfg_.slo.payments, view_source_, clock_);
    Expose(Source::kLookout, slo_engine_);
    Log(LogLevel::kInfo, "slo engine on",
        {{"slos", std::to_string(slo_engine_->slo_count())},
         {"payments", cfg_.slo.payments.enabled ? "on" : "off"},
         {"tick", FormatSloDuration(cfg_.slo.tick)}});
  }
  auto& otlp_requests = registry_->AddCounter(
      ::prometheus::BuildCounter()
          .Name("lookout_otlp_requests_total")
          .Help("OTLP export requests answered, by signal, protocol (http, grpc) and status code."),
      {"signal", "protocol", "code"});
  if (otlp.http_enabled) {
    otlp_http_receiver_ = std::make_unique<otlp::OtlpHttpReceiver>(
        otlp_metrics_, trace_pipeline_, otlp.max_request_bytes, otlp_requests);
    ServerOptions http = cfg_.server;
    http.listen_address = otlp.http_listen_address;
    http.max_body_bytes = otlp.max_request_bytes;
    otlp_http_server_ = std::make_unique<HttpServer>(
        *ioc_, http,
        [this](const HttpRequest& req, HttpResponse& resp) {
          otlp_http_receiver_->Handle(req, resp);
        },
        registry_, "lookout_otlp_http");
  }
  if (otlp.grpc_enabled) {
    otlp_grpc_server_ =
        std::make_unique<otlp::OtlpGrpcServer>(otlp.grpc_listen_address, otlp.max_request_bytes,
                                               otlp_metrics_, trace_pipeline_, otlp_requests);
  }

  auto& requests =
      registry_->AddCounter(::prometheus::BuildCounter()
                                .Name("lookout_http_requests_total")
                                .Help("HTTP requests answered, by handler and status code."),
                            {"handler", "code"});
  auto& scrape_duration = registry_->AddHistogram(
      ::prometheus::BuildHistogram()
          .Name("lookout_http_request_duration_seconds")
          .Help("Time to answer HTTP requests, by handler."),
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}, {"handler"},
      "seconds");
  auto& scrapes = registry_->AddCounter(
      ::prometheus::BuildCounter()
          .Name("lookout_metrics_scrapes_total")
          .Help("Scrapes of /metrics answered, by exposition format and content encoding."),
      {"format", "encoding"});
  const std::string landing =
      LandingPage(cfg_, node_collectors_->size(), pod_collectors_ ? pod_collectors_->size() : 0);
  struct MetricsPath {
    std::string_view path;
    std::string_view handler_label;
    const prometheus::MetricsRenderer* handler;
  };
  const std::array<MetricsPath, 4> metrics_paths = {{
      {"/metrics", "metrics", metrics_.get()},
      {"/metrics/node", "metrics_node", source_metrics_[size_t(Source::kNode)].get()},
      {"/metrics/cadvisor", "metrics_cadvisor", source_metrics_[size_t(Source::kCadvisor)].get()},
      {"/metrics/lookout", "metrics_lookout", source_metrics_[size_t(Source::kLookout)].get()},
  }};

  HttpHandler handler = [this, &requests, &scrape_duration, &scrapes, landing, metrics_paths](
                            const HttpRequest& req, HttpResponse& resp) {
    const auto start = std::chrono::steady_clock::now();
    std::string handler_label = "other";
    const MetricsPath* metrics_path = nullptr;
    for (const auto& m : metrics_paths) {
      if (req.path == m.path) metrics_path = &m;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      resp.status = 405;
      resp.headers.emplace_back("Allow", "GET, HEAD");
      resp.body = "method not allowed\n";
    } else if (metrics_path != nullptr) {
      handler_label = metrics_path->handler_label;
      auto r = metrics_path->handler->Render(req.Header("accept"), req.Header("accept-encoding"));
      resp.content_type = std::move(r.content_type);
      resp.body = std::move(r.body);
      if (r.gzip) resp.headers.emplace_back("Content-Encoding", "gzip");
      scrapes
          .WithLabels({r.format == prometheus::Format::kOpenMetrics100 ? "openmetrics" : "text",
                       r.gzip ? "gzip" : "identity"})
          .Increment();
      resp.headers.emplace_back("Vary", "Accept, Accept-Encoding");
    } else if (req.path == "/healthz") {
      handler_label = "healthz";
      resp.body = "ok\n";
    } else if (req.path == "/readyz") {
      handler_label = "readyz";
      const bool ready = ready_.load() && !stop_requested_.load();
      resp.status = ready ? 200 : 503;
      resp.body = ready ? "ready\n" : "not ready\n";
    } else if (req.path == "/") {
      handler_label = "landing";
      resp.content_type = "text/html; charset=utf-8";
      resp.body = landing;
    } else {
      resp.status = 404;
      resp.body = "not found\n";
    }
    requests.WithLabels({handler_label, std::to_string(resp.status)}).Increment();
    scrape_duration.WithLabels({handler_label})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  server_ = std::make_unique<HttpServer>(*ioc_, cfg_.server, std::move(handler), registry_);
}

void Agent::Expose(Source source, const std::shared_ptr<Collectable>& c) {
  metrics_->Add(c);
  source_metrics_[static_cast<size_t>(source)]->Add(c);
}

void Agent::SetUpTraces() {
  const TracesOptions& t = cfg_.traces;
  std::shared_ptr<SpanQueue> queue;
  std::shared_ptr<otlp::DiskSpanQueue> disk;
  if (t.queue.disk_enabled) {
    otlp::DiskQueueOptions o;
    o.directory = ExpandEnv(t.queue.disk_directory);
    o.max_bytes = t.queue.disk_max_bytes;
    o.segment_bytes = t.queue.disk_segment_bytes;
    o.fsync = t.queue.disk_fsync == "always"  ? otlp::DiskQueueOptions::Fsync::kAlways
              : t.queue.disk_fsync == "never" ? otlp::DiskQueueOptions::Fsync::kNever
                                              : otlp::DiskQueueOptions::Fsync::kInterval;
    o.fsync_interval = t.queue.disk_fsync_interval;
    auto q = otlp::DiskSpanQueue::Open(o);
    if (!q.ok()) throw std::runtime_error("span queue: " + q.error().detail);
    disk = std::shared_ptr<otlp::DiskSpanQueue>(std::move(q).value());
    queue = disk;
    const auto& rec = disk->recovery();
    Log(LogLevel::kInfo, "span queue on disk",
        {{"directory", o.directory},
         {"recovered_spans", std::to_string(rec.spans)},
         {"recovered_records", std::to_string(rec.records)},
         {"cut_bytes", std::to_string(rec.corrupt_bytes)}});
  } else {
    queue = std::make_shared<otlp::MemorySpanQueue>(t.queue.memory_max_bytes);
  }
  span_queue_metrics_ = std::make_shared<otlp::SpanQueueMetrics>(queue, disk);
  Expose(Source::kLookout, span_queue_metrics_);
  if (t.span_metrics.enabled) {
    trace::SpanMetricsOptions o;
    o.dimensions = t.span_metrics.dimensions;
    o.seconds = t.span_metrics.seconds;
    o.buckets = t.span_metrics.buckets;
    o.max_series = t.span_metrics.max_series;
    o.expiry = t.span_metrics.series_expiry;
    o.exemplars = t.span_metrics.exemplars;
    span_metrics_ = std::make_shared<trace::SpanMetrics>(o, clock_);
    Expose(Source::kLookout, span_metrics_);
  }
  std::vector<std::pair<std::string, std::string>> statics;
  for (const auto& [k, v] : t.resource_attributes) statics.emplace_back(k, ExpandEnv(v));
  const KubernetesOptions k8s = cfg_.kubernetes.Resolved();
  auto enricher = std::make_unique<trace::ResourceEnricher>(
      t.kubernetes_attributes ? pod_index_ : nullptr,
      t.kubernetes_attributes ? k8s.node_name : std::string(), std::move(statics));
  trace_pipeline_ = std::make_shared<trace::TracePipeline>(
      std::move(enricher), span_metrics_, t.sampling_ratio, t.retry_after, queue, *registry_);
  if (t.exporter.enabled) {
    const auto& e = t.exporter;
    otlp::SenderOptions so;
    so.endpoint = ExpandEnv(e.endpoint);
    for (const auto& [k, v] : e.headers) so.headers.emplace_back(k, ExpandEnv(v));
    so.gzip = e.compression == "gzip";
    so.timeout = e.timeout;
    so.tls = e.tls;
    so.tls_options.ca_file = ExpandEnv(e.ca_file);
    so.tls_options.cert_file = ExpandEnv(e.cert_file);
    so.tls_options.key_file = ExpandEnv(e.key_file);
    so.tls_options.insecure_skip_verify = e.insecure_skip_verify;
    std::unique_ptr<SpanSender> sender =
        e.protocol == "http" ? otlp::MakeHttpSpanSender(so, MakeCurlHttpClient(so.tls_options))
                             : otlp::MakeGrpcSpanSender(so);
    otlp::SpanExporterOptions xo;
    xo.max_batch_spans = e.max_batch_spans;
    xo.max_batch_bytes = e.max_batch_bytes;
    xo.batch_timeout = e.batch_timeout;
    xo.initial_backoff = e.initial_backoff;
    xo.max_backoff = e.max_backoff;
    xo.max_elapsed = e.max_elapsed;
    span_exporter_ = std::make_unique<otlp::SpanExporter>(xo, queue, std::move(sender), *registry_);
    Log(LogLevel::kInfo, "traces on",
        {{"export", e.protocol + " " + so.endpoint},
         {"queue", disk ? "disk" : "memory"},
         {"span_metrics", span_metrics_ ? "on" : "off"}});
  } else {
    Log(LogLevel::kWarn, "traces on with export off: spans are queued until the queue is full");
  }
}

Agent::~Agent() {
  Stop();
  Shutdown();
}

std::shared_ptr<PodIndex> Agent::pod_index() const { return pod_index_; }

void Agent::Start() {
  server_->Start();
  if (otlp_http_server_) otlp_http_server_->Start();
  if (otlp_grpc_server_) otlp_grpc_server_->Start();
  if (pod_index_) pod_index_->Start();
  if (scraper_) scraper_->Start();
  if (slo_engine_) slo_engine_->Start();
  if (span_exporter_) span_exporter_->Start();
  for (int i = 0; i < cfg_.server.threads; ++i) {
    threads_.emplace_back([this] { ioc_->run(); });
  }
  ready_.store(true);
  Log(LogLevel::kInfo, "listening",
      {{"address", cfg_.server.listen_address},
       {"port", std::to_string(port())},
       {"otlp_http_port", std::to_string(otlp_http_port())},
       {"otlp_grpc_port", std::to_string(otlp_grpc_port())},
       {"config", cfg_.source_name},
       {"version", GetBuildInfo().version}});
}

unsigned short Agent::port() const { return server_->port(); }
unsigned short Agent::otlp_http_port() const {
  return otlp_http_server_ ? otlp_http_server_->port() : 0;
}
unsigned short Agent::otlp_grpc_port() const {
  return otlp_grpc_server_ ? static_cast<unsigned short>(otlp_grpc_server_->port()) : 0;
}

void Agent::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stop_requested_.store(true);
  }
  ready_.store(false);
  stop_cv_.notify_all();
}

struct Agent::SignalWatch {
  explicit SignalWatch(boost::asio::io_context& ioc) : set(ioc, SIGTERM, SIGINT) {}
  boost::asio::signal_set set;
};

void Agent::HandleSignals() {
  if (signals_) return;
  signals_ = std::make_unique<SignalWatch>(*ioc_);
  signals_->set.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    Log(LogLevel::kInfo, "shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    Stop();
  });
}

void Agent::Run(bool handle_signals) {
  if (handle_signals) HandleSignals();
  {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [this] { return stop_requested_.load(); });
  }
  Shutdown();
  Log(LogLevel::kInfo, "stopped");
}

void Agent::Shutdown() {
  if (threads_.empty()) return;
  // Stop accepting, close idle connections, give requests in flight shutdown_timeout.
  server_->Stop();
  if (otlp_http_server_) otlp_http_server_->Stop();
  if (otlp_grpc_server_) {
    otlp_grpc_server_->Stop(static_cast<int>(cfg_.server.shutdown_timeout.count()));
  }
  const auto deadline = std::chrono::steady_clock::now() + cfg_.server.shutdown_timeout;
  auto open = [this] {
    return server_->open_connections() +
           (otlp_http_server_ ? otlp_http_server_->open_connections() : 0);
  };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open() > 0) {
    Log(LogLevel::kWarn, "shutdown deadline reached with connections open",
        {{"open", std::to_string(open())}});
  }
  // Receivers are closed: deliver what was acknowledged, within the traces' own deadline.
  if (span_exporter_) span_exporter_->Stop(cfg_.traces.shutdown_timeout);
  if (slo_engine_) slo_engine_->Stop();
  if (scraper_) scraper_->Stop();
  if (pod_index_) pod_index_->Stop();
  ioc_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace lookout
