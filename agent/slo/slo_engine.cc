#include "agent/slo/slo_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "agent/common/config_error.h"
#include "agent/common/log.h"
#include "agent/slo/state_codec.h"
#include "agent/slo/state_file.h"

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

// The state file's fingerprint of an event set: what it counts (the selectors, le, how bad
// events are told, the grouping) and how (the tick and every window's length and buckets).
// Objectives, alert factors, labels and descriptions change no count, so they are left out:
// tuning them keeps the history.
void AppendSelector(std::string& s, const Selector& sel) {
  s += sel.metric;
  s += '{';
  for (const auto& m : sel.matchers) {
    s += m.name();
    s += "=!~^"[static_cast<int>(m.op())];
    s += m.value();
    s += '\x1f';
  }
  s += '}';
}

uint64_t Fingerprint(const std::string& kind, const std::vector<const Selector*>& selectors,
                     const std::string& extra, const std::vector<std::string>& group_by,
                     const WindowLayout& layout) {
  std::string s = kind + "|";
  for (const Selector* sel : selectors) AppendSelector(s, *sel);
  s += "|" + extra + "|";
  for (const auto& g : group_by) s += g + ",";
  s += "|tick=" + std::to_string(layout.tick().count());
  for (const auto& w : layout.windows()) {
    s += "|" + std::to_string(w.length.count()) + ":" + std::to_string(w.buckets);
  }
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits: stable across builds and runs
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

constexpr std::string_view kPaymentsSet = "payments";

}  // namespace

SloEngine::SloEngine(EngineOptions options, std::vector<SloSpec> slos, PaymentsSpec payments,
                     std::shared_ptr<MetricViewSource> source, const Clock& clock)
    : options_(std::move(options)),
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
        throw ConfigError(fmt::format("{}: SLO name \"{}\" is also defined at {}", spec.source,
                                      spec.name, other.spec.source));
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
    char le[32];
    std::snprintf(le, sizeof le, "%.17g", spec.sli.le);
    s.state.fingerprint = Fingerprint("slo", {&spec.sli.events, &spec.sli.total},
                                      std::to_string(static_cast<int>(spec.sli.kind)) + "," +
                                          (spec.sli.events_are_bad ? "bad" : "good") + "," + le,
                                      spec.sli.group_by, *s.layout);
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
    payments_->state.fingerprint = Fingerprint(
        "payments", {&payments.attempts, &payments.success, &payments.declines, &payments.errors},
        "", payments.group_by, *payments_->layout);
    payments_->spec = std::move(payments);
  }
  if (!options_.state.directory.empty()) {
    auto dir = StateDirectory::Open(options_.state.directory);
    if (!dir.ok()) throw std::runtime_error("slo.state.directory: " + dir.error().detail);
    state_dir_ = std::move(dir).value();
    RestoreState();
  }
}

// Stop() throws only where the engine cannot go on (joining, allocating): std::terminate then.
SloEngine::~SloEngine() { Stop(); }  // NOLINT(bugprone-exception-escape)

int64_t SloEngine::TickNumber() const {
  return tick_base_ + (clock_.Monotonic() - start_mono_) / options_.tick;
}

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
    auto last_save = std::chrono::steady_clock::now();
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
      if (run_cv_.wait_until(lock, next, [this] { return stopping_; })) break;
      lock.unlock();
      Tick();
      if (state_dir_ &&
          std::chrono::steady_clock::now() - last_save >= options_.state.save_interval) {
        SaveState();
        last_save = std::chrono::steady_clock::now();
      }
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
    if (stopped_) return;
    stopped_ = stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (state_dir_) SaveState();
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
  CollectState(out);
}

// Payload: node name, save time (unix seconds), engine tick, then per event set its kind ("slo"
// or "payments"), name, fingerprint and EventSet::Save bytes (length-prefixed, so a set this
// agent no longer has is skipped).
std::string SloEngine::EncodeState() const {
  // Sized once and each set written in place: the state is tens of megabytes at 10,000 groups,
  // and regrowing or copying it is most of a save's CPU (BM_StateSave).
  size_t size = 4 + options_.state.node_name.size() + 8 + 8 + 4;
  for (const auto& s : slos_)
    size += 4 + 3 + 4 + s.spec.name.size() + 8 + 4 + s.events->SavedBytes();
  if (payments_) size += 2 * (4 + kPaymentsSet.size()) + 8 + 4 + payments_->events->SavedBytes();
  StateWriter w;
  w.Reserve(size);
  w.PutString(options_.state.node_name);
  w.Put<double>(UnixSeconds(clock_.Now()));
  w.Put<int64_t>(TickNumber());
  w.Put<uint32_t>(static_cast<uint32_t>(slos_.size() + (payments_ ? 1 : 0)));
  auto put_set = [&](std::string_view kind, std::string_view name, const Restore& state,
                     const EventSet& set) {
    w.PutString(kind);
    w.PutString(name);
    w.Put<uint64_t>(state.fingerprint);
    const size_t length_at = w.Placeholder32();  // the body, as a length-prefixed string
    set.Save(w);
    w.Patch32(length_at, static_cast<uint32_t>(w.size() - length_at - 4));
  };
  for (const auto& s : slos_) put_set("slo", s.spec.name, s.state, *s.events);
  if (payments_) put_set(kPaymentsSet, kPaymentsSet, payments_->state, *payments_->events);
  return std::move(w.bytes());
}

void SloEngine::SaveState() {
  if (!state_dir_) return;
  std::lock_guard save_lock(save_mu_);
  const auto t0 = std::chrono::steady_clock::now();
  std::string payload;
  {
    std::lock_guard lock(mu_);
    payload = EncodeState();
  }
  auto written = state_dir_->Save(payload);  // disk I/O outside the engine's lock
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard lock(mu_);
  last_save_seconds_ = secs;
  if (written.ok()) {
    ++saves_ok_;
    state_bytes_ = *written;
  } else {
    ++saves_failed_;
    Log(LogLevel::kWarn, "slo state not saved",
        {{"path", state_dir_->path()}, {"err", written.error().detail}});
  }
}

void SloEngine::RestoreState() {
  std::vector<Restore*> all;
  for (auto& s : slos_) all.push_back(&s.state);
  if (payments_) all.push_back(&payments_->state);
  auto refuse_all = [&](const std::string& reason, const std::string& detail) {
    for (Restore* r : all) ++r->refused[reason];
    Log(LogLevel::kWarn, "slo state refused, every SLO starts fresh",
        {{"path", state_dir_->path()}, {"reason", reason}, {"err", detail}});
  };
  auto loaded = state_dir_->Load(options_.state.max_bytes);
  if (!loaded.ok()) return refuse_all(loaded.error().reason, loaded.error().detail);
  if (loaded->empty()) {
    Log(LogLevel::kInfo, "no slo state yet", {{"path", state_dir_->path()}});
    return;
  }
  StateReader r(*loaded);
  std::string node;
  double saved_unix = 0;
  int64_t saved_tick = 0;
  uint32_t sets = 0;
  if (!r.GetString(&node, 1024) || !r.Get(&saved_unix) || !r.Get(&saved_tick) ||
      !r.GetCount(&sets, 16) || !std::isfinite(saved_unix) || saved_tick < 0 ||
      saved_tick > int64_t{UINT32_MAX} / 2) {
    return refuse_all("corrupt", "bad payload header");
  }
  if (!node.empty() && !options_.state.node_name.empty() && node != options_.state.node_name) {
    return refuse_all("node", "written by node " + node + ", this is " + options_.state.node_name);
  }
  // The downtime, in whole ticks (at least one, so restored ticks and new ones never meet).
  const double now = UnixSeconds(clock_.Now());
  const double gap = std::max(0.0, now - saved_unix);
  // At most 2^29 ticks (17 years at the 1 s tick, 1.7 at the smallest, 100 ms): every window is
  // long past by then, and a clock decades off (a node that booted at 1970 before NTP) or a
  // forged timestamp must not overflow the conversion (found by fuzz.slo_state under clang).
  // 2^29 also keeps the next save's tick under the 2^31 that the load check above accepts,
  // unless the saved tick was already past 2^30 (three years of ticks at 100 ms).
  constexpr double kMaxGapTicks = double{1 << 29};
  const double ticks = gap / std::chrono::duration<double>(options_.tick).count();
  const int64_t gap_ticks =
      std::max<int64_t>(1, static_cast<int64_t>(std::min(ticks, kMaxGapTicks)));
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, std::string>> found;
  for (uint32_t i = 0; i < sets; ++i) {
    std::string kind, name, body;
    uint64_t fingerprint = 0;
    if (!r.GetString(&kind, 64) || !r.GetString(&name, 4096) || !r.Get(&fingerprint) ||
        !r.GetString(&body, r.left())) {
      return refuse_all("corrupt", "bad set record");
    }
    found[{kind, name}] = {fingerprint, std::move(body)};
  }
  auto restore = [&](std::string_view kind, const std::string& name, Restore& state,
                     EventSet& set) {
    auto it = found.find({std::string(kind), name});
    if (it == found.end()) return;  // new since the file was written: fresh, nothing refused
    const char* reason = nullptr;
    if (it->second.first != state.fingerprint) {
      reason = "spec_changed";
    } else {
      StateReader body(it->second.second);
      if (!set.Restore(body, saved_tick) || body.left() != 0) reason = "corrupt";
    }
    if (reason != nullptr) {
      ++state.refused[reason];
      Log(LogLevel::kWarn, "slo state refused, starting fresh",
          {{"set", std::string(kind)}, {"name", name}, {"reason", reason}});
      return;
    }
    state.restored = true;
  };
  for (auto& s : slos_) restore("slo", s.spec.name, s.state, *s.events);
  if (payments_)
    restore(kPaymentsSet, std::string(kPaymentsSet), payments_->state, *payments_->events);
  tick_base_ = saved_tick + gap_ticks;
  state_gap_seconds_ = gap;
  for (auto& s : slos_) {
    if (s.state.restored) s.events->Resume(tick_base_);
  }
  if (payments_ && payments_->state.restored) payments_->events->Resume(tick_base_);
  size_t restored = 0;
  for (const Restore* r : all) restored += r->restored ? 1 : 0;
  Log(LogLevel::kInfo, "slo state restored",
      {{"path", state_dir_->path()},
       {"restored", std::to_string(restored)},
       {"of", std::to_string(all.size())},
       {"gap_seconds", std::to_string(gap)}});
}

void SloEngine::CollectState(std::vector<MetricFamily>& out) const {
  if (!state_dir_) return;
  Families f(out);
  using enum MetricType;
  f.Add("lookout_slo_state_saves_total", kCounter,
        "State file saves (slo.state.directory), by result.", {{"result", "ok"}},
        static_cast<double>(saves_ok_));
  f.Add("lookout_slo_state_saves_total", kCounter, "", {{"result", "error"}},
        static_cast<double>(saves_failed_));
  f.Add("lookout_slo_state_save_duration_seconds", kGauge,
        "Duration of the last state save: encoding under the engine's lock, writing, fsync.", {},
        last_save_seconds_);
  f.Add("lookout_slo_state_bytes", kGauge, "Size of the last state file written.", {},
        static_cast<double>(state_bytes_));
  f.Add("lookout_slo_state_gap_seconds", kGauge,
        "Downtime accounted at start-up: from the restored file's save to this start (its "
        "counters' increases were spread over it).",
        {}, state_gap_seconds_);
  auto add = [&](const std::string& prefix, const Labels& l, const Restore& st) {
    f.Add(prefix + "state_restored", kGauge,
          "1 if this set's windows and counter readings came from the state file at start-up, "
          "0 if it started fresh.",
          l, st.restored ? 1 : 0);
    for (const auto& [reason, n] : st.refused) {
      f.Add(prefix + "state_refused_total", kCounter,
            "Start-ups where the state file could not restore this set, by reason: corrupt, "
            "truncated, too_large, version, node, spec_changed, io.",
            With(l, "reason", reason), static_cast<double>(n));
    }
  };
  for (const auto& s : slos_) add("lookout_slo_", {{"slo", s.spec.name}}, s.state);
  if (payments_) add("lookout_payment_", {}, payments_->state);
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
          // The low-traffic guard: enough bad events in the long window to mean something.
          const double total = g.windows.Sum(lw, 1);
          const double bad = total - good_of(g.windows.Sum(lw, 0), total);
          firing = firing || (burn[lw] && burn[sw] && *burn[lw] > factor && *burn[sw] > factor &&
                              bad >= static_cast<double>(spec.min_bad_events));
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
