// OpenSLO v1: `SLO` and `SLI` documents with a `ratioMetric` of Prometheus queries and one
// rolling `timeWindow`. What lookout cannot evaluate as written (threshold or raw SLIs,
// time-slice budgets, calendar windows, composite SLOs, other sources) is refused with the
// reason, not approximated. The queries' PromQL is read by UnwrapQuery (promql_unwrap.cc).

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "agent/common/yaml_reader.h"
#include "agent/slo/spec_parser.h"
#include "agent/slo/spec_parser_internal.h"

namespace lookout::slo::detail {
namespace {

using std::chrono::hours;

Selector OpenSloQuery(const YAML::Node& metric, const std::string& key, const std::string& file,
                      std::vector<std::string>* group_by, bool* has_group_by) {
  YamlMapReader m(metric, key, file);
  YamlMapReader src(m.Get("metricSource"), m.Key("metricSource"), file);
  std::string type;
  src.Str("type", &type);
  std::string lower = type;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower != "prometheus") {
    src.Fail(src.Get("type"), src.Key("type"), "Prometheus (the only source lookout reads)");
  }
  YamlMapReader spec(src.Get("spec"), src.Key("spec"), file);
  std::string query;
  spec.Str("query", &query);
  if (query.empty()) spec.Str("promql", &query);
  if (query.empty()) spec.Fail(src.Get("spec"), spec.path(), "a query (spec.query)");
  auto q = UnwrapQuery(query);
  if (!q.ok()) spec.Fail(spec.Get("query"), spec.Key("query"), q.error().detail);
  if (q->has_group_by) {
    if (*has_group_by && *group_by != q->group_by) {
      spec.Fail(spec.Get("query"), spec.Key("query"),
                "the same sum by (...) labels as the other query of this SLI");
    }
    *group_by = q->group_by;
    *has_group_by = true;
  }
  return q->selector;
}

void ParseOpenSloSli(const YAML::Node& sli_spec, const std::string& key, const std::string& file,
                     SliSpec& sli) {
  YamlMapReader r(sli_spec, key, file);
  if (r.Get("thresholdMetric").IsDefined()) {
    r.Fail(r.Get("thresholdMetric"), r.Key("thresholdMetric"),
           "a ratioMetric (threshold SLIs are not supported)");
  }
  YAML::Node ratio = r.Get("ratioMetric");
  if (!ratio.IsMap()) r.Fail(sli_spec, r.Key("ratioMetric"), "a ratioMetric (missing)");
  YamlMapReader q(ratio, r.Key("ratioMetric"), file);
  bool counter = true;
  q.Bool("counter", &counter);
  if (!counter) {
    q.Fail(q.Get("counter"), q.Key("counter"), "true (lookout reads counters)");
  }
  if (q.Get("rawType").IsDefined() || q.Get("raw").IsDefined()) {
    q.Fail(ratio, q.path(), "good or bad with total (raw ratios are not supported)");
  }
  YAML::Node good = q.Get("good"), bad = q.Get("bad"), total = q.Get("total");
  if (good.IsDefined() == bad.IsDefined() || !total.IsDefined()) {
    q.Fail(ratio, q.path(), "exactly one of good and bad, and total");
  }
  bool has_group_by = false;
  sli.kind = SliSpec::Kind::kRatio;
  sli.events_are_bad = bad.IsDefined();
  sli.events =
      OpenSloQuery(sli.events_are_bad ? bad : good, q.Key(sli.events_are_bad ? "bad" : "good"),
                   file, &sli.group_by, &has_group_by);
  sli.total = OpenSloQuery(total, q.Key("total"), file, &sli.group_by, &has_group_by);
  for (const auto& l : sli.group_by) {
    if (IsReservedSloLabel(l)) {
      q.Fail(ratio, q.path(), "sum by labels other than slo, service, window, severity");
    }
  }
  sli.description =
      std::string("openslo ratioMetric: ") + (sli.events_are_bad ? "bad" : "good") + " / total";
}

SloDuration OpenSloDuration(YamlMapReader& r, std::string_view key) {
  YAML::Node v = r.Get(key);
  const std::string s = v.IsScalar() ? v.Scalar() : "";
  // OpenSLO: <number><unit> with m, h, d, w (M, Q, Y are calendar units we cannot roll).
  if (s.size() >= 2) {
    const char unit = s.back();
    auto n = ParseI64(std::string_view(s).substr(0, s.size() - 1));
    const int64_t unit_ms = unit == 'm'   ? 60'000
                            : unit == 'h' ? 3'600'000
                            : unit == 'd' ? 86'400'000
                            : unit == 'w' ? 7 * 86'400'000LL
                                          : 0;
    if (n && *n > 0 && unit_ms > 0 && *n <= 400LL * 86'400'000 / unit_ms) {
      return SloDuration(*n * unit_ms);
    }
  }
  r.Fail(v, r.Key(key), "a rolling duration like 28d, 4w or 720h (m, h, d, w)");
}

}  // namespace

void OpenSloDocuments::Add(const YAML::Node& doc, const std::string& file) {
  YamlMapReader r(doc, "", file);
  std::string kind;
  r.Str("kind", &kind);
  YAML::Node meta = r.Get("metadata");
  YamlMapReader m(meta, "metadata", file);
  std::string name;
  m.Str("name", &name);
  if (name.empty()) m.Fail(meta, "metadata.name", "a name (missing)");
  if (kind == "SLI") {
    if (!slis_.emplace(name, std::pair{doc, file}).second) {
      r.Fail(meta, "metadata.name", "a unique SLI name (\"" + name + "\" is defined twice)");
    }
  } else if (kind == "SLO") {
    slos_.emplace_back(doc, file);
  } else if (kind == "Service" || kind == "AlertPolicy" || kind == "AlertCondition" ||
             kind == "AlertNotificationTarget" || kind == "DataSource") {
    return;  // valid OpenSLO, nothing for the engine
  } else {
    r.Fail(r.Get("kind"), "kind", "SLO, SLI, Service, AlertPolicy, ... (OpenSLO v1 kinds)");
  }
}

SloSpec OpenSloDocuments::ParseSlo(const YAML::Node& doc, const std::string& file) const {
  SloSpec s;
  YamlMapReader r(doc, "", file);
  YamlMapReader meta(r.Get("metadata"), "metadata", file);
  meta.Str("name", &s.name);
  if (!IsValidSloName(s.name)) {
    meta.Fail(meta.Get("name"), "metadata.name", "a name of letters, digits, - _ . (up to 128)");
  }
  std::string display;
  meta.Str("displayName", &display);
  if (YAML::Node l = meta.Get("labels"); l.IsMap()) {
    for (auto it = l.begin(); it != l.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!IsValidLabelName(name) || IsReservedSloLabel(name)) {
        meta.Fail(it->first, "metadata.labels", "label names (not slo, service, ...)");
      }
      std::string value;
      if (it->second.IsScalar()) {
        value = it->second.Scalar();
      } else if (it->second.IsSequence()) {
        const YAML::Node seq = it->second;  // iterating it->second would dangle
        for (const auto& v : seq) {
          if (!value.empty()) value += ",";
          value += v.IsScalar() ? v.Scalar() : "";
        }
      }
      s.labels.emplace_back(name, value);
    }
  }
  YamlMapReader spec(r.Get("spec"), "spec", file);
  spec.Str("service", &s.service);
  if (s.service.empty()) s.service = s.name;
  spec.Str("description", &s.description);
  if (s.description.empty()) s.description = display;
  std::string budgeting = "Occurrences";
  spec.Str("budgetingMethod", &budgeting);
  if (budgeting != "Occurrences") {
    spec.Fail(spec.Get("budgetingMethod"), "spec.budgetingMethod",
              "Occurrences (time-slice budgets are not supported)");
  }
  // Window: the first (only) rolling timeWindow.
  s.period = hours(24 * 30);
  if (YAML::Node tw = spec.Get("timeWindow"); tw.IsDefined()) {
    if (!tw.IsSequence() || tw.size() != 1) {
      spec.Fail(tw, "spec.timeWindow", "a list of one {duration, isRolling: true}");
    }
    YamlMapReader w(tw[0], "spec.timeWindow[0]", file);
    s.period = OpenSloDuration(w, "duration");
    bool rolling = false;
    w.Bool("isRolling", &rolling);
    if (!rolling) {
      w.Fail(w.Get("isRolling"), w.Key("isRolling"),
             "true (calendar-aligned windows are not supported)");
    }
  }
  YAML::Node objectives = spec.Get("objectives");
  if (!objectives.IsSequence() || objectives.size() != 1) {
    spec.Fail(objectives, "spec.objectives", "a list of exactly one objective");
  }
  {
    YamlMapReader o(objectives[0], "spec.objectives[0]", file);
    if (o.Get("indicator").IsDefined() || o.Get("indicatorRef").IsDefined()) {
      o.Fail(objectives[0], o.path(),
             "an objective without its own indicator "
             "(composite SLOs are not supported)");
    }
    double target = 0, percent = 0;
    o.DoubleBetween("target", &target, 0, 1);
    o.DoubleBetween("targetPercent", &percent, 0, 100);
    if ((target == 0) == (percent == 0)) {
      o.Fail(objectives[0], o.path(),
             "target (greater than 0 and less than 1) or "
             "targetPercent (greater than 0 and less than 100)");
    }
    s.objective = target != 0 ? target : PercentToRatio(percent);
  }
  YAML::Node inline_sli = spec.Get("indicator");
  std::string ref;
  spec.Str("indicatorRef", &ref);
  if (inline_sli.IsDefined() == !ref.empty()) {
    spec.Fail(doc["spec"], "spec", "exactly one of indicator and indicatorRef");
  }
  if (inline_sli.IsDefined()) {
    YamlMapReader i(inline_sli, "spec.indicator", file);
    ParseOpenSloSli(i.Get("spec"), "spec.indicator.spec", file, s.sli);
  } else {
    auto it = slis_.find(ref);
    if (it == slis_.end()) {
      spec.Fail(spec.Get("indicatorRef"), "spec.indicatorRef",
                "the name of an SLI document (\"" + ref + "\" is not defined)");
    }
    const auto& [sli_doc, sli_file] = it->second;
    ParseOpenSloSli(sli_doc["spec"], "spec", sli_file, s.sli);
  }
  s.page = DefaultPageWindows();
  s.ticket = DefaultTicketWindows();
  return s;
}

}  // namespace lookout::slo::detail
