#include "agent/k8s/kube_pod_index.h"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "agent/common/file_util.h"
#include "agent/common/log.h"
#include "agent/k8s/pod_list.h"

namespace lookout {
namespace {

const std::shared_ptr<const PodSnapshot>& EmptySnapshot() {
  static const auto kEmpty = std::make_shared<const PodSnapshot>();
  return kEmpty;
}

}  // namespace

KubePodIndex::KubePodIndex(KubernetesOptions config, std::unique_ptr<HttpClient> client,
                           const Clock& clock, SelfMetrics& registry)
    : config_(std::move(config)),
      client_(std::move(client)),
      clock_(clock),
      refreshes_(registry.AddCounter(::prometheus::BuildCounter()
                                         .Name("lookout_pod_index_refreshes_total")
                                         .Help("Pod metadata refreshes from the kubelet or API "
                                               "server, by result (success or the error reason)."),
                                     {"result"})),
      pods_gauge_(registry
                      .AddGauge(::prometheus::BuildGauge()
                                    .Name("lookout_pod_index_pods")
                                    .Help("Pods in the pod index (this node's pods)."))
                      .Get()),
      last_success_gauge_(
          registry
              .AddGauge(::prometheus::BuildGauge()
                            .Name("lookout_pod_index_last_success_timestamp_seconds")
                            .Help("Unix time of the last successful pod metadata refresh."),
                        {}, "seconds")
              .Get()),
      snapshot_(EmptySnapshot()),
      last_status_(MakeError("not_ready", "no refresh yet")) {}

KubePodIndex::~KubePodIndex() { Stop(); }

void KubePodIndex::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void KubePodIndex::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void KubePodIndex::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    (void)RefreshNow();
    lock.lock();
    // Sleep until the interval passes or a reader asks, but never refresh more often than
    // min_refresh_interval.
    const auto next = last_attempt_ + config_.refresh_interval;
    cv_.wait_until(lock, next, [&] { return stopping_ || refresh_requested_; });
    if (stopping_) break;
    if (refresh_requested_) {
      const auto earliest = last_attempt_ + config_.min_refresh_interval;
      cv_.wait_until(lock, earliest, [&] { return stopping_; });
    }
  }
}

Status KubePodIndex::RefreshNow() {
  std::lock_guard<std::mutex> one_at_a_time(refresh_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_attempt_ = std::chrono::steady_clock::now();
    refresh_requested_ = false;
  }
  const auto fail = [&](Error e) -> Status {
    refreshes_.WithLabels({e.reason}).Increment();
    std::lock_guard<std::mutex> lock(mu_);
    last_status_ = e;
    return e;
  };

  HttpClientRequest req;
  req.url = config_.PodListUrl();
  req.timeout = config_.timeout;
  req.max_response_bytes = config_.max_response_bytes;
  req.headers.emplace_back("Accept", "application/json");
  if (!config_.token_file.empty()) {
    auto token = ReadFileLimited(config_.token_file, 64 << 10);
    if (!token.ok()) {
      return fail(MakeError("token", config_.token_file + ": " + token.error().detail));
    }
    req.headers.emplace_back("Authorization", "Bearer " + std::string(TrimSpace(token.value())));
  }
  auto resp = client_->Do(req);
  if (!resp.ok()) return fail(resp.error());
  if (resp->status != 200) {
    const std::string_view snippet = std::string_view(resp->body).substr(0, 200);
    return fail(MakeError(fmt::format("http_{}", resp->status),
                          fmt::format("{} answered {}: {}", req.url, resp->status, snippet)));
  }
  auto pods = ParsePodList(resp->body);
  if (!pods.ok()) return fail(pods.error());
  // The API server answers for the node we asked about; the kubelet only knows its own pods.
  // Anything else (a misrouted kubelet URL) is ignored rather than mislabelled.
  std::vector<Pod> mine;
  mine.reserve(pods->size());
  for (auto& p : *pods) {
    if (!config_.node_name.empty() && !p.node_name.empty() && p.node_name != config_.node_name) {
      continue;
    }
    mine.push_back(std::move(p));
  }
  auto snap = std::make_shared<const PodSnapshot>(std::move(mine));
  const double count = static_cast<double>(snap->pods().size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(snap);
    last_good_ = clock_.Monotonic();
    last_status_ = Ok{};
  }
  refreshes_.WithLabels({"success"}).Increment();
  pods_gauge_.Set(count);
  last_success_gauge_.Set(std::chrono::duration<double>(clock_.Now().time_since_epoch()).count());
  return Ok{};
}

Status KubePodIndex::LastStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

std::shared_ptr<const PodSnapshot> KubePodIndex::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_good_ || clock_.Monotonic() - *last_good_ > config_.stale_after) {
    return EmptySnapshot();
  }
  return snapshot_;
}

void KubePodIndex::RequestRefresh() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refresh_requested_) return;
    refresh_requested_ = true;
  }
  cv_.notify_all();
}

}  // namespace lookout
