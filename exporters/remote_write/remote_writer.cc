#include "exporters/remote_write/remote_writer.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "agent/common/log.h"

namespace lookout::remote_write {
namespace {

std::string HostPort(const std::string& url) {
  const size_t start = url.find("//");
  if (start == std::string::npos) return url;
  const size_t end = url.find('/', start + 2);
  return url.substr(start + 2, end == std::string::npos ? std::string::npos : end - start - 2);
}

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A secret file's content without its trailing newline, as Prometheus reads them.
std::string ReadSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// external_labels go on series that do not have the label (Prometheus's
// processExternalLabels); `l` is sorted and stays sorted.
void AddExternalLabels(Labels& l, const Labels& external) {
  for (const Label& e : external) {
    auto it = std::lower_bound(l.begin(), l.end(), e.name,
                               [](const Label& a, const std::string& n) { return a.name < n; });
    if (it == l.end() || it->name != e.name) l.insert(it, e);
  }
}

}  // namespace

RemoteWriteMetrics::RemoteWriteMetrics(SelfMetrics& r)
    : samples_total(
          r.AddCounter(::prometheus::BuildCounter()
                           .Name("lookout_remote_write_samples_total")
                           .Help("Samples delivered to the remote-write endpoint (2xx answers)."),
                       {"remote_name", "url"})),
      samples_failed_total(r.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_remote_write_samples_failed_total")
              .Help("Samples in sends that failed for good (a 4xx answer other than 429)."),
          {"remote_name", "url"})),
      samples_retried_total(
          r.AddCounter(::prometheus::BuildCounter()
                           .Name("lookout_remote_write_samples_retried_total")
                           .Help("Samples in sends that failed and were retried (5xx, 429, "
                                 "connection errors)."),
                       {"remote_name", "url"})),
      samples_dropped_total(r.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_remote_write_samples_dropped_total")
              .Help("Samples that will never be sent, by reason: queue_full (the oldest, past "
                    "queue_config.capacity), http_<status> (refused for good), shutdown."),
          {"remote_name", "url", "reason"})),
      exemplars_total(r.AddCounter(::prometheus::BuildCounter()
                                       .Name("lookout_remote_write_exemplars_total")
                                       .Help("Exemplars delivered to the remote-write endpoint."),
                                   {"remote_name", "url"})),
      bytes_total(r.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_remote_write_bytes_total")
              .Help("Compressed request bytes delivered to the remote-write endpoint."),
          {"remote_name", "url"})),
      samples_pending(r.AddGauge(::prometheus::BuildGauge()
                                     .Name("lookout_remote_write_samples_pending")
                                     .Help("Samples queued, waiting to be sent."),
                                 {"remote_name", "url"})),
      highest_sent_timestamp_seconds(
          r.AddGauge(::prometheus::BuildGauge()
                         .Name("lookout_remote_write_highest_sent_timestamp_seconds")
                         .Help("Newest sample timestamp the endpoint accepted (unix seconds)."),
                     {"remote_name", "url"}, "seconds")),
      shards(r.AddGauge(::prometheus::BuildGauge()
                            .Name("lookout_remote_write_shards")
                            .Help("Senders running for the endpoint (one: no sharding yet)."),
                        {"remote_name", "url"})) {}

RemoteWriter::RemoteWriter(EndpointOptions options, std::chrono::milliseconds interval,
                           Gather gather, std::unique_ptr<HttpClient> client, RemoteWriteMetrics& m,
                           std::function<int64_t()> clock_ms)
    : o_(std::move(options)),
      interval_(interval),
      gather_(std::move(gather)),
      client_(std::move(client)),
      clock_ms_(std::move(clock_ms)),
      sent_(m.samples_total.WithLabels({o_.name.empty() ? HostPort(o_.url) : o_.name, o_.url})),
      failed_(m.samples_failed_total.WithLabels(
          {o_.name.empty() ? HostPort(o_.url) : o_.name, o_.url})),
      retried_(m.samples_retried_total.WithLabels(
          {o_.name.empty() ? HostPort(o_.url) : o_.name, o_.url})),
      dropped_(m.samples_dropped_total),
      name_(o_.name.empty() ? HostPort(o_.url) : o_.name),
      exemplars_(m.exemplars_total.WithLabels({name_, o_.url})),
      bytes_(m.bytes_total.WithLabels({name_, o_.url})),
      pending_gauge_(m.samples_pending.WithLabels({name_, o_.url})),
      highest_(m.highest_sent_timestamp_seconds.WithLabels({name_, o_.url})),
      shards_(m.shards.WithLabels({name_, o_.url})) {
  for (const char* reason : {"queue_full", "shutdown"}) {
    dropped_.WithLabels({name_, o_.url, reason});
  }
}

RemoteWriter::~RemoteWriter() { Stop(std::chrono::milliseconds(0)); }

void RemoteWriter::Start() {
  shards_.Set(1);
  collector_ = std::thread([this] { CollectLoop(); });
  sender_ = std::thread([this] { SendLoop(); });
}

void RemoteWriter::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    deadline_ = std::chrono::steady_clock::now() + deadline;
  }
  cv_.notify_all();
  if (collector_.joinable()) collector_.join();
  if (sender_.joinable()) sender_.join();
  std::lock_guard lock(mu_);
  if (!queue_.empty()) {
    dropped_.WithLabels({name_, o_.url, "shutdown"}).Increment(static_cast<double>(queue_.size()));
    queue_.clear();
  }
  pending_gauge_.Set(0);
  shards_.Set(0);
}

size_t RemoteWriter::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void RemoteWriter::CollectOnce() {
  const std::vector<MetricFamily> families = gather_();
  const int64_t now = clock_ms_();
  std::vector<WriteSeries> series;
  for (const auto& f : families) AppendSeries(f, now, series);
  std::vector<WriteSeries> kept;
  kept.reserve(series.size());
  for (auto& w : series) {
    AddExternalLabels(w.labels, o_.external_labels);
    if (!o_.write_relabel_configs.empty() && !o_.write_relabel_configs.Apply(w.labels)) continue;
    kept.push_back(std::move(w));
  }
  std::shared_ptr<const std::vector<MetricFamily>> metadata;
  if (o_.send_metadata) {
    auto headers = std::make_shared<std::vector<MetricFamily>>();
    headers->reserve(families.size());
    for (const auto& f : families) {
      headers->push_back(MetricFamily{f.name, f.help, f.type, f.unit, {}});
    }
    metadata = std::move(headers);
  }
  std::lock_guard lock(mu_);
  for (auto& w : kept) queue_.push_back(std::move(w));
  if (queue_.size() > o_.capacity) {
    const size_t over = queue_.size() - o_.capacity;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(over));
    // Samples of the batch in flight are the sender's to count (sent, or dropped by status).
    const uint64_t end = front_seq_ + over;
    const uint64_t in_flight =
        std::clamp(in_flight_end_, front_seq_, end) - std::clamp(in_flight_begin_, front_seq_, end);
    front_seq_ = end;
    if (over > in_flight) {
      dropped_.WithLabels({name_, o_.url, "queue_full"})
          .Increment(static_cast<double>(over - in_flight));
    }
  }
  if (metadata) metadata_ = std::move(metadata);
  pending_gauge_.Set(static_cast<double>(queue_.size()));
  cv_.notify_all();
}

void RemoteWriter::CollectLoop() {
  auto next = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, next, [&] { return stopping_; })) return;
    }
    CollectOnce();
    next += interval_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval_;  // a slow collection skips, never bursts
  }
}

std::vector<std::pair<std::string, std::string>> RemoteWriter::Headers() {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf"},
      {"User-Agent", o_.user_agent},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  if (!o_.bearer_token_file.empty()) {
    struct stat st {};
    if (stat(o_.bearer_token_file.c_str(), &st) != 0) {
      Warn("bearer_token_file unreadable, sending the token last read", o_.bearer_token_file);
    } else {
      const auto mtime = std::chrono::system_clock::time_point(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec));
      if (mtime != token_mtime_ || token_.empty()) {
        token_ = ReadSecret(o_.bearer_token_file);
        token_mtime_ = mtime;
      }
    }
    h.emplace_back("Authorization", "Bearer " + token_);
  } else if (!o_.basic_auth_username.empty()) {
    const std::string password =
        o_.basic_auth_password_file.empty() ? "" : ReadSecret(o_.basic_auth_password_file);
    h.emplace_back("Authorization", "Basic " + Base64(o_.basic_auth_username + ":" + password));
  }
  for (const auto& kv : o_.headers) h.push_back(kv);
  return h;
}

void RemoteWriter::Warn(std::string_view msg, const std::string& error) {
  uint64_t suppressed = 0;
  if (!log_limit_.Allow(std::string(msg), &suppressed)) return;
  const std::string n = std::to_string(suppressed);
  Log(LogLevel::kWarn, msg, {{"url", o_.url}, {"error", error}, {"suppressed", n}});
}

bool RemoteWriter::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (stopping_ && now >= deadline_) return false;
    if (now >= until) return true;
    // Stop() wakes the wait; from then on it also ends at the deadline, not at `until` (a
    // Retry-After of minutes must not hold a SIGTERM).
    cv_.wait_until(lock, stopping_ ? std::min(until, deadline_) : until);
  }
}

bool RemoteWriter::SendOnce() {
  std::vector<WriteSeries> batch;
  std::shared_ptr<const std::vector<MetricFamily>> metadata;
  uint64_t batch_end = 0;
  {
    std::lock_guard lock(mu_);
    const size_t n = std::min(queue_.size(), o_.max_samples_per_send);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    metadata = metadata_;
    in_flight_begin_ = front_seq_;
    in_flight_end_ = batch_end = front_seq_ + n;
  }
  if (batch.empty()) return true;
  const std::string body =
      EncodeWriteRequest(batch, 0, batch.size(), metadata.get(), o_.send_exemplars);
  auto forget = [&] {
    std::lock_guard lock(mu_);
    // CollectOnce may have dropped some of the batch meanwhile (queue_full): forget only what is
    // still queued of it, by number, never a newer sample.
    const uint64_t left = batch_end > front_seq_ ? batch_end - front_seq_ : 0;
    const auto k = static_cast<size_t>(std::min<uint64_t>(left, queue_.size()));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(k));
    front_seq_ += k;
    in_flight_begin_ = in_flight_end_ = 0;
    if (metadata_ == metadata) metadata_.reset();
    pending_gauge_.Set(static_cast<double>(queue_.size()));
  };
  double backoff = static_cast<double>(o_.min_backoff.count());
  while (true) {
    HttpClientRequest req;
    req.method = "POST";
    req.url = o_.url;
    req.headers = Headers();
    req.body = body;
    req.timeout = o_.remote_timeout;
    {
      // Stopping: a request started now may take only what is left of the deadline.
      std::lock_guard lock(mu_);
      if (stopping_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline_ - std::chrono::steady_clock::now());
        req.timeout = std::clamp(left, std::chrono::milliseconds(100), o_.remote_timeout);
      }
    }
    req.max_response_bytes = 1 << 20;  // an error text at most; more is the receiver's fault
    auto resp = client_->Do(req);
    std::optional<std::chrono::milliseconds> wait;
    if (resp.ok() && resp->status / 100 == 2) {
      sent_.Increment(static_cast<double>(batch.size()));
      bytes_.Increment(static_cast<double>(body.size()));
      int64_t newest = 0;
      size_t exemplars = 0;
      for (const auto& w : batch) {
        newest = std::max(newest, w.timestamp_ms);
        exemplars += (o_.send_exemplars && w.exemplar) ? 1 : 0;
      }
      exemplars_.Increment(static_cast<double>(exemplars));
      highest_.Set(std::max(highest_.Value(), static_cast<double>(newest) / 1000));
      forget();
      return true;
    }
    const bool retryable = !resp.ok() || resp->status == 429 || resp->status / 100 == 5;
    if (!retryable) {
      const std::string reason = "http_" + std::to_string(resp->status);
      failed_.Increment(static_cast<double>(batch.size()));
      dropped_.WithLabels({name_, o_.url, reason}).Increment(static_cast<double>(batch.size()));
      Warn("remote write refused, batch dropped", reason + " " + resp->body.substr(0, 256));
      forget();
      return true;
    }
    retried_.Increment(static_cast<double>(batch.size()));
    if (resp.ok() && resp->retry_after) {
      wait = std::min<std::chrono::milliseconds>(*resp->retry_after, std::chrono::minutes(5));
    }
    Warn("remote write failed, retrying", resp.ok()
                                              ? "http_" + std::to_string(resp->status)
                                              : resp.error().reason + ": " + resp.error().detail);
    if (!Sleep(wait.value_or(std::chrono::milliseconds(static_cast<int64_t>(backoff))))) {
      return false;
    }
    backoff = std::min(backoff * 2, static_cast<double>(o_.max_backoff.count()));
  }
}

void RemoteWriter::SendLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && (queue_.empty() || std::chrono::steady_clock::now() >= deadline_)) return;
    }
    if (!SendOnce()) return;
  }
}

}  // namespace lookout::remote_write
