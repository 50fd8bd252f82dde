#include "agent/agent.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "agent/build_info.h"
#include "agent/collectors/app/scrape_manager.h"
#include "agent/collectors/collector_set.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/expand_env.h"
#include "agent/common/log.h"
#include "agent/common/open_file_limit.h"
#include "agent/k8s/kube_pod_index.h"
#include "agent/otlp/grpc_server.h"
#include "agent/otlp/http_receiver.h"
#include "agent/otlp/metric_store.h"
#include "agent/server/exposer.h"
#include "agent/server/http_server.h"
#include "agent/slo/slo_engine.h"
#include "agent/trace/trace_pipeline.h"
#include "exporters/otlp/disk_queue.h"
#include "exporters/otlp/memory_queue.h"
#include "exporters/otlp/queue_metrics.h"
#include "exporters/otlp/span_exporter.h"
#include "exporters/otlp/span_senders.h"
#include "exporters/remote_write/remote_writer.h"
#include "lookout/metrics/metric_view.h"
#include "lookout/metrics/self_metrics.h"

namespace lookout {

using Source = Exposer::Source;

Agent::Agent(Config cfg)
    : cfg_(std::move(cfg)),
      ioc_(std::make_unique<boost::asio::io_context>(cfg_.server.threads)),
      registry_(std::make_shared<SelfMetrics>()) {
  exposer_ = std::make_unique<Exposer>(*ioc_, cfg_.server, registry_,
                                       [this] { return ready_.load() && !stop_requested_.load(); });
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
  exposer_->Expose(Source::kLookout, registry_);
  open_file_metrics_ = NewOpenFileMetrics(static_cast<size_t>(cfg_.server.reserved_files));
  exposer_->Expose(Source::kLookout, open_file_metrics_);
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
  exposer_->Expose(Source::kNode, node_registry_);
  node_collectors_ = std::make_shared<CollectorSet>(MakeNodeCollectors(cfg_.node));
  exposer_->Expose(Source::kNode, node_collectors_);
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
    exposer_->Expose(Source::kCadvisor, pod_collectors_);
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
    exposer_->Expose(Source::kLookout, scraper_);
  }
  const OtlpOptions& otlp = cfg_.otlp;
  if (otlp.metrics_enabled && (otlp.http_enabled || otlp.grpc_enabled)) {
    otlp_metrics_ = std::make_shared<otlp::OtlpMetricStore>(otlp, clock_);
    exposer_->Expose(Source::kLookout, otlp_metrics_);
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
    exposer_->Expose(Source::kLookout, slo_engine_);
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
    http.max_connections = otlp.max_connections;
    http.max_connections_per_peer = otlp.max_connections_per_peer;
    http.first_byte_timeout = otlp.first_byte_timeout;
    http.idle_timeout = otlp.idle_timeout;
    otlp_http_server_ = std::make_unique<HttpServer>(
        *ioc_, http,
        [this](const HttpRequest& req, HttpResponse& resp) {
          otlp_http_receiver_->Handle(req, resp);
        },
        registry_, "lookout_otlp_http");
  }
  if (otlp.grpc_enabled) {
    otlp_grpc_server_ = std::make_unique<otlp::OtlpGrpcServer>(
        *ioc_, otlp, otlp_metrics_, trace_pipeline_, otlp_requests, registry_);
  }

  if (!cfg_.remote_write.endpoints.empty()) {
    remote_write_metrics_ = std::make_unique<remote_write::RemoteWriteMetrics>(*registry_);
    std::string instance = ExpandEnv(cfg_.remote_write.instance);
    if (instance.empty()) instance = k8s.node_name;
    if (instance.empty()) {
      char host[256] = {0};
      if (gethostname(host, sizeof host - 1) == 0) instance = host;
    }
    Labels target;  // sorted by name
    if (!instance.empty()) target.push_back(Label{"instance", instance});
    if (!cfg_.remote_write.job.empty()) target.push_back(Label{"job", cfg_.remote_write.job});
    for (auto e : cfg_.remote_write.endpoints) {
      e.user_agent = "lookout/" + std::string(b.version);
      e.target_labels = target;
      remote_write::RemoteWriter::ClientFactory make_client = [tls = e.tls] {
        return MakeCurlHttpClient(tls);
      };
      std::unique_ptr<remote_write::SampleQueue> queue;
      if (cfg_.remote_write.wal.enabled) {
        RemoteWriteOptions::Wal wal = cfg_.remote_write.wal;
        wal.directory = ExpandEnv(wal.directory);
        auto q = remote_write::OpenWalSampleQueue(EndpointWal(wal, e));
        if (!q.ok()) throw std::runtime_error("remote write WAL: " + q.error().detail);
        queue = std::move(q).value();
      } else {
        queue = remote_write::MakeMemorySampleQueue(e.capacity);
      }
      remote_writers_.push_back(std::make_unique<remote_write::RemoteWriter>(
          std::move(e), cfg_.remote_write.interval, [this] { return exposer_->Gather(); },
          std::move(make_client), std::move(queue), *remote_write_metrics_,
          [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
          }));
    }
    Log(LogLevel::kInfo, "remote write on",
        {{"endpoints", std::to_string(remote_writers_.size())}});
  }

  exposer_->SetLandingPage({
      {"version", std::string(b.version)},
      {"revision", std::string(b.revision)},
      {"compiler", std::string(b.compiler)},
      {"build type", std::string(b.build_type)},
      {"config", cfg_.source_name},
      {"node collectors enabled", std::to_string(node_collectors_->size())},
      {"pod collectors enabled", std::to_string(pod_collectors_ ? pod_collectors_->size() : 0)},
  });
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
    switch (t.queue.disk_fsync) {
      case TracesOptions::Queue::Fsync::kNever:
        o.fsync = otlp::DiskQueueOptions::Fsync::kNever;
        break;
      case TracesOptions::Queue::Fsync::kInterval:
        o.fsync = otlp::DiskQueueOptions::Fsync::kInterval;
        break;
      case TracesOptions::Queue::Fsync::kAlways:
        o.fsync = otlp::DiskQueueOptions::Fsync::kAlways;
        break;
    }
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
    otlp::MemorySpanQueueOptions o;
    o.max_bytes = t.queue.memory_max_bytes;
    o.batch_spans = t.exporter.max_batch_spans;
    o.batch_bytes = t.exporter.max_batch_bytes;
    // Kept compressed as it will be sent; with export off nothing is sent, so nothing to gzip.
    o.gzip = t.exporter.enabled && t.exporter.gzip;
    queue = std::make_shared<otlp::MemorySpanQueue>(o);
  }
  span_queue_metrics_ = std::make_shared<otlp::SpanQueueMetrics>(queue, disk);
  exposer_->Expose(Source::kLookout, span_queue_metrics_);
  if (t.span_metrics.enabled) {
    trace::SpanMetricsOptions o;
    o.dimensions = t.span_metrics.dimensions;
    o.seconds = t.span_metrics.seconds;
    o.buckets = t.span_metrics.buckets;
    o.max_series = t.span_metrics.max_series;
    o.expiry = t.span_metrics.series_expiry;
    o.exemplars = t.span_metrics.exemplars;
    span_metrics_ = std::make_shared<trace::SpanMetrics>(o, clock_);
    exposer_->Expose(Source::kLookout, span_metrics_);
  }
  std::vector<std::pair<std::string, std::string>> statics;
  for (const auto& [k, v] : t.resource_attributes) statics.emplace_back(k, ExpandEnv(v));
  const KubernetesOptions k8s = cfg_.kubernetes.Resolved();
  auto enricher = std::make_unique<trace::ResourceEnricher>(
      t.kubernetes_attributes ? pod_index_ : nullptr,
      t.kubernetes_attributes ? k8s.node_name : std::string(), std::move(statics));
  trace::FairShareOptions fair;
  fair.threshold = t.queue.fair_share_threshold;
  fair.max_source_labels = t.queue.max_source_labels;
  trace_pipeline_ = std::make_shared<trace::TracePipeline>(
      std::move(enricher), span_metrics_, t.sampling_ratio, t.retry_after, queue, *registry_, fair);
  if (t.exporter.enabled) {
    const auto& e = t.exporter;
    otlp::SenderOptions so;
    so.endpoint = ExpandEnv(e.endpoint);
    for (const auto& [k, v] : e.headers) so.headers.emplace_back(k, ExpandEnv(v));
    so.gzip = e.gzip;
    so.timeout = e.timeout;
    so.tls = e.tls;
    so.tls_options.ca_file = ExpandEnv(e.ca_file);
    so.tls_options.cert_file = ExpandEnv(e.cert_file);
    so.tls_options.key_file = ExpandEnv(e.key_file);
    so.tls_options.insecure_skip_verify = e.insecure_skip_verify;
    const bool http = e.protocol == TracesOptions::Export::Protocol::kHttp;
    std::unique_ptr<SpanSender> sender =
        http ? otlp::MakeHttpSpanSender(so, MakeCurlHttpClient(so.tls_options))
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
        {{"export", std::string(http ? "http " : "grpc ") + so.endpoint},
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
  exposer_->Start();
  if (otlp_http_server_) otlp_http_server_->Start();
  if (otlp_grpc_server_) otlp_grpc_server_->Start();
  if (pod_index_) pod_index_->Start();
  if (scraper_) scraper_->Start();
  if (slo_engine_) slo_engine_->Start();
  if (span_exporter_) span_exporter_->Start();
  for (auto& w : remote_writers_) w->Start();
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

unsigned short Agent::port() const { return exposer_->port(); }
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
  exposer_->Stop();
  if (otlp_http_server_) otlp_http_server_->Stop();
  if (otlp_grpc_server_) {
    otlp_grpc_server_->Stop(static_cast<int>(cfg_.server.shutdown_timeout.count()));
  }
  const auto deadline = std::chrono::steady_clock::now() + cfg_.server.shutdown_timeout;
  auto open = [this] {
    return exposer_->open_connections() +
           (otlp_http_server_ ? otlp_http_server_->open_connections() : 0);
  };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open() > 0) {
    Log(LogLevel::kWarn, "shutdown deadline reached with connections open",
        {{"open", std::to_string(open())}});
  }
  // Receivers are closed: deliver what was acknowledged, within the traces' own deadline, while
  // every remote writer sends what it holds within server.shutdown_timeout, all at once.
  std::vector<std::thread> drains;
  drains.reserve(remote_writers_.size());
  for (auto& w : remote_writers_) {
    drains.emplace_back([&w, this] { w->Stop(cfg_.server.shutdown_timeout); });
  }
  if (span_exporter_) span_exporter_->Stop(cfg_.traces.shutdown_timeout);
  for (auto& t : drains) t.join();
  if (slo_engine_) slo_engine_->Stop();
  if (scraper_) scraper_->Stop();
  if (pod_index_) pod_index_->Stop();
  ioc_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace lookout
