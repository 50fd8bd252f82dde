#include "exporters/remote_write/remote_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "agent/collectors/app/exposition_parser.h"
#include "exporters/remote_write/send_log.h"
#include "exporters/remote_write/write_request.h"

namespace lookout::remote_write {
namespace {

std::vector<MetricFamily> Parse(std::string_view body) {
  auto r = app::ParseExposition(body, app::ExpositionFormat::kOpenMetrics, {});
  EXPECT_TRUE(r.ok()) << r.error().detail;
  return r.ok() ? std::move(r).value() : std::vector<MetricFamily>{};
}

std::string Show(const WriteSeries& w) {
  std::string out;
  for (const auto& l : w.labels) out += (out.empty() ? "" : ",") + l.name + "=" + l.value;
  return out + " " + std::to_string(w.value) + " @" + std::to_string(w.timestamp_ms);
}

const char* const kBody =
    "# TYPE req counter\n"
    "req_total{code=\"200\"} 7 # {trace_id=\"ab\"} 1 1700000000.5\n"
    "# TYPE lat histogram\n"
    "lat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 3\nlat_sum 0.5\nlat_count 3\n"
    "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc_sum 1\nrpc_count 4\n"
    "# TYPE up gauge\nup 1 1690000000.25\n"
    "# EOF\n";

TEST(WriteRequest, SeriesAreTheTextExpositionsLines) {
  std::vector<WriteSeries> out;
  for (const auto& f : Parse(kBody)) AppendSeries(f, 1700000001000, out);
  std::vector<std::string> got;
  got.reserve(out.size());
  for (const auto& w : out) got.push_back(Show(w));
  EXPECT_EQ(
      got,
      (std::vector<std::string>{
          "__name__=req_total,code=200 7.000000 @1700000001000",
          "__name__=lat_bucket,le=0.1 1.000000 @1700000001000",
          "__name__=lat_bucket,le=+Inf 3.000000 @1700000001000",
          "__name__=lat_sum 0.500000 @1700000001000", "__name__=lat_count 3.000000 @1700000001000",
          "__name__=rpc,quantile=0.5 0.200000 @1700000001000",
          "__name__=rpc_sum 1.000000 @1700000001000", "__name__=rpc_count 4.000000 @1700000001000",
          "__name__=up 1.000000 @1690000000250",  // its own timestamp kept
      }));
  ASSERT_TRUE(out[0].exemplar);
  EXPECT_EQ(out[0].exemplar->labels[0].value, "ab");
}

TEST(WriteRequest, EncodedBodyDecodesToTheSameSeriesAndMetadata) {
  const auto families = Parse(kBody);
  std::vector<WriteSeries> series;
  for (const auto& f : families) AppendSeries(f, 1700000001000, series);
  const std::string body = EncodeWriteRequest(series, 1, series.size(), &families, true);
  auto decoded = DecodeWriteRequest(body);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->series.size(), series.size() - 1);
  for (size_t i = 0; i < decoded->series.size(); ++i) {
    EXPECT_EQ(Show(decoded->series[i]), Show(series[i + 1]));
  }
  ASSERT_EQ(decoded->metadata.size(), families.size());
  EXPECT_EQ(decoded->metadata[1].name, "lat");
  EXPECT_EQ(decoded->metadata[1].type, MetricType::kHistogram);
  // Exemplars go only when asked for, with their own time.
  const std::string with = EncodeWriteRequest(series, 0, 1, nullptr, true);
  const std::string without = EncodeWriteRequest(series, 0, 1, nullptr, false);
  ASSERT_TRUE(DecodeWriteRequest(with)->series[0].exemplar);
  EXPECT_EQ(*DecodeWriteRequest(with)->series[0].exemplar->timestamp, 1700000000.5);
  EXPECT_FALSE(DecodeWriteRequest(without)->series[0].exemplar);
  EXPECT_FALSE(DecodeWriteRequest("not snappy"));
}

constexpr long kSlowDown = 4290;  // ScriptedClient: a 429 with Retry-After: 120

// Answers with the statuses queued (then 204; 0 = connection refused), keeping every request.
class ScriptedClient : public HttpClient {
 public:
  explicit ScriptedClient(std::deque<long> statuses) : statuses_(std::move(statuses)) {}
  Result<HttpClientResponse> Do(const HttpClientRequest& r) noexcept override {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    HttpClientResponse resp;
    resp.status = 204;
    if (!statuses_.empty()) {
      resp.status = statuses_.front();
      statuses_.pop_front();
    }
    if (resp.status == 0) return MakeError("connect", "refused");
    if (resp.status == kSlowDown) {  // 429 with Retry-After: 120
      resp.status = 429;
      resp.retry_after = std::chrono::seconds(120);
    }
    return resp;
  }
  std::vector<HttpClientRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::deque<long> statuses_;
  std::vector<HttpClientRequest> requests_;
};

// Every shard's client: forwards to the test's one client.
class Forwarder : public HttpClient {
 public:
  explicit Forwarder(std::shared_ptr<HttpClient> to) : to_(std::move(to)) {}
  Result<HttpClientResponse> Do(const HttpClientRequest& r) noexcept override { return to_->Do(r); }

 private:
  std::shared_ptr<HttpClient> to_;
};

struct Fixture {
  explicit Fixture(std::deque<long> statuses, EndpointOptions o = {},
                   std::unique_ptr<SampleQueue> queue = nullptr)
      : Fixture(std::make_unique<ScriptedClient>(std::move(statuses)), std::move(o),
                std::move(queue)) {}
  Fixture(std::unique_ptr<HttpClient> c, EndpointOptions o, std::unique_ptr<SampleQueue> queue) {
    std::shared_ptr<HttpClient> shared = std::move(c);
    http = shared.get();
    client = dynamic_cast<ScriptedClient*>(http);
    if (o.url.empty()) o.url = "http://receiver:9090/api/v1/write";
    o.min_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(2);
    if (!queue) queue = MakeMemorySampleQueue(o.capacity);
    writer = std::make_unique<RemoteWriter>(
        std::move(o), std::chrono::seconds(60), [this] { return Parse(body); },
        [shared] { return std::make_unique<Forwarder>(shared); }, std::move(queue), metrics,
        [] { return int64_t{1700000001000}; });
  }
  std::string body = kBody;
  SelfMetrics registry;
  RemoteWriteMetrics metrics{registry};
  HttpClient* http = nullptr;
  ScriptedClient* client = nullptr;  // when it is one
  std::unique_ptr<RemoteWriter> writer;
  // Every series of `name` added up.
  double Sum(const std::string& name) {
    std::vector<MetricFamily> fs;
    registry.Collect(fs);
    double sum = 0;
    for (const auto& f : fs) {
      for (const auto& s : f.samples) sum += f.name == name ? s.value : 0;
    }
    return sum;
  }
  double Counter(const std::string& name, const std::string& reason = "") {
    std::vector<MetricFamily> fs;
    registry.Collect(fs);
    for (const auto& f : fs) {
      if (f.name != name) continue;
      for (const auto& s : f.samples) {
        bool ok = reason.empty();
        for (const auto& l : s.labels) ok = ok || (l.name == "reason" && l.value == reason);
        if (ok) return s.value;
      }
    }
    return -1;
  }
};

TEST(RemoteWriter, SendsWithTheSpecsHeadersAndRetries5xx429AndConnectionErrors) {
  Fixture f({503, 429, 0});
  f.writer->CollectOnce();
  EXPECT_EQ(f.writer->pending(), 9u);
  EXPECT_TRUE(f.writer->SendOnce());
  EXPECT_EQ(f.writer->pending(), 0u);
  const auto reqs = f.client->requests();
  ASSERT_EQ(reqs.size(), 4u);                                  // three failures, then 204
  for (const auto& r : reqs) EXPECT_EQ(r.body, reqs[0].body);  // the same batch each time
  std::map<std::string, std::string> h(reqs[0].headers.begin(), reqs[0].headers.end());
  EXPECT_EQ(h["Content-Encoding"], "snappy");
  EXPECT_EQ(h["Content-Type"], "application/x-protobuf");
  EXPECT_EQ(h["X-Prometheus-Remote-Write-Version"], "0.1.0");
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_total"), 9);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_retried_total"), 27);
  EXPECT_EQ(f.Counter("lookout_remote_write_highest_sent_timestamp_seconds"), 1700000001);
}

TEST(RemoteWriter, A4xxDropsTheBatchAndCountsIt) {
  EndpointOptions o;
  o.max_samples_per_send = 5;
  Fixture f({400}, o);
  f.writer->CollectOnce();
  EXPECT_TRUE(f.writer->SendOnce());  // 400: the first five dropped, not retried
  EXPECT_TRUE(f.writer->SendOnce());  // the other four delivered
  EXPECT_EQ(f.client->requests().size(), 2u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_dropped_total", "http_400"), 5);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_failed_total"), 5);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_total"), 4);
}

TEST(RemoteWriter, TargetAndExternalLabelsThenWriteRelabelingThenCapacity) {
  EndpointOptions o;
  o.target_labels = {{"instance", "node-1"}, {"job", "lookout"}};
  o.external_labels = {{"cluster", "eu-1"}, {"code", "ignored"}};  // code: the series' own wins
  RelabelConfig drop;
  drop.action = RelabelAction::kDrop;
  drop.source_labels = {"__name__"};
  drop.regex = "lat_.*|rpc.*";
  o.write_relabel_configs = *Relabeler::Make({drop});
  o.capacity = 3;
  Fixture f({}, o);
  f.writer->CollectOnce();  // req_total and up kept: one request of 2
  EXPECT_EQ(f.writer->pending(), 2u);
  f.writer->CollectOnce();  // 4 > 3: the oldest request dropped
  EXPECT_EQ(f.writer->pending(), 2u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_dropped_total", "queue_full"), 2);
  EXPECT_TRUE(f.writer->SendOnce());
  auto d = DecodeWriteRequest(f.client->requests().at(0).body);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->series.size(), 2u);
  EXPECT_EQ(Show(d->series[0]),
            "__name__=req_total,cluster=eu-1,code=200,instance=node-1,job=lookout 7.000000 "
            "@1700000001000");
  EXPECT_EQ(Show(d->series[1]),
            "__name__=up,cluster=eu-1,code=ignored,instance=node-1,job=lookout 1.000000 "
            "@1690000000250");
}

// The first request waits until released, then answers 204 like the rest.
class GatedClient : public HttpClient {
 public:
  Result<HttpClientResponse> Do(const HttpClientRequest& r) noexcept override {
    std::unique_lock lock(mu_);
    ++calls_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    sent_.push_back(r.body);
    HttpClientResponse resp;
    resp.status = 204;
    return resp;
  }
  void WaitForCall() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return calls_ > 0; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool open_ = false;
  std::vector<std::string> sent_;
};

TEST(RemoteWriter, AQueueOverflowingWhileABatchIsInFlightLosesNothingUncounted) {
  // A reviewer found the sender forgetting `batch size` samples from the front after a long
  // outage, when the collector had already dropped that batch: newer samples went unsent and
  // uncounted, the stale batch counted both dropped and sent.
  EndpointOptions o;
  o.capacity = 10;
  o.max_samples_per_send = 5;
  Fixture f(std::make_unique<GatedClient>(), o, nullptr);
  auto* client = static_cast<GatedClient*>(f.http);
  RemoteWriter& w = *f.writer;
  w.CollectOnce();                                         // requests A (5) and B (4)
  std::thread sender([&] { EXPECT_TRUE(w.SendOnce()); });  // A in flight, B taken after it
  client->WaitForCall();
  // Two more collections: over the capacity, and A and B are the sender's, so what is dropped
  // is theirs (how they split in lanes does not matter here).
  w.CollectOnce();
  w.CollectOnce();
  const double dropped = f.Counter("lookout_remote_write_samples_dropped_total", "queue_full");
  EXPECT_GE(w.pending(), 9u);  // A and B at least
  EXPECT_LE(w.pending(), 10u + 9u);
  EXPECT_EQ(static_cast<double>(w.pending()) + dropped, 27);  // every sample counted once
  client->Open();
  sender.join();
  while (w.pending() > 0) ASSERT_TRUE(w.SendOnce());
  // 27 collected: sent + dropped, none forgotten, none counted twice.
  EXPECT_EQ(f.Sum("lookout_remote_write_samples_total") + dropped, 27);
  EXPECT_GE(f.Sum("lookout_remote_write_samples_total"), 9);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_dropped_total", "queue_full"), dropped);
}

TEST(RemoteWriter, StopEndsARetryAfterWaitAtTheDeadline) {
  // A 429 with Retry-After: 120 held a SIGTERM for 117 s.
  Fixture f({kSlowDown});
  f.writer->CollectOnce();
  std::thread sender([&] { f.writer->SendOnce(); });
  while (f.client->requests().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  f.writer->Stop(std::chrono::milliseconds(50));
  sender.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RemoteWriter, BasicAuthAndHeaders) {
  EndpointOptions o;
  o.basic_auth_username = "user";
  o.headers = {{"X-Scope-OrgID", "tenant-1"}};
  Fixture f({}, o);
  f.writer->CollectOnce();
  EXPECT_TRUE(f.writer->SendOnce());
  const auto r = f.client->requests().at(0);
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["Authorization"], "Basic dXNlcjo=");  // base64("user:")
  EXPECT_EQ(h["X-Scope-OrgID"], "tenant-1");
}

TEST(RemoteWriter, StopDropsWhatCouldNotBeSentAndCountsIt) {
  Fixture f({503, 503, 503, 503, 503, 503, 503, 503});
  f.writer->CollectOnce();
  f.writer->Stop(std::chrono::milliseconds(0));
  EXPECT_EQ(f.writer->pending(), 0u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_dropped_total", "shutdown"), 9);
}

TEST(Staleness, ASeriesThatLeavesGetsOneStaleMarkerAtTheNextCollection) {
  auto series = [](const std::vector<std::string>& names) {
    std::vector<WriteSeries> out;
    for (const auto& n : names) {
      WriteSeries& w = out.emplace_back();
      w.labels = {{"__name__", n}, {"job", "app"}};
      w.value = 1;
    }
    return out;
  };
  StalenessTracker t;
  WriteSeries scratch;
  auto track = [&](std::vector<WriteSeries>& in, int64_t now) {
    t.Begin();
    for (auto& w : in) {
      w.timestamp_ms = now;
      t.See(w);
    }
    t.Finish(scratch, [&](const WriteSeries& w) { in.push_back(w); });
  };
  auto first = series({"a", "b", "c"});
  track(first, 1000);
  EXPECT_EQ(first.size(), 3u);  // nothing before: no marker
  auto second = series({"a", "c"});
  track(second, 2000);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(Show(second[2]).substr(0, 21), "__name__=b,job=app na");
  EXPECT_TRUE(IsStaleMarker(second[2].value));
  EXPECT_EQ(second[2].timestamp_ms, 1001);  // 1 ms after its last sample, not at 2000
  auto third = series({"a", "c"});
  track(third, 3000);
  EXPECT_EQ(third.size(), 2u);  // one marker only
  auto back = series({"a", "b", "c"});
  track(back, 4000);
  EXPECT_EQ(back.size(), 3u);  // b is back: nothing stale
  EXPECT_FALSE(IsStaleMarker(std::numeric_limits<double>::quiet_NaN()));
}

TEST(RemoteWriter, ASeriesGoneFromMetricsIsSentAStaleMarkerWithItsBitPattern) {
  Fixture f({});
  f.writer->CollectOnce();
  f.body = "# TYPE up gauge\nup 1\n# EOF\n";  // every other family gone
  f.writer->CollectOnce();
  while (f.writer->pending() > 0) ASSERT_TRUE(f.writer->SendOnce());
  // Both collections went as one request (one lane's waiting requests merge).
  ASSERT_EQ(f.client->requests().size(), 1u);
  auto d = DecodeWriteRequest(f.client->requests().at(0).body);
  ASSERT_TRUE(d);
  size_t stale = 0;
  for (size_t i = 0; i < d->series.size(); ++i) {
    const WriteSeries& w = d->series[i];
    if (!IsStaleMarker(w.value)) continue;
    ++stale;
    EXPECT_GE(i, 9u);                          // after the first collection's 9 samples
    EXPECT_EQ(w.timestamp_ms, 1700000001001);  // after the last sample, at the collection's
  }
  EXPECT_EQ(stale, 8u);  // the 9 series but up
}

class WalDir {
 public:
  WalDir() {
    char tmpl[] = "/tmp/lookout-rw-wal-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~WalDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  otlp::DiskQueueOptions Options(size_t max_bytes = 1 << 20, size_t segment_bytes = 1 << 16) {
    otlp::DiskQueueOptions o;
    o.directory = path_;
    o.max_bytes = max_bytes;
    o.segment_bytes = segment_bytes;
    o.fsync = otlp::DiskQueueOptions::Fsync::kNever;
    return o;
  }

 private:
  std::string path_;
};

std::unique_ptr<SampleQueue> Wal(const otlp::DiskQueueOptions& o) {
  auto q = OpenWalSampleQueue(o);
  EXPECT_TRUE(q.ok()) << q.error().detail;
  return q.ok() ? std::move(q).value() : nullptr;
}

TEST(RemoteWriter, TheWalKeepsWhatAnEndpointDidNotTakeAcrossARestart) {
  WalDir dir;
  EndpointOptions o;
  o.max_samples_per_send = 5;
  {
    Fixture f({503, 503, 503, 503}, o, Wal(dir.Options()));
    f.writer->CollectOnce();
    f.writer->CollectOnce();
    f.writer->Stop(std::chrono::milliseconds(0));  // kept, not dropped
    EXPECT_EQ(f.writer->pending(), 18u);
    EXPECT_EQ(f.Counter("lookout_remote_write_samples_dropped_total", "shutdown"), 0);
  }
  Fixture f(std::deque<long>{}, o, Wal(dir.Options()));  // the next start
  EXPECT_EQ(f.writer->pending(), 18u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_pending"), 18);
  while (f.writer->pending() > 0) ASSERT_TRUE(f.writer->SendOnce());
  const auto reqs = f.client->requests();
  // The first collection as 5 + 4 (one lane), the second in lanes of its series' hashes (a
  // lane holds at most 5): in the order collected, every request once.
  std::vector<size_t> sizes;
  std::vector<bool> metadata;
  for (const auto& r : reqs) {
    auto d = DecodeWriteRequest(r.body);
    ASSERT_TRUE(d);
    sizes.push_back(d->series.size());
    metadata.push_back(!d->metadata.empty());
  }
  ASSERT_GE(sizes.size(), 4u);
  EXPECT_EQ(sizes[0], 5u);
  EXPECT_EQ(sizes[1], 4u);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), size_t{0}), 18u);
  // The first request of each collection carries its metadata.
  std::vector<bool> expected(sizes.size(), false);
  expected[0] = expected[2] = true;
  EXPECT_EQ(metadata, expected);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_total"), 18);
  EXPECT_EQ(f.Counter("lookout_remote_write_exemplars_total"), 0);  // send_exemplars off
}

TEST(RemoteWriter, AFullWalDropsItsOldestSegmentsNeverTheRequestInFlight) {
  WalDir dir;
  EndpointOptions o;
  o.max_samples_per_send = 9;  // one request per collection, about 400 bytes
  // Room for about 10 requests; a segment holds 2.
  Fixture f(std::make_unique<GatedClient>(), o, Wal(dir.Options(4096, 800)));
  auto* client = static_cast<GatedClient*>(f.http);
  RemoteWriter& w = *f.writer;
  w.CollectOnce();
  std::thread sender([&] { EXPECT_TRUE(w.SendOnce()); });  // the first request in flight
  client->WaitForCall();
  for (int i = 0; i < 30; ++i) w.CollectOnce();  // 31 collected: most of them dropped
  client->Open();
  sender.join();
  while (w.pending() > 0) ASSERT_TRUE(w.SendOnce());
  const double sent = f.Sum("lookout_remote_write_samples_total");
  const double dropped = f.Sum("lookout_remote_write_samples_dropped_total");
  EXPECT_GT(dropped, 0);
  EXPECT_GT(sent, 9);                 // the request in flight and the newest ones
  EXPECT_EQ(sent + dropped, 31 * 9);  // every sample counted once
  size_t delivered = 0;               // what the receiver got, request by request
  for (const std::string& body : client->sent())
    delivered += DecodeWriteRequest(body)->series.size();
  EXPECT_EQ(delivered, static_cast<size_t>(sent));
}

TEST(SampleQueue, AWalDropsWholeOldSegmentsAndCountsTheirSamples) {
  WalDir dir;
  auto q = Wal(dir.Options(2048, 600));
  QueuedRequest r;
  r.request.assign(200, 'x');
  r.samples = 10;
  uint64_t dropped = 0;
  for (int i = 0; i < 20; ++i) {
    r.newest_ms = i;
    const auto p = q->Push(r);
    ASSERT_TRUE(p.stored);
    dropped += p.dropped;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(dropped % 10, 0u);
  EXPECT_EQ(q->samples() + dropped, 200u);
  EXPECT_LE(q->bytes(), 2048u);
  const uint64_t left = q->samples();
  q.reset();
  q = Wal(dir.Options(2048, 600));  // a restart finds exactly what was left
  EXPECT_EQ(q->samples(), left);
  std::vector<QueuedRequest> out;
  int64_t last = -1;
  while (true) {  // what is left is the newest, in order
    q->Take(1, 10, out);
    if (out.empty()) break;
    ASSERT_EQ(out.size(), 1u);
    EXPECT_GT(out[0].newest_ms, last);
    last = out[0].newest_ms;
    EXPECT_EQ(out[0].request, r.request);
    q->Done({true});
  }
  EXPECT_EQ(last, 19);
  EXPECT_EQ(q->samples(), 0u);
}

TEST(SampleQueue, AMemoryQueueRefusesARequestBiggerThanItsCapacity) {
  auto q = MakeMemorySampleQueue(5);
  QueuedRequest r;
  r.samples = 6;
  const auto p = q->Push(r);
  EXPECT_FALSE(p.stored);
  EXPECT_EQ(p.dropped, 0u);
  EXPECT_EQ(q->samples(), 0u);
}

// Answers 204 after `latency`, recording when each request started and ended, and how many
// were in flight at most.
class SlowClient : public HttpClient {
 public:
  explicit SlowClient(std::chrono::milliseconds latency) : latency_(latency) {}
  struct Call {
    std::string series;           // the request's series' names, joined
    uint64_t start = 0, end = 0;  // event numbers
  };
  Result<HttpClientResponse> Do(const HttpClientRequest& r) noexcept override {
    size_t me;
    {
      std::lock_guard lock(mu_);
      me = calls_.size();
      std::string names;
      if (auto d = DecodeWriteRequest(r.body)) {
        for (const auto& w : d->series) {
          for (const auto& l : w.labels) names += l.name + "=" + l.value + ",";
          names += ";";
          if (w.labels.size() == 1 && w.labels[0].value == "up") ups_.push_back(w.value);
        }
      }
      calls_.push_back({names, ++events_, 0});
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    }
    std::this_thread::sleep_for(latency_);
    std::lock_guard lock(mu_);
    calls_[me].end = ++events_;
    --in_flight_;
    HttpClientResponse resp;
    resp.status = 204;
    return resp;
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int max_in_flight() {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }
  std::vector<double> ups() {  // the values of series `up`, in the order sent
    std::lock_guard lock(mu_);
    return ups_;
  }

 private:
  const std::chrono::milliseconds latency_;
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<double> ups_;
  uint64_t events_ = 0;
  int in_flight_ = 0, max_in_flight_ = 0;
};

// Three collections of nine one-sample requests through four shards: requests go out four at a
// time, and no request of a series starts before that series' earlier request ended (each
// series reaches the receiver in order).
void ExpectShardedInOrder(std::unique_ptr<SampleQueue> queue) {
  EndpointOptions o;
  o.max_samples_per_send = 1;
  o.min_shards = o.max_shards = 4;
  Fixture f(std::make_unique<SlowClient>(std::chrono::milliseconds(20)), o, std::move(queue));
  auto* client = static_cast<SlowClient*>(f.http);
  for (int i = 0; i < 3; ++i) f.writer->CollectOnce();
  EXPECT_EQ(f.writer->shards(), 4);
  while (f.writer->pending() > 0) ASSERT_TRUE(f.writer->SendOnce());
  const auto calls = client->calls();
  ASSERT_EQ(calls.size(), 27u);
  EXPECT_EQ(client->max_in_flight(), 4);
  std::map<std::string, int> seen;  // series -> collections it was sent in
  std::vector<int> collection(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) collection[i] = seen[calls[i].series]++;
  for (const auto& [series, n] : seen) EXPECT_EQ(n, 3) << series;
  size_t overlapped = 0;  // requests that started while an earlier collection's was in flight
  for (size_t i = 0; i < calls.size(); ++i) {
    bool overlaps = false;
    for (size_t j = 0; j < calls.size(); ++j) {
      if (calls[j].series == calls[i].series && collection[j] < collection[i]) {
        EXPECT_LT(calls[j].end, calls[i].start) << "request " << i << " overtook " << j;
      }
      if (collection[j] < collection[i] && calls[j].end > calls[i].start) overlaps = true;
    }
    overlapped += overlaps ? 1 : 0;
  }
  // From the second collection on the series are in lanes: a lane of the next collection goes
  // while other lanes of this one are still in flight.
  EXPECT_GT(overlapped, 0u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_total"), 27);
  EXPECT_EQ(f.Counter("lookout_remote_write_shards_max"), 4);
}

TEST(RemoteWriter, ShardsSendACollectionsRequestsAtOnceAndCollectionsInOrder) {
  ExpectShardedInOrder(MakeMemorySampleQueue(1000));
}

TEST(RemoteWriter, ShardsSendFromTheWalInOrderToo) {
  WalDir dir;
  ExpectShardedInOrder(Wal(dir.Options()));
}

TEST(RemoteWriter, ShardsFollowThroughputWithinMinAndMax) {
  for (const int max_shards : {1, 8}) {
    EndpointOptions o;
    o.max_samples_per_send = 1;
    o.max_shards = max_shards;
    Fixture f(std::make_unique<SlowClient>(std::chrono::milliseconds(100)), o, nullptr);
    // 15 collections of 9 samples in one 10 s update: 13.5 samples/s in, each at least 0.1 s
    // of a shard's time to send; one Take on one shard sends some, the rest are the backlog,
    // 5% of it per second more: desired >= 0.1 x (13.5 + 0.05 x pending), about 2.
    for (int i = 0; i < 15; ++i) f.writer->CollectOnce();
    ASSERT_TRUE(f.writer->SendOnce());  // one-sample requests (a Take on one shard)
    const double pending = f.Counter("lookout_remote_write_samples_pending");
    EXPECT_LT(pending, 135);
    EXPECT_EQ(f.writer->shards(), 1);
    const int shards = f.writer->UpdateShards();
    const double desired = f.Counter("lookout_remote_write_shards_desired");
    EXPECT_GE(desired, 0.1 * (13.5 + 0.05 * pending) - 1e-9);
    EXPECT_LE(desired, 4);  // a slow machine takes longer per request, not 2x longer
    EXPECT_EQ(shards, std::min(static_cast<int>(std::ceil(desired)), max_shards)) << max_shards;
    EXPECT_EQ(f.Counter("lookout_remote_write_shards"), shards);
  }
}

TEST(RemoteWriter, ALaneMergesCollectionsIntoOneRequestWhenTheReceiverLagsBehind) {
  EndpointOptions o;
  o.max_samples_per_send = 100;
  o.min_shards = o.max_shards = 4;
  Fixture f(std::make_unique<SlowClient>(std::chrono::milliseconds(20)), o, nullptr);
  auto* client = static_cast<SlowClient*>(f.http);
  const std::string base = f.body.substr(0, f.body.find("# TYPE up gauge"));
  constexpr int kCollections = 10;
  for (int i = 0; i < kCollections; ++i) {
    f.body = base + "# TYPE up gauge\nup " + std::to_string(i) + "\n# EOF\n";
    f.writer->CollectOnce();
  }
  while (f.writer->pending() > 0) ASSERT_TRUE(f.writer->SendOnce());
  const auto calls = client->calls();
  // 10 collections of 9 series in 4 lanes (up to 40 requests) went out as at most 4 per Take.
  EXPECT_LE(calls.size(), 8u);
  EXPECT_EQ(f.Counter("lookout_remote_write_samples_total"), 9 * kCollections);
  size_t merged = 0;
  for (const auto& c : calls) {
    std::map<std::string, int> count;
    size_t at = 0, next;
    while ((next = c.series.find(';', at)) != std::string::npos) {
      ++count[c.series.substr(at, next - at)];
      at = next + 1;
    }
    for (const auto& [series, n] : count) merged += n > 1 ? 1 : 0;
  }
  EXPECT_GT(merged, 0u);
  // `up` (one lane) in collection order: within a request and across requests.
  std::vector<double> expected(kCollections);
  std::iota(expected.begin(), expected.end(), 0.0);
  EXPECT_EQ(client->ups(), expected);
}

TEST(SampleQueue, AWalDoesNotSendAgainWhatFinishedBeforeARestart) {
  WalDir dir;
  auto push = [](SampleQueue& q, uint64_t c) {
    QueuedRequest r;
    r.request = "request-" + std::to_string(c);
    r.samples = 1;
    r.collection = c;
    ASSERT_TRUE(q.Push(r).stored);
  };
  std::vector<QueuedRequest> out;
  {
    auto q = Wal(dir.Options());
    for (uint64_t c = 1; c <= 4; ++c) push(*q, c);
    q->Take(8, 100, out);
    ASSERT_EQ(out.size(), 4u);
    q->Finished({0});  // delivered
    q->Finished({2});  // dropped for good
    // killed before the Take ended: nothing acknowledged
  }
  {
    auto q = Wal(dir.Options());
    EXPECT_EQ(q->samples(), 4u);  // the WAL still holds them...
    q->Take(8, 100, out);
    ASSERT_EQ(out.size(), 2u);  // ...but only the unfinished go out again
    EXPECT_EQ(out[0].request, "request-2");
    EXPECT_EQ(out[1].request, "request-4");
    q->Finished({1});
    q->Done({false, true});  // not all done: kept, finished ones remembered
    push(*q, 5);
  }
  {
    auto q = Wal(dir.Options());
    q->Take(8, 100, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].request, "request-2");
    EXPECT_EQ(out[1].request, "request-5");
    q->Done({true, true});
    EXPECT_EQ(q->samples(), 0u);
  }
  // Acknowledged: the send log is empty again.
  EXPECT_EQ(std::filesystem::file_size(dir.path() + "/sends"), 0u);
}

// A request of several records cut short by a restart goes out again as that one request,
// even when the next Take is smaller than the group's span.
TEST(SampleQueue, AWalSendsAGroupCutShortByARestartAgainWhole) {
  WalDir dir;
  auto push = [](SampleQueue& q, uint64_t c, uint32_t lane) {
    QueuedRequest r;
    r.request = "c" + std::to_string(c) + "l" + std::to_string(lane) + ";";
    r.samples = 10;
    r.collection = c;
    r.lanes = 2;
    r.lane = lane;
    ASSERT_TRUE(q.Push(r).stored);
  };
  std::vector<QueuedRequest> out;
  {
    auto q = Wal(dir.Options());
    for (uint64_t c = 1; c <= 3; ++c) {
      push(*q, c, 0);
      push(*q, c, 1);
    }
    q->Take(8, 1000, out);
    ASSERT_EQ(out.size(), 6u);
    q->Sending({0, 2, 4});  // lane 0 of the three collections as one request...
    q->Sending({1});        // (one record: nothing to remember)
    q->Finished({1});
    // ...killed while it was in flight
  }
  auto q = Wal(dir.Options());
  q->Take(1, 10, out);  // a Take of one record's worth reaches the group's end
  std::vector<std::string> requests(out.size());
  for (size_t i = 0; i < out.size(); ++i) requests[i] = out[i].request;
  EXPECT_EQ(requests, (std::vector<std::string>{"c1l0;c2l0;c3l0;", "c2l1;", "c3l1;"}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].samples, 30u);
  EXPECT_EQ(out[0].collection, 1u);  // ordered where its first record was
  q->Sending({0, 1});                // sent again inside a bigger one: one group from then on
  q->Finished({0, 1});
  q->Finished({2});
  q->Done({true, true, true});
  EXPECT_EQ(q->samples(), 0u);
  EXPECT_EQ(std::filesystem::file_size(dir.path() + "/sends"), 0u);
}

TEST(SendLog, ReadsWhatItWroteAndSkipsCutOrForeignLines) {
  using P = WalPlace;
  const SendLogState s = ParseSendLog(
      "f 1 10 1 20\n"
      "g 1 30 1 40\n"
      "g 1 40 2 0\n"  // shares 1:40 with the previous group: joined
      "g 3 0 3 5\n"
      "f 3 5\n"  // a member finished: the whole group is
      "g 4 0\n"  // one record is no group
      "x 9 9\n"
      "f 1 x\n"
      "f 1\n"
      "f 18446744073709551616 0\n"  // past uint64
      "\n"
      "f 5 5",  // cut short by a crash
      100);
  EXPECT_EQ(s.finished, (std::set<P>{{1, 10}, {1, 20}, {3, 0}, {3, 5}}));
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0], (std::vector<P>{{1, 30}, {1, 40}, {2, 0}}));
  EXPECT_TRUE(ParseSendLog(std::string(1 << 16, '\xff'), 100).finished.empty());
  // At most max_places are read.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "f 1 " + std::to_string(i) + "\n";
  EXPECT_EQ(ParseSendLog(many, 100).finished.size(), 100u);
}

TEST(SampleQueue, AWalTakeSplitsItsRecordsAndReadsTheEarlierFormat) {
  WalDir dir;
  {
    // A record as the WAL's first version wrote it: newest_ms | exemplars, then the request.
    auto raw = otlp::DiskSpanQueue::Open(dir.Options());
    ASSERT_TRUE(raw.ok());
    std::string legacy(16, '\0');
    const int64_t newest = 1700000000123;
    std::memcpy(legacy.data(), &newest, 8);
    legacy += "old-request";
    ASSERT_EQ((*raw)->Push(legacy, 3), SpanQueue::PushResult::kOk);
    ASSERT_EQ((*raw)->Push(legacy, 3), SpanQueue::PushResult::kOk);
  }
  auto q = Wal(dir.Options());
  for (uint64_t c : {7, 7, 8}) {
    QueuedRequest r;
    r.request = "request-" + std::to_string(c);
    r.samples = 2;
    r.exemplars = 1;
    r.newest_ms = 42;
    r.collection = c;
    ASSERT_TRUE(q->Push(r).stored);
  }
  std::vector<QueuedRequest> out;
  q->Take(8, 100, out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].request, "old-request");
  EXPECT_EQ(out[0].newest_ms, 1700000000123);
  EXPECT_EQ(out[0].samples, 3u);
  EXPECT_NE(out[0].collection, out[1].collection);  // old records: one collection each
  EXPECT_EQ(out[2].request, "request-7");
  EXPECT_EQ(out[2].samples, 2u);
  EXPECT_EQ(out[2].exemplars, 1u);
  EXPECT_EQ(out[2].collection, 7u);
  EXPECT_EQ(out[3].collection, 7u);
  EXPECT_EQ(out[4].collection, 8u);
  q->Done({true, true, false, true, true});  // one not done: the WAL keeps the whole Take
  EXPECT_EQ(q->samples(), 12u);
  q->Take(8, 100, out);
  ASSERT_EQ(out.size(), 5u);
  q->Done(std::vector<bool>(5, true));
  EXPECT_EQ(q->samples(), 0u);
}

TEST(SampleQueue, AMemoryQueueTakesUpToItsLimitsAndRemovesWhatIsDone) {
  auto q = MakeMemorySampleQueue(100);
  for (int i = 0; i < 4; ++i) {
    QueuedRequest r;
    r.samples = 5;
    r.newest_ms = i;
    ASSERT_TRUE(q->Push(r).stored);
  }
  std::vector<QueuedRequest> out;
  q->Take(3, 12, out);  // 5 + 5, a third would pass 12 samples
  ASSERT_EQ(out.size(), 2u);
  q->Done({false, true});  // the second delivered, the first not: it stays first
  EXPECT_EQ(q->samples(), 15u);
  q->Take(8, 100, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].newest_ms, 0);
  EXPECT_EQ(out[1].newest_ms, 2);
  // Taken entries are never dropped to make room: the oldest untaken go first.
  QueuedRequest big;
  big.samples = 85;
  EXPECT_TRUE(q->Push(big).stored);
  EXPECT_EQ(q->samples(), 100u);
  QueuedRequest small;
  small.samples = 10;
  const auto p = q->Push(small);
  EXPECT_TRUE(p.stored);
  EXPECT_EQ(p.dropped, 85u);  // `big`, not the three the sender holds
  EXPECT_EQ(q->samples(), 25u);
  q->Done({true, true, true});
  EXPECT_EQ(q->samples(), 10u);
}

}  // namespace
}  // namespace lookout::remote_write
