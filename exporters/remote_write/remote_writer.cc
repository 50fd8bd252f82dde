#include "exporters/remote_write/remote_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

#include "agent/common/base64.h"
#include "agent/common/hash.h"
#include "agent/common/log.h"

namespace lookout::remote_write {
namespace {

std::string HostPort(const std::string& url) {
  const size_t start = url.find("//");
  if (start == std::string::npos) return url;
  const size_t end = url.find('/', start + 2);
  return url.substr(start + 2, end == std::string::npos ? std::string::npos : end - start - 2);
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

// A series' lane: the standard library's hash of its label names and values. Stable within a
// process, which is all lanes need (MayOverlapLocked compares lanes within a run only).
uint64_t LabelsHash(const Labels& labels) {
  uint64_t h = 0;
  for (const Label& l : labels) {
    h = (h * 0x9E3779B97F4A7C15ull) ^ std::hash<std::string_view>{}(l.name);
    h = (h * 0x9E3779B97F4A7C15ull) ^ std::hash<std::string_view>{}(l.value);
  }
  return MixBits(h);
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
                            .Help("Requests the endpoint may have in flight at once (shards)."),
                        {"remote_name", "url"})),
      shards_desired(
          r.AddGauge(::prometheus::BuildGauge()
                         .Name("lookout_remote_write_shards_desired")
                         .Help("Shards the throughput calls for, unrounded, as last computed."),
                     {"remote_name", "url"})),
      shards_min(r.AddGauge(::prometheus::BuildGauge()
                                .Name("lookout_remote_write_shards_min")
                                .Help("queue_config.min_shards."),
                            {"remote_name", "url"})),
      shards_max(r.AddGauge(::prometheus::BuildGauge()
                                .Name("lookout_remote_write_shards_max")
                                .Help("queue_config.max_shards."),
                            {"remote_name", "url"})) {}

RemoteWriter::RemoteWriter(EndpointOptions options, std::chrono::milliseconds interval,
                           Gather gather, ClientFactory make_client,
                           std::unique_ptr<SampleQueue> queue, RemoteWriteMetrics& m,
                           std::function<int64_t()> clock_ms)
    : o_(std::move(options)),
      interval_(interval),
      gather_(std::move(gather)),
      make_client_(std::move(make_client)),
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
      shards_gauge_(m.shards.WithLabels({name_, o_.url})),
      shards_desired_(m.shards_desired.WithLabels({name_, o_.url})),
      sizer_(o_.min_shards, o_.max_shards),
      client_(make_client_()),
      shards_(o_.min_shards) {
  for (const char* reason : {"queue_full", "shutdown", "wal_error"}) {
    dropped_.WithLabels({name_, o_.url, reason});
  }
  m.shards_min.WithLabels({name_, o_.url}).Set(o_.min_shards);
  m.shards_max.WithLabels({name_, o_.url}).Set(o_.max_shards);
  UpdateQueueGauges();
}

RemoteWriter::~RemoteWriter() { Stop(std::chrono::milliseconds(0)); }

void RemoteWriter::Start() {
  shards_gauge_.Set(shards());
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
  {
    std::lock_guard lock(mu_);
    helpers_exit_ = true;
  }
  cv_.notify_all();
  for (std::thread& h : helpers_) h.join();
  helpers_.clear();
  const uint64_t left = queue_->samples();
  if (left > 0 && queue_->persistent()) {
    Log(LogLevel::kInfo, "remote write: samples kept in the WAL for the next start",
        {{"url", o_.url}, {"samples", std::to_string(left)}});
  } else if (left > 0) {
    dropped_.WithLabels({name_, o_.url, "shutdown"}).Increment(static_cast<double>(left));
    std::vector<QueuedRequest> rest;
    while (true) {
      queue_->Take(~size_t{0}, ~uint64_t{0}, rest);
      if (rest.empty()) break;
      queue_->Done(std::vector<bool>(rest.size(), true));
    }
  }
  UpdateQueueGauges();
  shards_gauge_.Set(0);
}

size_t RemoteWriter::pending() const { return queue_->samples(); }

int RemoteWriter::shards() const {
  std::lock_guard lock(mu_);
  return shards_;
}

void RemoteWriter::UpdateQueueGauges() {
  pending_gauge_.Set(static_cast<double>(queue_->samples()));
  queue_bytes_.Set(static_cast<double>(queue_->bytes()));
}

uint32_t RemoteWriter::NextLanes(uint64_t samples) {
  // About 85% of max_samples_per_send per lane, so that most lanes' shares (hash partitions
  // vary by a few percent) fit one request, and the rare one over it adds a small second
  // request. Kept while the average stays between 45% and 95%, because a changed count orders a
  // collection after everything earlier (no pipelining across it).
  const double per = static_cast<double>(std::max<size_t>(o_.max_samples_per_send, 1));
  const double avg = static_cast<double>(samples) / std::max<uint32_t>(lanes_, 1);
  if (lanes_ == 0 || avg > 0.95 * per || (avg < 0.45 * per && lanes_ > 1)) {
    lanes_ = static_cast<uint32_t>(
        std::clamp(std::ceil(static_cast<double>(samples) / (0.85 * per)), 1.0, 65536.0));
  }
  return lanes_;
}

void RemoteWriter::CollectOnce() {
  const std::vector<MetricFamily> families = gather_();
  const int64_t now = clock_ms_();
  // Unique and increasing across restarts (a WAL may hold the previous run's collections).
  last_collection_ =
      std::max(last_collection_ + 1, static_cast<uint64_t>(std::max<int64_t>(now, 0)));
  // The series are hash-partitioned into lanes, sized from the previous collection: a lane's
  // series are the same from one collection to the next, so the sender may send a collection's
  // lane while other lanes of the previous one are still in flight (Prometheus's shards).
  // At least one lane per shard, as Prometheus has one queue per shard: a lane's requests of
  // several collections then merge into one request (PickLocked), so more shards carry more
  // samples per round trip even when a collection is small. One shard sends one request at a
  // time: one lane then, with no buffer per lane to fill and no hashing (a node's volume rarely
  // needs more; the first collection after a reshard is then ordered after everything earlier,
  // once).
  int shards;
  {
    std::lock_guard lock(mu_);
    run_first_collection_ = std::min(run_first_collection_, last_collection_);
    shards = shards_;
  }
  const uint32_t lanes =
      shards > 1 ? std::max(NextLanes(last_samples_), static_cast<uint32_t>(shards)) : 1;
  std::vector<QueuedRequest> open(lanes);  // each lane's request being filled
  for (uint32_t l = 0; l < lanes; ++l) {
    open[l].collection = last_collection_;
    open[l].lanes = lanes;
    open[l].lane = l;
  }
  uint64_t queued = 0, collected = 0;
  int64_t newest = 0;
  bool first = true;
  uint64_t dropped = 0, lost = 0;
  auto flush = [&](QueuedRequest& r) {
    if (r.samples == 0) return;
    if (first && o_.send_metadata) {
      // The collection's metadata rides on its first request.
      for (const auto& f : families) AppendMetadata(f, r.request);
    }
    first = false;
    const SampleQueue::PushResult pushed = queue_->Push(r);
    dropped += pushed.dropped;
    if (!pushed.stored) lost += r.samples;
    queued += pushed.stored ? r.samples : 0;
    newest = std::max(newest, r.newest_ms);
    r.request.clear();
    r.samples = r.exemplars = 0;
    r.newest_ms = 0;
  };
  // Series go straight from the families into the requests' encoding, through one reused
  // WriteSeries: no per-series copies (the collection's CPU is mostly this loop).
  auto add = [&](const WriteSeries& w) {
    QueuedRequest& r = open[lanes == 1 ? 0 : LabelsHash(w.labels) % lanes];
    AppendTimeSeries(w, o_.send_exemplars, r.request);
    ++r.samples;
    ++collected;
    r.newest_ms = std::max(r.newest_ms, w.timestamp_ms);
    r.exemplars += (o_.send_exemplars && w.exemplar) ? 1 : 0;
    if (r.samples >= o_.max_samples_per_send) flush(r);
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
  for (QueuedRequest& r : open) flush(r);
  last_samples_ = collected;
  if (dropped > 0) {
    dropped_.WithLabels({name_, o_.url, "queue_full"}).Increment(static_cast<double>(dropped));
  }
  if (lost > 0) {
    // A memory queue refuses an entry only when it alone is over capacity; a WAL when the disk
    // fails (logged by the WAL) or one request is bigger than the whole WAL.
    dropped_.WithLabels({name_, o_.url, queue_->persistent() ? "wal_error" : "queue_full"})
        .Increment(static_cast<double>(lost));
  }
  sizer_.SamplesIn(queued);
  UpdateQueueGauges();
  {
    std::lock_guard lock(mu_);
    has_work_ = true;
    newest_queued_ms_ = std::max(newest_queued_ms_, newest);
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
    std::lock_guard lock(token_mu_);
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

bool RemoteWriter::PastDeadlineLocked() const {
  return stopping_ && std::chrono::steady_clock::now() >= deadline_;
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

bool RemoteWriter::SendOnce() { return SendBatch() != Sent::kStopped; }

RemoteWriter::Sent RemoteWriter::SendBatch() {
  int shards;
  {
    std::lock_guard lock(mu_);
    shards = shards_;
  }
  // A window of several requests per shard: the next Take waits for all of this one (a WAL
  // acknowledges a Take whole), so a wide one keeps the shards busy across collections.
  const size_t window = std::clamp<size_t>(8 * static_cast<size_t>(shards), 1, 1024);
  // Shard time runs from the Take to the Done: while the queue is read (a WAL reads its
  // segments) and acknowledged (a WAL writes its cursor), no shard sends either.
  const auto began = std::chrono::steady_clock::now();
  std::vector<QueuedRequest> batch;
  queue_->Take(window, window * std::max<uint64_t>(o_.max_samples_per_send, 1), batch);
  if (batch.empty()) return Sent::kEmpty;
  // Helpers are started as the shard count first needs them, each with its own connection.
  while (static_cast<int>(helpers_.size()) < shards - 1) {
    const int id = static_cast<int>(helpers_.size()) + 1;
    try {
      helpers_.emplace_back([this, id] { HelperLoop(id); });
    } catch (const std::system_error& e) {
      // Out of threads (a pod's pid limit): run with what there is rather than abort.
      Warn("remote write: cannot start another shard, keeping " +
               std::to_string(helpers_.size() + 1),
           e.what());
      std::lock_guard lock(mu_);
      thread_cap_ = static_cast<int>(helpers_.size()) + 1;  // resharding stays below it
      shards_ = thread_cap_;
      shards_gauge_.Set(shards_);
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    batch_ = &batch;
    worked_.assign(static_cast<size_t>(shards_), false);
    outcomes_.assign(batch.size(), Outcome::kPending);
    started_.assign(batch.size(), false);
    first_unstarted_ = first_unfinished_ = running_ = 0;
    stop_starting_ = false;
  }
  cv_.notify_all();
  Work(0, *client_);
  std::vector<bool> done(batch.size());
  bool stopped = false;
  int64_t took_part;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return running_ == 0; });
    batch_ = nullptr;
    took_part = std::count(worked_.begin(), worked_.end(), true);
    for (size_t i = 0; i < batch.size(); ++i) {
      done[i] = outcomes_[i] == Outcome::kDelivered || outcomes_[i] == Outcome::kDropped;
      stopped = stopped || !done[i];
    }
  }
  queue_->Done(done);
  sizer_.ShardTime((std::chrono::steady_clock::now() - began) * took_part);
  UpdateQueueGauges();
  return stopped ? Sent::kStopped : Sent::kDone;
}

bool RemoteWriter::MayOverlapLocked(const QueuedRequest& earlier,
                                    const QueuedRequest& later) const {
  if (earlier.collection == later.collection) return true;  // a collection's series are distinct
  // One lane count in this run: the same hash partitions, so other lanes hold other series.
  return earlier.collection >= run_first_collection_ && later.lanes > 1 &&
         earlier.lanes == later.lanes && earlier.lane != later.lane;
}

std::vector<size_t> RemoteWriter::PickLocked() {
  const std::vector<QueuedRequest>& b = *batch_;
  while (first_unfinished_ < b.size() && outcomes_[first_unfinished_] != Outcome::kPending) {
    ++first_unfinished_;
  }
  while (first_unstarted_ < b.size() && started_[first_unstarted_]) ++first_unstarted_;
  // Whether no unfinished request before `i` but those in `group` holds it back.
  auto free = [&](size_t i, const std::vector<size_t>& group) {
    for (size_t j = first_unfinished_; j < i; ++j) {
      if (outcomes_[j] != Outcome::kPending || MayOverlapLocked(b[j], b[i])) continue;
      if (std::find(group.begin(), group.end(), j) == group.end()) return false;
    }
    return true;
  };
  // The oldest request not started that nothing holds back...
  std::vector<size_t> group;
  size_t first = b.size();
  for (size_t i = first_unstarted_; i < b.size() && first == b.size(); ++i) {
    if (!started_[i] && free(i, group)) first = i;
  }
  if (first == b.size()) return group;
  group.push_back(first);
  // ...with the later requests of its lane that only it holds back, up to max_samples_per_send:
  // one request carries a lane's samples of several collections, each series in order (as a
  // Prometheus shard's batch gathers several scrapes). A receiver slower than the collection
  // interval is then still caught up with, by more samples per request.
  uint64_t samples = b[first].samples;
  for (size_t i = first + 1; i < b.size(); ++i) {  // a Take holds at most 1,024
    if (started_[i] || b[i].lanes != b[first].lanes || b[i].lane != b[first].lane) continue;
    if (samples + b[i].samples > o_.max_samples_per_send || !free(i, group)) break;
    samples += b[i].samples;
    group.push_back(i);
  }
  return group;
}

void RemoteWriter::Work(int id, HttpClient& client) {
  std::unique_lock lock(mu_);
  while (true) {
    std::vector<size_t> group;
    while (true) {
      if (PastDeadlineLocked()) stop_starting_ = true;  // the rest stays queued
      if (batch_ == nullptr || stop_starting_ || id >= shards_) return;
      group = PickLocked();
      if (!group.empty()) break;
      if (first_unstarted_ >= batch_->size()) return;  // all started
      cv_.wait(lock);  // held back by a request in flight: its end may free one
    }
    for (const size_t i : group) started_[i] = true;
    if (static_cast<size_t>(id) < worked_.size()) worked_[id] = true;
    ++running_;
    const std::vector<QueuedRequest>& b = *batch_;
    lock.unlock();
    queue_->Sending(group);
    Outcome outcome;
    if (group.size() == 1) {
      outcome = SendRequest(client, b[group[0]]);
    } else {
      QueuedRequest merged;  // WriteRequests concatenate into one
      for (const size_t i : group) {
        merged.request += b[i].request;
        merged.samples += b[i].samples;
        merged.exemplars += b[i].exemplars;
        merged.newest_ms = std::max(merged.newest_ms, b[i].newest_ms);
      }
      outcome = SendRequest(client, merged);
    }
    if (outcome == Outcome::kDelivered || outcome == Outcome::kDropped) {
      queue_->Finished(group);
    }
    lock.lock();
    for (const size_t i : group) outcomes_[i] = outcome;
    --running_;
    cv_.notify_all();
  }
}

void RemoteWriter::HelperLoop(int id) {
  std::unique_ptr<HttpClient> client = make_client_();
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return helpers_exit_ || (id < shards_ && batch_ != nullptr && !stop_starting_ &&
                                 first_unstarted_ < batch_->size());
      });
      if (helpers_exit_) return;
    }
    Work(id, *client);
  }
}

RemoteWriter::Outcome RemoteWriter::SendRequest(HttpClient& client, const QueuedRequest& r) {
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
    auto resp = client.Do(req);
    std::optional<std::chrono::milliseconds> wait;
    if (resp.ok() && resp->status / 100 == 2) {
      sent_.Increment(static_cast<double>(r.samples));
      bytes_.Increment(static_cast<double>(body.size()));
      exemplars_.Increment(static_cast<double>(r.exemplars));
      sizer_.SamplesOut(r.samples);
      std::lock_guard lock(mu_);
      newest_sent_ms_ = std::max(newest_sent_ms_, r.newest_ms);
      highest_.Set(static_cast<double>(newest_sent_ms_) / 1000);
      last_delivery_ = std::chrono::steady_clock::now();
      return Outcome::kDelivered;
    }
    const bool retryable = !resp.ok() || resp->status == 429 || resp->status / 100 == 5;
    if (!retryable) {
      const std::string reason = "http_" + std::to_string(resp->status);
      failed_.Increment(static_cast<double>(r.samples));
      dropped_.WithLabels({name_, o_.url, reason}).Increment(static_cast<double>(r.samples));
      sizer_.SamplesDropped(r.samples);
      Warn("remote write refused, batch dropped", reason + " " + resp->body.substr(0, 256));
      return Outcome::kDropped;
    }
    retried_.Increment(static_cast<double>(r.samples));
    if (resp.ok() && resp->retry_after) {
      wait = std::min<std::chrono::milliseconds>(*resp->retry_after, std::chrono::minutes(5));
    }
    Warn("remote write failed, retrying", resp.ok()
                                              ? "http_" + std::to_string(resp->status)
                                              : resp.error().reason + ": " + resp.error().detail);
    if (!Sleep(wait.value_or(std::chrono::milliseconds(static_cast<int64_t>(backoff))))) {
      return Outcome::kStopped;
    }
    backoff = std::min(backoff * 2, static_cast<double>(o_.max_backoff.count()));
  }
}

int RemoteWriter::UpdateShards(std::chrono::nanoseconds elapsed) {
  double behind_s;
  std::chrono::nanoseconds age;
  int current;
  {
    std::lock_guard lock(mu_);
    behind_s = static_cast<double>(newest_queued_ms_ - newest_sent_ms_) / 1000;
    age = last_delivery_ == std::chrono::steady_clock::time_point{}
              ? std::chrono::nanoseconds::max()
              : std::chrono::steady_clock::now() - last_delivery_;
    current = shards_;
  }
  const std::chrono::nanoseconds stale_after = 2 * std::max(o_.batch_send_deadline, interval_);
  int next = sizer_.Update(current, behind_s, queue_->samples(), age, stale_after, elapsed);
  {
    std::lock_guard lock(mu_);
    next = std::min(next, thread_cap_);
  }
  shards_desired_.Set(sizer_.desired());
  if (next != current) {
    Log(LogLevel::kInfo, "remote write resharding",
        {{"url", o_.url},
         {"from", std::to_string(current)},
         {"to", std::to_string(next)},
         {"desired", std::to_string(sizer_.desired())}});
    std::lock_guard lock(mu_);
    shards_ = next;
  }
  shards_gauge_.Set(next);
  return next;
}

void RemoteWriter::SendLoop() {
  auto last_update = std::chrono::steady_clock::now();
  auto maybe_reshard = [&] {
    // Between Takes: nothing is in flight, so a new count starts on a clean slate. Late after a
    // long Take: one update over the time that passed, not one per missed interval.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_update < ShardSizer::kUpdateInterval) return;
    UpdateShards(now - last_update);
    last_update = now;
  };
  while (true) {
    {
      std::unique_lock lock(mu_);
      // Woken by each collection; the timeout covers a WAL that held requests at start.
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || has_work_; });
      has_work_ = false;
      if (stopping_ && (queue_->samples() == 0 || PastDeadlineLocked())) return;
    }
    maybe_reshard();
    while (true) {
      const Sent sent = SendBatch();
      if (sent == Sent::kStopped) return;
      if (sent == Sent::kEmpty) break;
      maybe_reshard();
      std::lock_guard lock(mu_);
      if (PastDeadlineLocked()) return;
    }
  }
}

}  // namespace lookout::remote_write
