#pragma once
// Agent: wires config, collectors, receivers, the trace and SLO pipelines and the Exposer (the
// HTTP endpoints) together. main.cc only parses flags and calls this, so tests can run a whole
// agent in-process on port 0.
//
// Thread-safety: Start() then Run() from one thread; Stop() from any thread (or a signal).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/config/config.h"
#include "lookout/clock.h"
#include "lookout/metrics/collectable.h"

namespace boost::asio {
class io_context;
}

namespace lookout {

class SelfMetrics;
class Exposer;
class HttpServer;
class CollectorSet;
class KubePodIndex;
class PodIndex;
class MetricViewSource;
namespace app {
class ScrapeManager;
}
namespace slo {
class SloEngine;
}
namespace otlp {
class OtlpMetricStore;
class OtlpHttpReceiver;
class OtlpGrpcServer;
class SpanExporter;
}  // namespace otlp
namespace remote_write {
class RemoteWriter;
struct RemoteWriteMetrics;
}  // namespace remote_write
namespace trace {
class TracePipeline;
class SpanMetrics;
}  // namespace trace

class Agent {
 public:
  explicit Agent(Config cfg);
  ~Agent();
  // Installs the SIGTERM/SIGINT handler (a graceful Stop()). Call it before Start(): a signal
  // that arrives while the listeners open is then handled once the io threads run, instead of
  // killing the process (a kubelet may stop a pod right after it started).
  void HandleSignals();
  // Binds the listener and starts the io threads. Throws std::runtime_error on bind failure.
  void Start();
  // Blocks until SIGTERM/SIGINT (when handle_signals; HandleSignals() if not called yet) or
  // Stop(), then shuts down gracefully: stop accepting, let in-flight requests finish within
  // server.shutdown_timeout, then stop.
  void Run(bool handle_signals = true);
  void Stop();
  unsigned short port() const;
  // Bound OTLP ports (0 when that receiver is off).
  unsigned short otlp_http_port() const;
  unsigned short otlp_grpc_port() const;
  // Application metrics (scraped and OTLP-pushed), queryable by name and matchers.
  std::shared_ptr<MetricViewSource> view_source() const { return view_source_; }
  // The pods on this node; null when Kubernetes metadata is off.
  std::shared_ptr<PodIndex> pod_index() const;
  // The SLO engine (null when off); tests tick it by hand.
  std::shared_ptr<slo::SloEngine> slo_engine() const { return slo_engine_; }
  // The span path (null when traces are off).
  std::shared_ptr<trace::TracePipeline> trace_pipeline() const { return trace_pipeline_; }

 private:
  void Shutdown();
  void SetUpTraces();

  Config cfg_;
  SystemClock clock_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  struct SignalWatch;  // a boost::asio::signal_set, kept out of this header
  std::unique_ptr<SignalWatch> signals_;
  std::shared_ptr<SelfMetrics> registry_;
  std::shared_ptr<Collectable> open_file_metrics_;  // lookout_open_files_limit, kept files
  std::shared_ptr<KubePodIndex> pod_index_;
  std::shared_ptr<SelfMetrics> node_registry_;  // node_exporter_build_info for /metrics/node
  std::shared_ptr<CollectorSet> node_collectors_;
  std::shared_ptr<CollectorSet> pod_collectors_;         // null when Kubernetes metadata is off
  std::shared_ptr<app::ScrapeManager> scraper_;          // null when apps are off
  std::shared_ptr<otlp::OtlpMetricStore> otlp_metrics_;  // null when OTLP metrics are off
  std::unique_ptr<otlp::OtlpHttpReceiver> otlp_http_receiver_;
  std::unique_ptr<HttpServer> otlp_http_server_;
  std::unique_ptr<otlp::OtlpGrpcServer> otlp_grpc_server_;
  std::shared_ptr<trace::SpanMetrics> span_metrics_;      // null when off
  std::shared_ptr<trace::TracePipeline> trace_pipeline_;  // null when traces are off
  std::unique_ptr<otlp::SpanExporter> span_exporter_;     // null when export is off
  std::shared_ptr<Collectable> span_queue_metrics_;       // held: /metrics holds it weakly
  std::shared_ptr<MetricViewSource> view_source_;
  std::shared_ptr<slo::SloEngine> slo_engine_;  // null when slo.enabled is false
  std::unique_ptr<Exposer> exposer_;            // the endpoints of cfg_.server.listen_address
  std::unique_ptr<remote_write::RemoteWriteMetrics> remote_write_metrics_;
  std::vector<std::unique_ptr<remote_write::RemoteWriter>> remote_writers_;  // one per endpoint
  std::vector<std::thread> threads_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
};

}  // namespace lookout
