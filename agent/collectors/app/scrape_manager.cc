#include "agent/collectors/app/scrape_manager.h"

#include <algorithm>
#include <chrono>

#include "agent/common/log.h"
#include "agent/common/malloc_tuning.h"
#include "lookout/metrics/family_builder.h"

namespace lookout::app {

using Steady = std::chrono::steady_clock;

struct ScrapeManager::Outcome {
  bool up = false;
  std::string reason;  // when !up
  std::string detail;
  double duration_seconds = 0;
  size_t samples = 0;
  // What the target served, with its target labels; shared with readers, immutable.
  std::shared_ptr<const CompactFamilies> families;
  // The same target labels, for readers of expanded families (ShareSome).
  std::shared_ptr<const Labels> target_labels;
  // The body's shape, for the next scrape (null: it could not be learned).
  std::shared_ptr<const SteadyShape> shape;
  bool reused_shape = false;  // read through the last scrape's shape, not parsed whole
};

struct ScrapeManager::TargetState {
  ScrapeTarget target;
  Steady::time_point next_due;
  bool in_flight = false;
  bool scraped = false;  // at least one scrape finished
  Outcome last;
  std::map<std::string, uint64_t> failures;  // by reason
  uint64_t shape_reused = 0;                 // scrapes read through the last one's shape
  uint32_t whole_parses = 0;                 // scrapes in a row parsed whole (none since)
  // ShareSome's expansion of `last`: the families `wanted` accepted (`expanded_of` says which),
  // without the target labels, made when a reader first asks after a scrape and dropped by the
  // next scrape. Only what the SLO engine reads is expanded.
  std::shared_ptr<const std::vector<MetricFamily>> expanded;
  std::shared_ptr<const CompactFamilies> expanded_from;
  std::vector<bool> expanded_of;
};

namespace {

// Spreads targets over their interval (as Prometheus does) so they do not all fire together.
std::chrono::milliseconds Offset(const ScrapeTarget& t) {
  const size_t h = std::hash<std::string>{}(t.key);
  return std::chrono::milliseconds(
      static_cast<int64_t>(h % static_cast<size_t>(std::max<int64_t>(1, t.interval.count()))));
}

ParseLimits LimitsOf(const AppsOptions& c) {
  ParseLimits l;
  l.max_samples = c.max_samples;
  l.max_labels = c.max_labels;
  l.max_label_name_length = c.max_label_name_length;
  l.max_label_value_length = c.max_label_value_length;
  return l;
}

// Target labels with a value (an empty container label is no label).
Labels ExposedTargetLabels(const ScrapeTarget& t) {
  Labels l = t.labels;
  std::erase_if(l, [](const Label& x) { return x.value.empty(); });
  return l;
}

Labels SelfLabels(const ScrapeTarget& t) {
  Labels l;
  for (const char* n : {"job", "instance", "namespace", "pod"}) {
    std::string v = t.Label(n);
    if (!v.empty()) l.push_back({n, std::move(v)});
  }
  return l;
}

}  // namespace

ScrapeManager::ScrapeManager(AppsOptions cfg, std::shared_ptr<PodIndex> pods,
                             HttpClientFactory clients)
    : cfg_(std::move(cfg)),
      limits_(LimitsOf(cfg_)),
      pods_(std::move(pods)),
      clients_(std::move(clients)) {}

ScrapeManager::~ScrapeManager() { Stop(); }

void ScrapeManager::Start() {
  for (int i = 0; i < cfg_.max_concurrent_scrapes; ++i) {
    workers_.emplace_back([this] { Worker(); });
  }
}

void ScrapeManager::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

size_t ScrapeManager::target_count() const {
  std::lock_guard lock(mu_);
  return targets_.size();
}

void ScrapeManager::RefreshTargetsLocked(Steady::time_point now) {
  std::shared_ptr<const PodSnapshot> snap = pods_ ? pods_->Snapshot() : nullptr;
  if (static_loaded_ && snap == seen_snapshot_) return;
  std::vector<ScrapeTarget> wanted = StaticTargets(cfg_);
  if (cfg_.pods_enabled && snap) {
    std::vector<DiscoverySkip> skipped;
    auto pod_targets = PodTargets(*snap, cfg_, &skipped);
    for (auto& t : pod_targets) wanted.push_back(std::move(t));
    for (const auto& s : skipped) {
      if (snap != seen_snapshot_) ++discovery_skips_[s.reason];
      uint64_t suppressed = 0;
      if (snap != seen_snapshot_ && log_limit_.Allow("skip/" + s.reason, &suppressed)) {
        Log(LogLevel::kWarn, "scrape annotation ignored",
            {{"namespace", s.namespace_name},
             {"pod", s.pod},
             {"reason", s.reason},
             {"suppressed", std::to_string(suppressed)}});
      }
    }
  }
  static_loaded_ = true;
  seen_snapshot_ = std::move(snap);

  std::map<std::string, std::unique_ptr<TargetState>> next;
  for (auto& t : wanted) {
    if (next.contains(t.key)) continue;
    auto it = targets_.find(t.key);
    if (it != targets_.end()) {
      // Kept, in flight or not: a worker scraping it holds a pointer to this state (it was
      // erased here when in flight, and the worker wrote to freed memory: ASan in
      // integration.autoscaling, where pod lists refresh during scrapes). The worker scrapes a
      // copy of the target, so its labels may change now (e.g. a pod relabelled).
      // The new labels apply from its next scrape (which also renames clashing app labels by
      // them).
      it->second->target = std::move(t);
      next.emplace(it->first, std::move(it->second));
      targets_.erase(it);
      continue;
    }
    auto st = std::make_unique<TargetState>();
    st->next_due = now + Offset(t);
    st->target = std::move(t);
    std::string key = st->target.key;
    next.emplace(std::move(key), std::move(st));
  }
  // Targets in flight that are gone stay until their worker returns (it holds a pointer).
  for (auto& [k, st] : targets_) {
    if (st->in_flight) {
      st->target.key.clear();  // marks it removed
      next.emplace("\x01removed/" + k, std::move(st));
    }
  }
  targets_ = std::move(next);
}

void ScrapeManager::Worker() {
  std::unique_ptr<HttpClient> client = clients_();
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = Steady::now();
    RefreshTargetsLocked(now);
    TargetState* pick = nullptr;
    for (auto& [k, st] : targets_) {
      if (st->in_flight || st->target.key.empty()) continue;
      if (pick == nullptr || st->next_due < pick->next_due) pick = st.get();
    }
    // Re-check discovery at least every second so new pods are picked up promptly.
    auto wake = now + std::chrono::seconds(1);
    if (pick == nullptr || pick->next_due > now) {
      if (pick != nullptr) wake = std::min(wake, pick->next_due);
      cv_.wait_until(lock, wake);
      continue;
    }
    pick->in_flight = true;
    const ScrapeTarget target = pick->target;
    Last last = TakeLast(*pick);
    lock.unlock();
    Outcome o = Scrape(target, *client, std::move(last));
    lock.lock();
    pick->in_flight = false;
    if (pick->target.key.empty()) {
      // Removed while we scraped: drop it now.
      std::erase_if(targets_, [&](const auto& kv) { return kv.second.get() == pick; });
    } else {
      Record(*pick, std::move(o));
      // Next turn: one interval later; turns missed while a slow scrape ran are skipped.
      pick->next_due += pick->target.interval;
      const auto after = Steady::now();
      if (pick->next_due <= after) {
        const auto behind = after - pick->next_due;
        const auto intervals = behind / pick->target.interval + 1;
        pick->next_due += pick->target.interval * intervals;
      }
    }
    cv_.notify_one();
  }
}

void ScrapeManager::ScrapeAllOnce(HttpClient& client) {
  std::vector<std::pair<TargetState*, Last>> all;
  {
    std::lock_guard lock(mu_);
    static_loaded_ = false;  // force a refresh
    RefreshTargetsLocked(Steady::now());
    for (auto& [k, st] : targets_) all.emplace_back(st.get(), TakeLast(*st));
  }
  for (auto& [st, last] : all) {
    Outcome o = Scrape(st->target, client, std::move(last));
    std::lock_guard lock(mu_);
    Record(*st, std::move(o));
  }
}

ScrapeManager::Last ScrapeManager::TakeLast(TargetState& st) {
  // The shape moves to the scrape (nothing else reads it), so that a scrape it does not fit can
  // free it before learning the next one.
  return {st.last.samples, st.last.families, std::move(st.last.shape), st.last.reused_shape,
          st.whole_parses};
}

ScrapeManager::Outcome ScrapeManager::Scrape(const ScrapeTarget& t, HttpClient& client, Last last) {
  Outcome o;
  const auto start = Steady::now();
  // The samples' time, as Prometheus stamps a scrape: when it started.
  const int64_t start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  HttpClientRequest req;
  req.url = t.url;
  req.timeout = t.timeout;
  req.max_response_bytes = cfg_.max_body_bytes;
  req.max_redirects = cfg_.max_redirects;
  req.headers = {
      {"Accept",
       "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"},
      {"X-Prometheus-Scrape-Timeout-Seconds",
       std::to_string(static_cast<double>(t.timeout.count()) / 1000.0)}};
  auto resp = client.Do(req);
  auto finish = [&] {
    o.duration_seconds = std::chrono::duration<double>(Steady::now() - start).count();
    return std::move(o);
  };
  if (!resp.ok()) {
    o.reason = resp.error().reason;
    o.detail = resp.error().detail;
    return finish();
  }
  if (resp->status != 200) {
    o.reason = "http_" + std::to_string(resp->status);
    o.detail = t.url + " answered " + std::to_string(resp->status);
    return finish();
  }
  ParseOptions opt;
  opt.limits = limits_;
  opt.target_labels = ExposedTargetLabels(t);
  // Target labels are kept once per target by CompactFamilies, not per series, unless
  // relabeling may change them series by series: then each series holds its own.
  const bool relabel = !t.metric_relabel.empty();
  opt.attach_target_labels = relabel;
  opt.relabel = relabel ? &t.metric_relabel : nullptr;
  const ExpositionFormat format = FormatFromContentType(resp->content_type);
  if (last.shape && last.families) {
    // The same series as last time: only the values are read (steady_shape.h).
    auto refilled =
        last.shape->Apply(resp->body, format, opt.target_labels, *last.families, start_ms);
    if (refilled) {
      o.up = true;
      o.samples = last.shape->sample_lines();
      o.families = std::make_shared<const CompactFamilies>(std::move(*refilled));
      o.target_labels = relabel ? std::make_shared<const Labels>()
                                : std::make_shared<const Labels>(std::move(opt.target_labels));
      o.shape = std::move(last.shape);
      o.reused_shape = true;
      // The parse buffer this target's last whole parse gave back is not needed while its
      // shape holds: it goes, back to the system, and a full parse builds a new one.
      if (!last.reused_shape) {
        DropScratchOf(t.key);
      } else {
        TrimIfDue();
      }
      return finish();
    }
    last.shape.reset();  // freed before the next one is learned
  }
  ParseStats stats;
  LineTrace trace;
  // A target parsed whole again and again (its series change every scrape) stops paying for
  // learning a shape: after 3 whole parses in a row, it learns one every 16th scrape.
  const bool learn = last.whole_parses < 3 || last.whole_parses % 16 == 0;
  auto parsed = ParseExposition(resp->body, format, opt, &stats, TakeScratch(last.samples),
                                learn ? &trace : nullptr);
  if (!parsed.ok()) {
    o.reason = parsed.error().reason;
    o.detail = t.url + ": " + parsed.error().detail;
    return finish();
  }
  if (relabel) opt.target_labels.clear();  // in every series already
  auto compact = CompactFamilies::Make(*parsed, opt.target_labels, start_ms);
  if (!compact) {
    // Not given back to the pool: a parse this large is not worth keeping.
    o.reason = "too_large";
    o.detail = t.url + ": more than 4 GiB of series text";
    return finish();
  }
  o.up = true;
  o.samples = stats.samples;
  o.families = std::make_shared<const CompactFamilies>(std::move(*compact));
  // Learned with the labels the parse was given (with relabeling: before they were cleared).
  auto shape = SteadyShape::Learn(resp->body, format, ExposedTargetLabels(t), trace, *o.families);
  if (shape) o.shape = std::make_shared<const SteadyShape>(std::move(*shape));
  o.target_labels = std::make_shared<const Labels>(std::move(opt.target_labels));
  GiveScratch(std::move(parsed).value(), t.key);
  return finish();
}

std::vector<MetricFamily> ScrapeManager::TakeScratch(size_t expected_samples) {
  // The largest buffer not much larger than this target needs: the parser frees what a body
  // does not reuse, so a small target must not take (and shrink) a big target's buffer.
  std::lock_guard lock(scratch_mu_);
  const size_t limit = expected_samples * 2 + 1024;
  auto best = scratch_.end();
  for (auto it = scratch_.begin(); it != scratch_.end(); ++it) {
    if (it->samples <= limit && (best == scratch_.end() || it->samples > best->samples)) {
      best = it;
    }
  }
  if (best == scratch_.end()) return {};
  std::vector<MetricFamily> out = std::move(best->buffer);
  scratch_.erase(best);
  return out;
}

void ScrapeManager::GiveScratch(std::vector<MetricFamily> buffer, const std::string& owner) {
  size_t samples = 0;
  for (const auto& f : buffer) samples += f.samples.size();
  std::vector<MetricFamily> dropped;  // freed outside the lock
  std::lock_guard lock(scratch_mu_);
  scratch_.push_back({samples, owner, std::move(buffer)});
  if (scratch_.size() > static_cast<size_t>(cfg_.max_concurrent_scrapes)) {
    auto smallest =
        std::min_element(scratch_.begin(), scratch_.end(),
                         [](const auto& a, const auto& b) { return a.samples < b.samples; });
    dropped = std::move(smallest->buffer);
    scratch_.erase(smallest);
  }
}

void ScrapeManager::DropScratchOf(const std::string& owner) {
  std::vector<Scratch> dropped;  // freed outside the lock
  {
    std::lock_guard lock(scratch_mu_);
    for (auto it = scratch_.begin(); it != scratch_.end();) {
      if (it->owner == owner) {
        dropped.push_back(std::move(*it));
        it = scratch_.erase(it);
      } else {
        ++it;
      }
    }
    if (!dropped.empty()) trim_pending_ = true;
  }
  dropped.clear();
  TrimIfDue();
}

void ScrapeManager::TrimIfDue() {
  // malloc_trim walks the heap under the allocator's one arena lock (every thread waits): at
  // most every 30 s. A trim put off is done by a later scrape read through its shape.
  {
    std::lock_guard lock(scratch_mu_);
    const auto now = Steady::now();
    if (!trim_pending_ || now - last_trim_ < std::chrono::seconds(30)) return;
    trim_pending_ = false;
    last_trim_ = now;
  }
  ReleaseFreeMemory();
}

void ScrapeManager::Record(TargetState& st, Outcome o) {
  if (o.up && LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "scraped",
        {{"job", st.target.Label("job")},
         {"instance", st.target.Label("instance")},
         {"duration_seconds", std::to_string(o.duration_seconds)},
         {"samples", std::to_string(o.samples)}});
  }
  if (!o.up) {
    ++st.failures[o.reason];
    uint64_t suppressed = 0;
    // Keyed by job and reason (bounded), not by target (pods come and go).
    if (log_limit_.Allow("fail/" + st.target.Label("job") + "/" + o.reason, &suppressed)) {
      Log(LogLevel::kWarn, "scrape failed",
          {{"job", st.target.Label("job")},
           {"instance", st.target.Label("instance")},
           {"reason", o.reason},
           {"err", o.detail},
           {"suppressed", std::to_string(suppressed)}});
    }
  }
  st.scraped = true;
  if (o.reused_shape) {
    ++st.shape_reused;
    st.whole_parses = 0;
  } else if (o.up) {
    ++st.whole_parses;
  }
  st.last = std::move(o);  // readers still holding the replaced result keep it alive
  st.expanded.reset();
  st.expanded_from.reset();
  st.expanded_of.clear();
}

void ScrapeManager::CollectSome(const std::function<bool(std::string_view)>& wanted,
                                std::vector<MetricFamily>& out) {
  std::vector<std::shared_ptr<const CompactFamilies>> results;
  CollectCompact(results);
  // A family whose name another target already exposes with another type is left out (one
  // name, one type per exposition), as the /metrics renderer does.
  std::map<std::string, MetricType, std::less<>> types;
  for (const auto& r : results) {
    for (size_t i = 0; i < r->family_count(); ++i) {
      const MetricFamily& h = r->header(i);
      if (!wanted(h.name)) continue;
      auto [it, inserted] = types.emplace(h.name, h.type);
      if (!inserted && it->second != h.type) continue;
      out.push_back(r->ExpandFamily(i));
    }
  }
}

void ScrapeManager::CollectCompact(std::vector<std::shared_ptr<const CompactFamilies>>& out) {
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : targets_) {
    if (!st->target.key.empty() && st->last.families) out.push_back(st->last.families);
  }
}

void ScrapeManager::ShareSome(const std::function<bool(std::string_view)>& wanted,
                              std::vector<SharedFamilies>& out) {
  // Each target's wanted families, expanded once per scrape and shared after that: the SLO
  // engine reads the same few families every tick.
  // `wanted` is asked of every family of every target on every read (a hash lookup each), so
  // a reader asking for other names gets them.
  struct Pending {
    std::string key;
    std::shared_ptr<const CompactFamilies> from;
    std::shared_ptr<const Labels> target_labels;
    std::shared_ptr<const std::vector<MetricFamily>> cached;
    std::vector<bool> cached_of;
  };
  std::vector<Pending> pending;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, st] : targets_) {
      if (st->target.key.empty() || !st->last.families) continue;
      const bool fresh = st->expanded_from == st->last.families;
      pending.push_back({k, st->last.families, st->last.target_labels,
                         fresh ? st->expanded : nullptr,
                         fresh ? st->expanded_of : std::vector<bool>{}});
    }
  }
  for (Pending& p : pending) {
    std::vector<bool> of(p.from->family_count());
    for (size_t i = 0; i < of.size(); ++i) of[i] = wanted(p.from->header(i).name);
    if (!p.cached || of != p.cached_of) {
      auto families = std::make_shared<std::vector<MetricFamily>>();
      for (size_t i = 0; i < of.size(); ++i) {
        if (of[i]) families->push_back(p.from->ExpandFamily(i, /*with_target_labels=*/false));
      }
      p.cached = std::move(families);
      std::lock_guard lock(mu_);
      auto it = targets_.find(p.key);
      if (it != targets_.end() && it->second->last.families == p.from) {
        it->second->expanded = p.cached;
        it->second->expanded_from = p.from;
        it->second->expanded_of = of;
      }
    }
    if (!p.cached->empty()) out.push_back({p.cached, p.target_labels});
  }
}

void ScrapeManager::Collect(std::vector<MetricFamily>& out) {
  struct Row {
    Labels labels;
    std::string source;
    bool scraped;
    Outcome last;
    std::map<std::string, uint64_t> failures;
    uint64_t shape_reused;
  };
  std::vector<Row> rows;
  std::map<std::string, uint64_t> skips;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, st] : targets_) {
      if (st->target.key.empty()) continue;
      rows.push_back({SelfLabels(st->target), st->target.source, st->scraped, st->last,
                      st->failures, st->shape_reused});
    }
    skips = discovery_skips_;
  }
  auto& up = AddFamily(out, "lookout_scrape_target_up",
                       "1 if the last scrape of the application target succeeded, else 0.",
                       MetricType::kGauge);
  for (const auto& r : rows) AddSample(up, r.last.up ? 1 : 0, r.labels);
  auto& dur =
      AddFamily(out, "lookout_scrape_duration_seconds",
                "Duration of the last scrape of the application target.", MetricType::kGauge);
  dur.unit = "seconds";
  for (const auto& r : rows)
    if (r.scraped) AddSample(dur, r.last.duration_seconds, r.labels);
  auto& samples =
      AddFamily(out, "lookout_scrape_samples",
                "Samples the application target served in its last scrape.", MetricType::kGauge);
  for (const auto& r : rows)
    if (r.scraped) AddSample(samples, static_cast<double>(r.last.samples), r.labels);
  auto& reused = AddFamily(
      out, "lookout_scrape_shape_reused_total",
      "Scrapes of the application target whose body had the last body's series, in order, so "
      "only the values were read (the rest are parsed whole).",
      MetricType::kCounter);
  for (const auto& r : rows)
    if (r.scraped) AddSample(reused, static_cast<double>(r.shape_reused), r.labels);
  auto& fails =
      AddFamily(out, "lookout_scrape_target_failures_total",
                "Failed scrapes of the application target, by reason.", MetricType::kCounter);
  for (const auto& r : rows) {
    for (const auto& [reason, n] : r.failures) {
      Labels l = r.labels;
      l.push_back({"reason", reason});
      AddSample(fails, static_cast<double>(n), std::move(l));
    }
  }
  auto& count = AddFamily(out, "lookout_scrape_targets",
                          "Application targets being scraped, by source (pod or static).",
                          MetricType::kGauge);
  std::map<std::string, size_t> by_source{{"pod", 0}, {"static", 0}};
  for (const auto& r : rows) ++by_source[r.source];
  for (const auto& [source, n] : by_source)
    AddSample(count, static_cast<double>(n), {{"source", source}});
  auto& skipped = AddFamily(out, "lookout_scrape_discovery_skipped_total",
                            "Annotated pods not scraped because of an invalid annotation or no "
                            "port, by reason (counted per pod list change).",
                            MetricType::kCounter);
  for (const auto& [reason, n] : skips)
    AddSample(skipped, static_cast<double>(n), {{"reason", reason}});
}

}  // namespace lookout::app
