// lookout's own SLO spec format (the `slos:` list documented in spec_parser.h): one list entry
// into an SloSpec, strictly (an unknown key is an error), every error with file:line:column.

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "agent/common/yaml_reader.h"
#include "agent/slo/spec_parser.h"
#include "agent/slo/spec_parser_internal.h"

namespace lookout::slo::detail {
namespace {

using std::chrono::hours;

void ReadGroupBy(YamlMapReader& r, std::vector<std::string>* out) {
  YAML::Node v = r.Get("group_by");
  r.StrList("group_by", out);
  for (const auto& l : *out) {
    if (!IsValidLabelName(l) || IsReservedSloLabel(l)) {
      r.Fail(v, r.Key("group_by"),
             "label names (not slo, service, window, severity, le or quantile)");
    }
  }
}

Selector ReadSelector(YamlMapReader& r, std::string_view key, bool required) {
  Selector sel;
  if (!r.SelectorValue(key, &sel)) {
    if (required) r.Fail(YAML::Node(), r.Key(key), "a metric selector (missing)");
    return {};
  }
  if (sel.metric.empty()) r.Fail(r.Get(key), r.Key(key), "a metric selector string");
  return sel;
}

std::vector<BurnRateWindow> ReadWindows(YamlMapReader& r, std::string_view key,
                                        std::vector<BurnRateWindow> dflt, const std::string& file) {
  YAML::Node v = r.Get(key);
  if (!v.IsDefined()) return dflt;
  if (v.IsNull()) return {};
  if (!v.IsSequence()) r.Fail(v, r.Key(key), "a list of {long, short, burn_rate}");
  std::vector<BurnRateWindow> out;
  for (size_t i = 0; i < v.size(); ++i) {
    YamlMapReader w(v[i], r.Key(key) + "[" + std::to_string(i) + "]", file);
    if (!v[i].IsMap()) w.Fail(v[i], w.path(), "a mapping {long, short, burn_rate}");
    BurnRateWindow b;
    w.Dur("long", &b.long_window, Duration(1000), Duration(400 * 86'400'000LL));
    w.Dur("short", &b.short_window, Duration(1000), Duration(400 * 86'400'000LL));
    w.Double("burn_rate", &b.burn_rate, 1e-9, 1e9);
    if (b.long_window.count() == 0 || b.short_window.count() == 0 || b.burn_rate == 0) {
      w.Fail(v[i], w.path(), "long, short and burn_rate all set");
    }
    if (b.short_window >= b.long_window) {
      w.Fail(w.Get("short"), w.Key("short"), "a window shorter than long");
    }
    w.Done();
    out.push_back(b);
  }
  return out;
}

void ParseNativeSli(YamlMapReader r, SloSpec& s, const std::string& file) {
  SliSpec& sli = s.sli;
  int kinds = 0;
  if (YAML::Node n = r.Get("ratio"); n.IsDefined()) {
    ++kinds;
    YamlMapReader q(n, r.Key("ratio"), file);
    Selector good = ReadSelector(q, "good", false);
    Selector bad = ReadSelector(q, "bad", false);
    if (good.metric.empty() == bad.metric.empty()) {
      q.Fail(n, q.path(), "exactly one of good and bad, and total");
    }
    sli.kind = SliSpec::Kind::kRatio;
    sli.events_are_bad = !bad.metric.empty();
    sli.events = sli.events_are_bad ? std::move(bad) : std::move(good);
    sli.total = ReadSelector(q, "total", true);
    ReadGroupBy(q, &sli.group_by);
    q.Done();
    sli.description = std::string(sli.events_are_bad ? "bad" : "good") + " / total";
  }
  if (YAML::Node n = r.Get("latency"); n.IsDefined()) {
    ++kinds;
    YamlMapReader q(n, r.Key("latency"), file);
    Selector h = ReadSelector(q, "histogram", true);
    for (const auto& m : h.matchers) {
      if (m.name() == "le")
        q.Fail(q.Get("histogram"), q.Key("histogram"), "no le matcher (use le:)");
    }
    double le = 0;
    q.Double("le", &le, 1e-12, 1e300);
    if (le == 0) q.Fail(n, q.Key("le"), "the bucket bound, e.g. 0.3 (missing)");
    sli.kind = SliSpec::Kind::kLatency;
    sli.events = h;
    sli.events.metric = h.metric + "_bucket";
    sli.total = h;
    sli.total.metric = h.metric + "_count";
    sli.le = le;
    sli.events_are_bad = false;
    ReadGroupBy(q, &sli.group_by);
    q.Done();
    sli.description = "latency: " + h.metric + " le " + YamlNumber(le);
  }
  if (YAML::Node n = r.Get("span_metrics"); n.IsDefined()) {
    ++kinds;
    YamlMapReader q(n, r.Key("span_metrics"), file);
    std::string service = s.service, span_name, span_kind, metric = kSpanMetricsCallsMetric;
    q.Str("service", &service);
    q.Str("span_name", &span_name);
    q.Str("span_kind", &span_kind);
    q.Str("metric", &metric);
    if (!IsValidMetricName(metric)) q.Fail(q.Get("metric"), q.Key("metric"), "a metric name");
    if (!span_kind.empty() && !span_kind.starts_with("SPAN_KIND_")) {
      span_kind = "SPAN_KIND_" + span_kind;
    }
    static const std::set<std::string> kKinds = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                                 "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                                 "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    if (!span_kind.empty() && !kKinds.count(span_kind)) {
      q.Fail(q.Get("span_kind"), q.Key("span_kind"),
             "SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER");
    }
    ReadGroupBy(q, &sli.group_by);
    q.Done();
    Selector total;
    total.metric = metric;
    auto add = [&](const char* label, const std::string& value) {
      auto m = LabelMatcher::Make(label, LabelMatcher::Op::kEqual, value);
      total.matchers.push_back(std::move(m).value());
    };
    add("service_name", service);
    if (!span_name.empty()) add("span_name", span_name);
    if (!span_kind.empty()) add("span_kind", span_kind);
    sli.kind = SliSpec::Kind::kRatio;
    sli.total = total;
    sli.events = total;
    sli.events.matchers.push_back(
        LabelMatcher::Make("status_code", LabelMatcher::Op::kEqual, kSpanStatusError).value());
    sli.events_are_bad = true;
    sli.description = "span_metrics: service_name=" + service;
  }
  if (kinds != 1) r.Fail(r.Get("ratio"), r.path(), "exactly one of ratio, latency, span_metrics");
  r.Done();
}

}  // namespace

SloSpec ParseLookoutSlo(const YAML::Node& n, const std::string& path, const std::string& file) {
  YamlMapReader r(n, path, file);
  if (!n.IsMap()) r.Fail(n, path, "a mapping with name, objective and sli");
  SloSpec s;
  r.Str("name", &s.name);
  if (!IsValidSloName(s.name)) {
    r.Fail(r.Get("name"), r.Key("name"), "a name of letters, digits, - _ . (up to 128)");
  }
  r.Str("service", &s.service);
  if (s.service.empty()) s.service = s.name;
  r.Str("description", &s.description);
  double percent = 0;
  r.DoubleBetween("objective", &percent, 0, 100);
  if (percent == 0) r.Fail(r.Get("objective"), r.Key("objective"), "a percentage like 99.9");
  s.objective = PercentToRatio(percent);
  s.period = hours(24 * 30);
  r.Dur("period", &s.period, Duration(60'000), Duration(400 * 86'400'000LL));
  if (YAML::Node l = r.Get("labels"); l.IsDefined() && !l.IsNull()) {
    if (!l.IsMap()) r.Fail(l, r.Key("labels"), "a mapping of label names to values");
    for (auto it = l.begin(); it != l.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!IsValidLabelName(name) || IsReservedSloLabel(name) || !it->second.IsScalar()) {
        r.Fail(it->first, r.Key("labels"), "label_name: value pairs (not slo, service, ...)");
      }
      s.labels.emplace_back(name, it->second.Scalar());
    }
  }
  YAML::Node sli = r.Get("sli");
  if (!sli.IsDefined()) r.Fail(n, r.Key("sli"), "an sli (missing)");
  ParseNativeSli(YamlMapReader(sli, r.Key("sli"), file), s, file);
  YamlMapReader a(r.Get("alerting"), r.Key("alerting"), file);
  s.page = ReadWindows(a, "page", DefaultPageWindows(), file);
  s.ticket = ReadWindows(a, "ticket", DefaultTicketWindows(), file);
  a.Int("min_bad_events", &s.min_bad_events, 0, int64_t{1} << 40);
  a.Done();
  r.Done();
  return s;
}

}  // namespace lookout::slo::detail
