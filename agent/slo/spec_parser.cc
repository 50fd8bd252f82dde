#include "agent/slo/spec_parser.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "agent/common/file_util.h"
#include "agent/common/yaml_reader.h"

namespace lookout::slo {
namespace {

using std::chrono::hours;

// 99.9 -> 0.999 exactly as written (99.9 / 100 would be 0.9990000000000001): percentages are
// rounded to 10 decimals first.
double PercentToRatio(double percent) { return std::round(percent * 1e10) / 1e12; }

constexpr size_t kMaxSpecFileBytes = 16 << 20;

bool IsValidSloName(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Index of the parenthesis closing the one at `open`, skipping quoted strings; npos if none.
size_t FindClose(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\' && c != '`') ++i;
      }
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

bool ConsumeWord(std::string& s, std::string_view word) {
  if (!s.starts_with(word)) return false;
  const std::string rest = Trim(std::string_view(s).substr(word.size()));
  if (rest.empty() || rest[0] != '(') {
    if (!(s.size() > word.size() && std::isspace(static_cast<unsigned char>(s[word.size()])))) {
      return false;
    }
  }
  s = rest;
  return true;
}

// "(a, b)" at the start of s -> labels; the rest stays in s.
Result<std::vector<std::string>> ConsumeLabelList(std::string& s) {
  if (s.empty() || s[0] != '(') return MakeError("query", "expected ( after by");
  const size_t close = s.find(')');
  if (close == std::string::npos) return MakeError("query", "unclosed by (...)");
  std::vector<std::string> labels;
  std::string_view list = std::string_view(s).substr(1, close - 1);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string l = Trim(list.substr(0, comma));
    if (!l.empty()) {
      if (!IsValidLabelName(l)) return MakeError("query", "invalid label name \"" + l + "\"");
      labels.push_back(std::move(l));
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  s = Trim(std::string_view(s).substr(close + 1));
  return labels;
}

}  // namespace

bool IsReservedSloLabel(std::string_view n) {
  return n == "slo" || n == "service" || n == "window" || n == "severity" || n == "le" ||
         n == "quantile";
}

Result<UnwrappedQuery> UnwrapQuery(std::string_view query) {
  auto refuse = [&](const std::string& why) -> Error {
    return MakeError("query", why + " in \"" + std::string(query) +
                                  "\": lookout evaluates a selector, optionally in rate(), "
                                  "increase() or irate(), optionally in sum or sum by (...)");
  };
  UnwrappedQuery out;
  std::string s = Trim(query);
  if (ConsumeWord(s, "sum")) {
    if (ConsumeWord(s, "by")) {
      auto labels = ConsumeLabelList(s);
      if (!labels.ok()) return refuse(labels.error().detail);
      out.group_by = std::move(labels).value();
      out.has_group_by = true;
    } else if (s.starts_with("without")) {
      return refuse("sum without (...) is not supported");
    }
    if (s.empty() || s[0] != '(') return refuse("expected ( after sum");
    const size_t close = FindClose(s, 0);
    if (close == std::string::npos) return refuse("unbalanced parentheses");
    std::string rest = Trim(std::string_view(s).substr(close + 1));
    s = Trim(std::string_view(s).substr(1, close - 1));
    if (!rest.empty()) {
      if (out.has_group_by || !ConsumeWord(rest, "by")) return refuse("unexpected text after sum");
      auto labels = ConsumeLabelList(rest);
      if (!labels.ok()) return refuse(labels.error().detail);
      if (!rest.empty()) return refuse("unexpected text after by (...)");
      out.group_by = std::move(labels).value();
      out.has_group_by = true;
    }
  }
  for (std::string_view fn : {"increase", "irate", "rate"}) {
    if (!ConsumeWord(s, fn)) continue;
    if (s.empty() || s[0] != '(') return refuse("expected ( after " + std::string(fn));
    const size_t close = FindClose(s, 0);
    if (close == std::string::npos || !Trim(std::string_view(s).substr(close + 1)).empty()) {
      return refuse("unbalanced parentheses");
    }
    std::string inner = Trim(std::string_view(s).substr(1, close - 1));
    const size_t range = inner.rfind('[');
    if (range == std::string::npos || inner.back() != ']') return refuse("expected a [range]");
    s = Trim(std::string_view(inner).substr(0, range));
    break;
  }
  auto sel = ParseSelector(s);
  if (!sel.ok()) return refuse(sel.error().detail);
  out.selector = std::move(sel).value();
  return out;
}

namespace {

// Collects SLOs from any number of documents, then resolves OpenSLO indicatorRefs.
class SpecCollector {
 public:
  void AddDocument(const YAML::Node& doc, const std::string& file) {
    if (!doc.IsDefined() || doc.IsNull()) return;
    YamlMapReader r(doc, "", file);
    if (!doc.IsMap()) r.Fail(doc, "", "a mapping (lookout slos: or an OpenSLO document)");
    if (YAML::Node api = doc["apiVersion"]; api.IsDefined()) {
      if (!api.IsScalar() || api.Scalar() != "openslo/v1") {
        r.Fail(api, "apiVersion", "openslo/v1 (other OpenSLO versions are not supported)");
      }
      AddOpenSlo(doc, file);
      return;
    }
    std::string version = "lookout/v1";
    r.Str("version", &version);
    if (version != "lookout/v1") r.Fail(r.Get("version"), "version", "lookout/v1");
    YAML::Node slos = r.Get("slos");
    r.Done();
    if (!slos.IsDefined() || slos.IsNull()) return;
    if (!slos.IsSequence()) r.Fail(slos, "slos", "a list of SLOs");
    for (size_t i = 0; i < slos.size(); ++i) {
      Add(ParseNative(slos[i], "slos[" + std::to_string(i) + "]", file), slos[i], file);
    }
  }

  std::vector<SloSpec> Finish() {
    for (auto& [node, file] : openslo_slos_) Add(ParseOpenSlo(node, file), node, file);
    return std::move(specs_);
  }

 private:
  void Add(SloSpec spec, const YAML::Node& at, const std::string& file) {
    if (!names_.insert(spec.name).second) {
      throw ConfigError(YamlWhere(file, at.Mark()) + ": SLO name \"" + spec.name +
                        "\" is defined twice");
    }
    spec.source = YamlWhere(file, at.Mark());
    specs_.push_back(std::move(spec));
  }

  static void ReadGroupBy(YamlMapReader& r, std::vector<std::string>* out) {
    YAML::Node v = r.Get("group_by");
    r.StrList("group_by", out);
    for (const auto& l : *out) {
      if (!IsValidLabelName(l) || IsReservedSloLabel(l)) {
        r.Fail(v, r.Key("group_by"),
               "label names (not slo, service, window, severity, le or quantile)");
      }
    }
  }

  static Selector ReadSelector(YamlMapReader& r, std::string_view key, bool required) {
    Selector sel;
    if (!r.SelectorValue(key, &sel)) {
      if (required) r.Fail(YAML::Node(), r.Key(key), "a metric selector (missing)");
      return {};
    }
    if (sel.metric.empty()) r.Fail(r.Get(key), r.Key(key), "a metric selector string");
    return sel;
  }

  static std::vector<BurnRateWindow> ReadWindows(YamlMapReader& r, std::string_view key,
                                                 std::vector<BurnRateWindow> dflt,
                                                 const std::string& file) {
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

  static SloSpec ParseNative(const YAML::Node& n, const std::string& path,
                             const std::string& file) {
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

  static void ParseNativeSli(YamlMapReader r, SloSpec& s, const std::string& file) {
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

  // --- OpenSLO v1 ----------------------------------------------------------------------------

  void AddOpenSlo(const YAML::Node& doc, const std::string& file) {
    YamlMapReader r(doc, "", file);
    std::string kind;
    r.Str("kind", &kind);
    YAML::Node meta = r.Get("metadata");
    YamlMapReader m(meta, "metadata", file);
    std::string name;
    m.Str("name", &name);
    if (name.empty()) m.Fail(meta, "metadata.name", "a name (missing)");
    if (kind == "SLI") {
      if (!openslo_slis_.emplace(name, std::pair{doc, file}).second) {
        r.Fail(meta, "metadata.name", "a unique SLI name (\"" + name + "\" is defined twice)");
      }
    } else if (kind == "SLO") {
      openslo_slos_.emplace_back(doc, file);
    } else if (kind == "Service" || kind == "AlertPolicy" || kind == "AlertCondition" ||
               kind == "AlertNotificationTarget" || kind == "DataSource") {
      return;  // valid OpenSLO, nothing for the engine
    } else {
      r.Fail(r.Get("kind"), "kind", "SLO, SLI, Service, AlertPolicy, ... (OpenSLO v1 kinds)");
    }
  }

  static Selector OpenSloQuery(const YAML::Node& metric, const std::string& key,
                               const std::string& file, std::vector<std::string>* group_by,
                               bool* has_group_by) {
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

  static SloDuration OpenSloDuration(YamlMapReader& r, std::string_view key) {
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

  SloSpec ParseOpenSlo(const YAML::Node& doc, const std::string& file) {
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
      auto it = openslo_slis_.find(ref);
      if (it == openslo_slis_.end()) {
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

  std::vector<SloSpec> specs_;
  std::set<std::string> names_;
  std::vector<std::pair<YAML::Node, std::string>> openslo_slos_;
  std::map<std::string, std::pair<YAML::Node, std::string>> openslo_slis_;
};

// Counts documents without building nodes. yaml-cpp 0.7's LoadAll never returns on some
// malformed input (",x:" makes its parser yield empty documents forever without consuming
// anything; found by fuzz.slo_specs), so the documents are counted first, with a cap.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

constexpr size_t kMaxDocuments = 10000;

std::vector<YAML::Node> LoadDocuments(const std::string& text, const std::string& file) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    for (size_t docs = 0; parser.HandleNextDocument(counter);) {
      if (++docs > kMaxDocuments) {
        throw ConfigError(file + ": more than " + std::to_string(kMaxDocuments) +
                          " YAML documents (or input the YAML parser cannot get past)");
      }
    }
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(YamlWhere(file, e.mark) + ": invalid YAML: " + e.msg);
  }
}

}  // namespace

std::vector<SloSpec> ParseSloSpecs(const std::string& yaml_text, const std::string& source_name) {
  SpecCollector c;
  for (const auto& doc : LoadDocuments(yaml_text, source_name)) c.AddDocument(doc, source_name);
  return c.Finish();
}

std::vector<SloSpec> LoadSloSpecs(const std::string& path) {
  std::vector<std::string> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
    }
    if (ec) throw ConfigError(path + ": cannot list SLO specs: " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  SpecCollector c;
  for (const auto& f : files) {
    auto text = ReadFileLimited(f, kMaxSpecFileBytes);
    if (!text.ok()) throw ConfigError(f + ": cannot read SLO specs: " + text.error().detail);
    for (const auto& doc : LoadDocuments(*text, f)) c.AddDocument(doc, f);
  }
  return c.Finish();
}

}  // namespace lookout::slo
