#include "agent/slo/slo_options.h"

#include <cmath>

#include "lookout/metrics/metric.h"

namespace lookout {
namespace {

// A payments counter selector; `allow_empty`: "" means derived.
Option<PaymentsSpec> SelectorOption(std::string key, Selector PaymentsSpec::*member,
                                    bool allow_empty, std::string dflt, std::string doc) {
  return option::Custom<PaymentsSpec>(
      std::move(key), std::move(dflt), allow_empty ? "selector or \"\"" : "selector",
      std::move(doc), [member, allow_empty](YamlMapReader& r, std::string_view k, PaymentsSpec& p) {
        if (r.SelectorValue(k, &(p.*member)) && !allow_empty && (p.*member).metric.empty()) {
          r.Fail(r.Get(k), r.Key(k), "a metric selector like payment_attempts_total");
        }
      });
}

const OptionTable<PaymentsSpec>& PaymentsOptionTable() {
  using P = PaymentsSpec;
  static const OptionTable<P> kTable{{
      option::Bool<P>("enabled", &P::enabled, "true", "payment success ratios (see SLOs)"),
      SelectorOption("attempts", &P::attempts, false, "payment_attempts_total",
                     "counter of payment attempts (`name{label=\"v\"}` allowed)"),
      SelectorOption("success", &P::success, false, "payment_success_total",
                     "counter of successful payments"),
      SelectorOption("declines", &P::declines, true, "payment_declines_total",
                     "counter of declines; `\"\"` = attempts − success − errors"),
      SelectorOption("errors", &P::errors, true, "payment_errors_total",
                     "counter of errors; `\"\"` = attempts − success − declines"),
      option::Custom<P>(
          "group_by", "[provider, method]", "list of label names",
          "labels the payments are split by",
          [](YamlMapReader& r, std::string_view k, P& p) {
            YAML::Node gb = r.Get(k);
            r.StrList(k, &p.group_by);
            for (const auto& l : p.group_by) {
              if (!IsValidLabelName(l) || l == "window" || l == "slo" || l == "service") {
                r.Fail(gb, r.Key(k), "label names other than window, slo and service");
              }
            }
          }),
      option::Dur<P>("period", &P::period, Duration(60'000), Duration(400 * 86'400'000LL), "30d",
                     "the longest window"),
      option::Bool<P>("availability_slo.enabled", &P::availability_slo, "true",
                      "a ready-made SLO: bad = errors, total = attempts (declines are the "
                      "customer's bank, not failures)"),
      option::Str<P>("availability_slo.name", &P::availability_name, "payment-availability",
                     "its name (the `slo` label)"),
      option::Custom<P>("availability_slo.objective", "99.9", "0 < x < 100",
                        "its objective, percent",
                        [](YamlMapReader& r, std::string_view k, P& p) {
                          double percent = p.availability_objective * 100;
                          r.DoubleBetween(k, &percent, 0, 100);
                          // 99.9 -> 0.999 exactly
                          p.availability_objective = std::round(percent * 1e10) / 1e12;
                        }),
      option::Int<P>("availability_slo.min_bad_events", &P::availability_min_bad_events, 0,
                     int64_t{1} << 40, "10",
                     "its burn alerts need this many errors in the long window"),
  }};
  return kTable;
}

}  // namespace

const OptionTable<SloOptions>& SloOptionTable() {
  using O = SloOptions;
  using S = O::State;
  static const OptionTable<O> kTable = [] {
    OptionTable<O> t{{
        option::Bool<O>("enabled", &O::enabled, "true", "run the SLO engine (see SLOs below)"),
        option::Str<O>("specs", &O::specs, "",
                       "SLO spec file or directory (`*.yaml`, `*.yml`): lookout format and/or "
                       "OpenSLO v1; loaded and checked at start-up (`--config.check` too)"),
        option::Dur<O>("tick", &O::tick, Duration(100), Duration(3'600'000), "10s",
                       "counters are read and windows advance this often; every window must be "
                       "a whole number of ticks"),
        option::Int<O>("buckets_per_window", &O::buckets_per_window, 1, 10'000, "48",
                       "buckets per window at most (the largest divisor of the window's ticks "
                       "not above it); the error bound is one bucket"),
        option::Int<O>("max_groups_per_slo", &O::max_groups_per_slo, 1, 1'000'000, "1000",
                       "series of further groups are refused "
                       "(`lookout_slo_series_refused_total`)"),
        option::Dur<O>("series_retention", &O::series_retention, Duration(0),
                       Duration(7 * 86'400'000LL), "15m",
                       "a series that vanished keeps its last value this long, so a failed "
                       "scrape or a restarting pod loses no events"),
    }};
    OptionTable<S> state{{
        option::Str<S>("directory", &S::directory, "",
                       "where the windows and counter readings survive restarts (see [SLO "
                       "state across restarts](#slo-state-across-restarts)); `\"\"` = off "
                       "(every start is fresh); deploy/ sets `/var/lib/lookout/slo`"),
        option::Dur<S>("save_interval", &S::save_interval, Duration(1000), Duration(86'400'000),
                       "1m", "how often the state is saved (and at shutdown)"),
        option::Int<S>("max_bytes", &S::max_bytes, 4096, int64_t{1} << 40, "268435456",
                       "a larger state file is refused unread (fresh start, counted)"),
    }};
    AppendOptions(t, option::Nest<O>("state", &O::state, state));
    AppendOptions(t, option::Nest<O>("payments", &O::payments, PaymentsOptionTable()));
    t.check = [](YamlMapReader& r, O& o) {
      PaymentsSpec& p = o.payments;
      YamlMapReader m(r.Get("payments"), r.Key("payments"), r.file());
      if (p.declines.metric.empty() && p.errors.metric.empty()) {
        m.Fail(m.Get("errors"), m.Key("errors"),
               "a selector (declines and errors cannot both be derived)");
      }
      if (p.availability_slo && p.errors.metric.empty()) {
        m.Fail(m.Get("errors"), m.Key("errors"),
               "a selector: the availability SLO counts errors (availability_slo.enabled: false "
               "to derive them)");
      }
      p.page = DefaultPageWindows();
      p.ticket = DefaultTicketWindows();
      if (!o.enabled) return;
      for (const SloDuration w : p.Windows()) {
        if (w.count() % o.tick.count() != 0) {
          r.Fail(r.Get("tick"), r.Key("tick"),
                 "a tick that divides every window (" + FormatSloDuration(w) + " does not)");
        }
      }
    };
    return t;
  }();
  return kTable;
}

}  // namespace lookout
