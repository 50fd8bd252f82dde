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
                    "queue_config.capacity or wal.max_bytes), http_<status> (refused for good), "
                    "shutdown (a memory queue on SIGTERM), wal_error (the WAL could not write)."),
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
      queue_bytes(
          r.AddGauge(::prometheus::BuildGauge()
                         .Name("lookout_remote_write_queue_bytes")
                         .Help("Bytes the queue holds: serialized requests in memory, or the WAL's "
                               "undelivered records on disk."),
                     {"remote_name", "url"}, "bytes")),
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
                           Gather gather, std::unique_ptr<HttpClient> client,
                           std::unique_ptr<SampleQueue> queue, RemoteWriteMetrics& m,
                           std::function<int64_t()> clock_ms)
    : o_(std::move(options)),
      interval_(interval),
      gather_(std::move(gather)),
      client_(std::move(client)),
      queue_(std::move(queue)),
      clock_ms_(std::move(clock_ms)),
      name_(o_.name.empty() ? HostPort(o_.url) : o_.name),
      sent_(m.samples_total.WithLabels({name_, o_.url})),
      failed_(m.samples_failed_total.WithLabels({name_, o_.url})),
      retried_(m.samples_retried_total.WithLabels({name_, o_.url})),
      dropped_(m.samples_dropped_total),
      exemplars_(m.exemplars_total.WithLabels({name_, o_.url})),
      bytes_(m.bytes_total.WithLabels({name_, o_.url})),
      pending_gauge_(m.samples_pending.WithLabels({name_, o_.url})),
      queue_bytes_(m.queue_bytes.WithLabels({name_, o_.url})),
      highest_(m.highest_sent_timestamp_seconds.WithLabels({name_, o_.url})),
      shards_(m.shards.WithLabels({name_, o_.url})) {
  for (const char* reason : {"queue_full", "shutdown", "wal_error"}) {
    dropped_.WithLabels({name_, o_.url, reason});
  }
  UpdateQueueGauges();
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
  const uint64_t left = queue_->samples();
  if (left > 0 && queue_->persistent()) {
    Log(LogLevel::kInfo, "remote write: samples kept in the WAL for the next start",
        {{"url", o_.url}, {"samples", std::to_string(left)}});
  } else if (left > 0) {
    dropped_.WithLabels({name_, o_.url, "shutdown"}).Increment(static_cast<double>(left));
    QueuedRequest r;
    while (queue_->Front(r)) queue_->Pop();
  }
  UpdateQueueGauges();
  shards_.Set(0);
}

size_t RemoteWriter::pending() const { return queue_->samples(); }

void RemoteWriter::UpdateQueueGauges() {
  pending_gauge_.Set(static_cast<double>(queue_->samples()));
  queue_bytes_.Set(static_cast<double>(queue_->bytes()));
}

void RemoteWriter::CollectOnce() {
  const std::vector<MetricFamily> families = gather_();
  const int64_t now = clock_ms_();
  // Series go straight from the families into requests of max_samples_per_send, through one
  // reused WriteSeries: no per-series copies (the collection's CPU is mostly this loop).
  QueuedRequest r;
  bool first = true;
  uint64_t dropped = 0, lost = 0;
  auto flush = [&] {
    if (r.samples == 0) return;
    if (first && o_.send_metadata) {
      // The collection's metadata rides on its first request.
      for (const auto& f : families) AppendMetadata(f, r.request);
    }
    first = false;
    const SampleQueue::PushResult pushed = queue_->Push(r);
    dropped += pushed.dropped;
    if (!pushed.stored) lost += r.samples;
    r.request.clear();
    r.samples = r.exemplars = 0;
    r.newest_ms = 0;
  };
  auto add = [&](const WriteSeries& w) {
    AppendTimeSeries(w, o_.send_exemplars, r.request);
    ++r.samples;
    r.newest_ms = std::max(r.newest_ms, w.timestamp_ms);
    r.exemplars += (o_.send_exemplars && w.exemplar) ? 1 : 0;
    if (r.samples >= o_.max_samples_per_send) flush();
  };
  WriteSeries scratch;
  staleness_.Begin();
  for (const auto& f : families) {
    ForEachSeries(f, now, scratch, [&](WriteSeries& w) {
      AddExternalLabels(w.labels, o_.target_labels);
      AddExternalLabels(w.labels, o_.external_labels);
      if (!o_.write_relabel_configs.empty() && !o_.write_relabel_configs.Apply(w.labels)) return;
      staleness_.See(w);
      add(w);
    });
  }
  staleness_.Finish(scratch, add);
  flush();
  if (dropped > 0) {
    dropped_.WithLabels({name_, o_.url, "queue_full"}).Increment(static_cast<double>(dropped));
  }
  if (lost > 0) {
    // A memory queue refuses an entry only when it alone is over capacity; a WAL when the disk
    // fails (logged by the WAL) or one request is bigger than the whole WAL.
    dropped_.WithLabels({name_, o_.url, queue_->persistent() ? "wal_error" : "queue_full"})
        .Increment(static_cast<double>(lost));
  }
  UpdateQueueGauges();
  {
    std::lock_guard lock(mu_);
    has_work_ = true;
  }
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

bool RemoteWriter::SendOnce() { return SendOne() != Sent::kStopped; }

RemoteWriter::Sent RemoteWriter::SendOne() {
  QueuedRequest r;
  if (!queue_->Front(r)) return Sent::kEmpty;
  const std::string body = CompressBody(r.request);
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
    // An error text at most: the status decides, so a 2xx with a huge or cut body delivered
    // (as Prometheus, which discards a success's body), and only 1 MiB of any body is kept.
    req.max_response_bytes = 1 << 20;
    req.status_suffices = true;
    auto resp = client_->Do(req);
    std::optional<std::chrono::milliseconds> wait;
    if (resp.ok() && resp->status / 100 == 2) {
      sent_.Increment(static_cast<double>(r.samples));
      bytes_.Increment(static_cast<double>(body.size()));
      exemplars_.Increment(static_cast<double>(r.exemplars));
      highest_.Set(std::max(highest_.Value(), static_cast<double>(r.newest_ms) / 1000));
      queue_->Pop();
      UpdateQueueGauges();
      return Sent::kDone;
    }
    const bool retryable = !resp.ok() || resp->status == 429 || resp->status / 100 == 5;
    if (!retryable) {
      const std::string reason = "http_" + std::to_string(resp->status);
      failed_.Increment(static_cast<double>(r.samples));
      dropped_.WithLabels({name_, o_.url, reason}).Increment(static_cast<double>(r.samples));
      Warn("remote write refused, batch dropped", reason + " " + resp->body.substr(0, 256));
      queue_->Pop();
      UpdateQueueGauges();
      return Sent::kDone;
    }
    retried_.Increment(static_cast<double>(r.samples));
    if (resp.ok() && resp->retry_after) {
      wait = std::min<std::chrono::milliseconds>(*resp->retry_after, std::chrono::minutes(5));
    }
    Warn("remote write failed, retrying", resp.ok()
                                              ? "http_" + std::to_string(resp->status)
                                              : resp.error().reason + ": " + resp.error().detail);
    if (!Sleep(wait.value_or(std::chrono::milliseconds(static_cast<int64_t>(backoff))))) {
      return Sent::kStopped;
    }
    backoff = std::min(backoff * 2, static_cast<double>(o_.max_backoff.count()));
  }
}

void RemoteWriter::SendLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      // Woken by each collection; the timeout covers a WAL that held requests at start.
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || has_work_; });
      has_work_ = false;
      if (stopping_ && (queue_->samples() == 0 || std::chrono::steady_clock::now() >= deadline_)) {
        return;
      }
    }
    while (true) {
      const Sent sent = SendOne();
      if (sent == Sent::kStopped) return;
      if (sent == Sent::kEmpty) break;
      std::lock_guard lock(mu_);
      if (stopping_ && std::chrono::steady_clock::now() >= deadline_) return;
    }
  }
}

}  // namespace lookout::remote_write
