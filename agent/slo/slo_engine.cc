#include "agent/slo/slo_engine.h"

#include <algorithm>
#include <map>

#include "agent/common/log.h"
#include "agent/config/config.h"

namespace lookout::slo {
namespace {

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Builds families by name in first-use order, so one family holds every SLO's series.
class Families {
 public:
  explicit Families(std::vector<MetricFamily>& out) : out_(out) {}
  MetricFamily& Get(const std::string& name, MetricType type, const char* help) {
    auto it = index_.find(name);
    if (it != index_.end()) return out_[it->second];
    index_.emplace(name, out_.size());
    MetricFamily f;
    f.name = name;
    f.type = type;
    f.help = help;
    out_.push_back(std::move(f));
    return out_.back();
  }
  void Add(const std::string& name, MetricType type, const char* help, Labels labels, double v,
           std::optional<double> created = std::nullopt) {
    Sample s;
    s.labels = std::move(labels);
    s.value = v;
    s.created = created;
    Get(name, type, help).samples.push_back(std::move(s));
  }

 private:
  std::vector<MetricFamily>& out_;
  std::map<std::string, size_t> index_;
};

Labels GroupLabels(const Labels& base, const std::vector<std::string>& names,
                   const std::vector<std::string>& values) {
  Labels l = base;
  for (size_t i = 0; i < names.size(); ++i) l.push_back({names[i], values[i]});
  return l;
}

Labels With(Labels l, const char* name, std::string value) {
  l.push_back({name, std::move(value)});
  return l;
}

}  // namespace

SloEngine::SloEngine(EngineOptions options, std::vector<SloSpec> slos, PaymentsSpec payments,
                     std::shared_ptr<MetricStore> source, const Clock& clock)
    : options_(options),
      source_(std::move(source)),
      clock_(clock),
      start_mono_(clock.Monotonic()),
      start_unix_(UnixSeconds(clock.Now())) {
  const int64_t retention_ticks = std::max<int64_t>(1, options_.series_retention / options_.tick);
  EventSetOptions set_options{options_.max_groups_per_slo, retention_ticks};
  auto make_layout = [&](const std::vector<SloDuration>& windows, const std::string& where) {
    auto layout = WindowLayout::Make(options_.tick, windows, options_.buckets_per_window);
    if (!layout.ok()) throw ConfigError(where + ": " + layout.error().detail);
    return std::make_unique<WindowLayout>(std::move(layout).value());
  };
  if (payments.enabled && payments.availability_slo) slos.push_back(payments.AvailabilitySlo());
  for (auto& spec : slos) {
    for (const auto& other : slos_) {
      if (other.spec.name == spec.name) {
        throw ConfigError(spec.source + ": SLO name \"" + spec.name + "\" is also defined at " +
                          other.spec.source);
      }
    }
    Slo s;
    s.layout = make_layout(spec.Windows(), spec.source + ": SLO " + spec.name);
    std::vector<EventColumn> cols(2);
    cols[0].selector = spec.sli.events;
    cols[1].selector = spec.sli.total;
    if (spec.sli.kind == SliSpec::Kind::kLatency) cols[0].le = spec.sli.le;
    s.events = std::make_unique<EventSet>(std::move(cols), spec.sli.group_by, *s.layout,
                                          set_options, 0, start_unix_);
    for (const auto* set : {&spec.page, &spec.ticket}) {
      auto& dst = set == &spec.page ? s.page : s.ticket;
      for (const auto& b : *set) {
        dst.emplace_back(s.layout->Find(b.long_window), s.layout->Find(b.short_window));
      }
    }
    s.spec = std::move(spec);
    slos_.push_back(std::move(s));
  }
  for (const auto& s : slos_) {
    series_names_.push_back(s.spec.sli.events.metric);
    series_names_.push_back(s.spec.sli.total.metric);
  }
  for (const auto* sel :
       {&payments.attempts, &payments.success, &payments.declines, &payments.errors}) {
    if (payments.enabled && !sel->metric.empty()) series_names_.push_back(sel->metric);
  }
  if (payments.enabled) {
    payments_ = std::make_unique<Payments>();
    payments_->layout = make_layout(payments.Windows(), "slo.payments");
    std::vector<EventColumn> cols(4);
    cols[0].selector = payments.attempts;
    cols[1].selector = payments.success;
    cols[2].selector = payments.declines;
    cols[3].selector = payments.errors;
    const bool derive_declines = payments.declines.metric.empty();
    const bool derive_errors = payments.errors.metric.empty();
    EventSet::Derive derive;
    if (derive_declines || derive_errors) {
      // Whatever attempts did not succeed and is not the other kind of failure.
      derive = [derive_declines](double* d) {
        const double rest = std::max(0.0, d[0] - d[1] - (derive_declines ? d[3] : d[2]));
        (derive_declines ? d[2] : d[3]) = rest;
      };
    }
    payments_->events =
        std::make_unique<EventSet>(std::move(cols), payments.group_by, *payments_->layout,
                                   set_options, 0, start_unix_, std::move(derive));
    payments_->spec = std::move(payments);
  }
}

SloEngine::~SloEngine() { Stop(); }

int64_t SloEngine::TickNumber() const { return (clock_.Monotonic() - start_mono_) / options_.tick; }

void SloEngine::Tick() {
  const auto t0 = std::chrono::steady_clock::now();
  const MetricView view = source_ ? source_->View(series_names_) : MetricView();
  Tick(view);
  std::lock_guard lock(mu_);
  last_read_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
      last_update_seconds_;
}

void SloEngine::Tick(const MetricView& view) {
  const auto t1 = std::chrono::steady_clock::now();
  const int64_t tick = TickNumber();
  const double now = UnixSeconds(clock_.Now());
  std::lock_guard lock(mu_);
  for (auto& s : slos_) s.events->Update(view, tick, now);
  if (payments_) payments_->events->Update(view, tick, now);
  ++ticks_;
  last_update_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
}

void SloEngine::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    auto next = std::chrono::steady_clock::now() + options_.tick;
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
      if (run_cv_.wait_until(lock, next, [this] { return stopping_; })) break;
      lock.unlock();
      Tick();
      lock.lock();
      next += options_.tick;
      // After a stall, tick now and carry on from here rather than firing a burst.
      const auto now = std::chrono::steady_clock::now();
      if (next < now) next = now;
    }
  });
}

void SloEngine::Stop() {
  {
    std::lock_guard lock(run_mu_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t SloEngine::HeapBytes() const {
  std::lock_guard lock(mu_);
  size_t bytes = 0;
  for (const auto& s : slos_) bytes += s.events->HeapBytes();
  if (payments_) bytes += payments_->events->HeapBytes();
  return bytes;
}

void SloEngine::Collect(std::vector<MetricFamily>& out) {
  std::lock_guard lock(mu_);
  CollectSlos(out);
  CollectPayments(out);
  CollectSelf(out);
}

void SloEngine::CollectSlos(std::vector<MetricFamily>& out) const {
  Families f(out);
  using enum MetricType;
  for (const auto& s : slos_) {
    const SloSpec& spec = s.spec;
    const Labels base = {{"slo", spec.name}, {"service", spec.service}};
    Labels info = base;
    for (const auto& [k, v] : spec.labels) info.push_back({k, v});
    f.Add("lookout_slo_info", kGauge,
          "SLOs the engine evaluates, with the labels of their spec (value 1).", info, 1);
    f.Add("lookout_slo_objective_ratio", kGauge, "SLO objective as a ratio (0.999 for 99.9%).",
          base, spec.objective);
    f.Add("lookout_slo_period_seconds", kGauge, "SLO error-budget period.", base,
          std::chrono::duration<double>(spec.period).count());
    const auto& windows = s.layout->windows();
    const double budget = 1 - spec.objective;
    const int period_w = s.layout->Find(spec.period);
    for (const auto& gp : s.events->groups()) {
      if (!gp) continue;
      const auto& g = *gp;
      const Labels labels = GroupLabels(base, s.events->group_by(), g.values);
      // Column 0 is the good or the bad events, column 1 all events.
      auto good_of = [&](double events, double total) {
        const double good = spec.sli.events_are_bad ? total - events : events;
        return std::clamp(good, 0.0, total);
      };
      f.Add("lookout_slo_good_events_total", kCounter,
            "Good events counted by the SLO engine since the group appeared on this node "
            "(sum across nodes, then increase(), for fleet-wide ratios).",
            labels, good_of(g.windows.Total(0), g.windows.Total(1)), g.created_unix);
      f.Add("lookout_slo_events_total", kCounter,
            "All events counted by the SLO engine since the group appeared on this node.", labels,
            g.windows.Total(1), g.created_unix);
      std::vector<std::optional<double>> burn(windows.size());
      for (size_t w = 0; w < windows.size(); ++w) {
        const double total = g.windows.Sum(w, 1);
        const double good = good_of(g.windows.Sum(w, 0), total);
        const Labels wl = With(labels, "window", FormatSloDuration(windows[w].length));
        f.Add("lookout_slo_window_good_events", kGauge,
              "Good events in the window on this node (sums across nodes).", wl, good);
        f.Add("lookout_slo_window_events", kGauge,
              "All events in the window on this node (sums across nodes).", wl, total);
        if (total <= 0) continue;  // no traffic: no ratio, not NaN, not 0
        const double error_ratio = (total - good) / total;
        burn[w] = error_ratio / budget;
        f.Add("lookout_slo_error_ratio", kGauge,
              "Bad events over all events in the window; absent without events.", wl, error_ratio);
        f.Add("lookout_slo_burn_rate", kGauge,
              "Error ratio over the error budget (1 - objective); absent without events.", wl,
              *burn[w]);
      }
      if (period_w >= 0 && burn[period_w]) {
        f.Add("lookout_slo_error_budget_remaining_ratio", kGauge,
              "Share of the period's error budget left (negative when overspent); absent "
              "without events in the period.",
              labels, 1 - *burn[period_w]);
      }
      for (const auto* conds : {&s.page, &s.ticket}) {
        bool firing = false;
        for (size_t i = 0; i < conds->size(); ++i) {
          const auto [lw, sw] = (*conds)[i];
          const double factor = (conds == &s.page ? spec.page : spec.ticket)[i].burn_rate;
          firing = firing || (burn[lw] && burn[sw] && *burn[lw] > factor && *burn[sw] > factor);
        }
        f.Add("lookout_slo_alert_firing", kGauge,
              "1 when a multi-window burn-rate condition of the severity holds on this node "
              "(both its long and short window burn faster than its factor).",
              With(labels, "severity", conds == &s.page ? "page" : "ticket"), firing ? 1 : 0);
      }
    }
  }
}

void SloEngine::CollectPayments(std::vector<MetricFamily>& out) const {
  if (!payments_) return;
  Families f(out);
  using enum MetricType;
  const EventSet& set = *payments_->events;
  const auto& windows = payments_->layout->windows();
  static constexpr const char* kCounters[] = {
      "lookout_payment_attempts_total", "lookout_payment_successes_total",
      "lookout_payment_declines_total", "lookout_payment_errors_total"};
  static constexpr const char* kCounterHelp[] = {
      "Payment attempts seen by the SLO engine since the group appeared on this node.",
      "Successful payments seen by the SLO engine since the group appeared on this node.",
      "Declined payments (the customer's bank said no) since the group appeared on this node.",
      "Failed payments (our system failed) since the group appeared on this node."};
  static constexpr const char* kWindow[] = {
      "lookout_payment_window_attempts", "lookout_payment_window_successes",
      "lookout_payment_window_declines", "lookout_payment_window_errors"};
  static constexpr const char* kWindowHelp[] = {
      "Payment attempts in the window on this node.",
      "Successful payments in the window on this node.",
      "Declined payments in the window on this node.",
      "Failed payments (errors, not declines) in the window on this node."};
  for (const auto& gp : set.groups()) {
    if (!gp) continue;
    const auto& g = *gp;
    const Labels labels = GroupLabels({}, set.group_by(), g.values);
    for (int c = 0; c < 4; ++c) {
      f.Add(kCounters[c], kCounter, kCounterHelp[c], labels, g.windows.Total(c), g.created_unix);
    }
    for (size_t w = 0; w < windows.size(); ++w) {
      const Labels wl = With(labels, "window", FormatSloDuration(windows[w].length));
      double v[4];
      for (int c = 0; c < 4; ++c) {
        v[c] = g.windows.Sum(w, c);
        f.Add(kWindow[c], kGauge, kWindowHelp[c], wl, v[c]);
      }
      if (v[0] <= 0) continue;  // no attempts: no ratios
      f.Add("lookout_payment_success_ratio", kGauge,
            "Successful payments over attempts in the window; absent without attempts.", wl,
            std::min(1.0, v[1] / v[0]));
      f.Add("lookout_payment_decline_ratio", kGauge,
            "Declined payments over attempts in the window; absent without attempts.", wl,
            std::min(1.0, v[2] / v[0]));
      f.Add("lookout_payment_error_ratio", kGauge,
            "Failed payments over attempts in the window; absent without attempts.", wl,
            std::min(1.0, v[3] / v[0]));
    }
  }
}

void SloEngine::CollectSelf(std::vector<MetricFamily>& out) const {
  Families f(out);
  using enum MetricType;
  f.Add("lookout_slo_ticks_total", kCounter, "SLO engine ticks run.", {},
        static_cast<double>(ticks_));
  f.Add("lookout_slo_tick_duration_seconds", kGauge,
        "Duration of the last SLO engine tick: reading the metric store, then updating windows.",
        {{"phase", "read"}}, last_read_seconds_);
  f.Add("lookout_slo_tick_duration_seconds", kGauge, "", {{"phase", "update"}},
        last_update_seconds_);
  size_t bytes = 0;
  // Per SLO (label slo) under lookout_slo_*, and for the payments under lookout_payment_*.
  auto set_metrics = [&](const std::string& prefix, const Labels& sl, const EventSet& set,
                         const WindowLayout& l) {
    f.Add(prefix + "groups", kGauge, "Groups the SLO engine keeps windows for.", sl,
          static_cast<double>(set.group_count()));
    f.Add(prefix + "series", kGauge, "Counter series the SLO engine follows.", sl,
          static_cast<double>(set.series_count()));
    f.Add(prefix + "series_refused_total", kCounter,
          "Series not counted because their group was over slo.max_groups_per_slo.", sl,
          static_cast<double>(set.stats().refused_series));
    f.Add(prefix + "input_resets_total", kCounter,
          "Counter resets seen (a value going down, or a newer _created).", sl,
          static_cast<double>(set.stats().resets));
    for (size_t w = 0; w < l.windows().size(); ++w) {
      f.Add(prefix + "window_error_bound_seconds", kGauge,
            "Most of the oldest history a window may already have dropped (its bucket width "
            "less one tick); 0 = exact to the tick.",
            With(sl, "window", FormatSloDuration(l.windows()[w].length)),
            std::chrono::duration<double>(l.Resolution(w)).count());
    }
    bytes += set.HeapBytes();
  };
  for (const auto& s : slos_) {
    set_metrics("lookout_slo_", {{"slo", s.spec.name}}, *s.events, *s.layout);
  }
  if (payments_) set_metrics("lookout_payment_", {}, *payments_->events, *payments_->layout);
  f.Add("lookout_slo_memory_bytes", kGauge,
        "Heap bytes held by the SLO engine's windows and series state.", {},
        static_cast<double>(bytes));
}

}  // namespace lookout::slo
