#include "lookout/metrics/metric_view.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

#include "agent/common/number_format.h"
#include "agent/common/pattern.h"

namespace lookout {

Result<LabelMatcher> LabelMatcher::Make(std::string name, Op op, std::string value) {
  if (!IsValidLabelName(name) && name != "__name__") {
    return MakeError("selector", "invalid label name \"" + name + "\"");
  }
  LabelMatcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  if (op == Op::kRegexMatch || op == Op::kRegexNoMatch) {
    // Anchored like PromQL (Prometheus 2.42: "^(?:" + value + ")$"): the whole value must match.
    auto re = std::make_shared<const RE2>("^(?:" + value + ")$", GoRegexOptions());
    if (!re->ok()) {
      return MakeError("selector", "invalid regular expression \"" + value + "\": " + re->error());
    }
    m.re_ = std::move(re);
  }
  m.value_ = std::move(value);
  return m;
}

bool LabelMatcher::Matches(std::string_view v) const {
  switch (op_) {
    case Op::kEqual:
      return v == value_;
    case Op::kNotEqual:
      return v != value_;
    case Op::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case Op::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

}  // namespace

Result<Selector> ParseSelector(std::string_view t) {
  size_t i = 0;
  auto fail = [&](const std::string& what) -> Error {
    return MakeError("selector", fmt::format("at {} in \"{}\": {}", i, t, what));
  };
  auto skip = [&] {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n')) ++i;
  };
  Selector s;
  skip();
  const size_t start = i;
  while (i < t.size() && IsNameChar(t[i], i == start)) ++i;
  s.metric = std::string(t.substr(start, i - start));
  if (s.metric.empty()) return fail("expected a metric name");
  skip();
  if (i < t.size() && t[i] == '{') {
    ++i;
    while (true) {
      skip();
      if (i < t.size() && t[i] == '}') {
        ++i;
        break;
      }
      const size_t ls = i;
      while (i < t.size() && IsNameChar(t[i], i == ls) && t[i] != ':') ++i;
      std::string lname(t.substr(ls, i - ls));
      if (lname.empty()) return fail("expected a label name");
      skip();
      LabelMatcher::Op op;
      if (t.substr(i, 2) == "=~") {
        op = LabelMatcher::Op::kRegexMatch;
        i += 2;
      } else if (t.substr(i, 2) == "!~") {
        op = LabelMatcher::Op::kRegexNoMatch;
        i += 2;
      } else if (t.substr(i, 2) == "!=") {
        op = LabelMatcher::Op::kNotEqual;
        i += 2;
      } else if (t.substr(i, 1) == "=") {
        op = LabelMatcher::Op::kEqual;
        i += 1;
      } else {
        return fail("expected =, !=, =~ or !~");
      }
      skip();
      if (i >= t.size() || (t[i] != '"' && t[i] != '\'')) return fail("expected a quoted value");
      const char quote = t[i++];
      std::string value;
      while (i < t.size() && t[i] != quote) {
        if (t[i] == '\\' && i + 1 < t.size()) {
          const char e = t[i + 1];
          value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          i += 2;
          continue;
        }
        value += t[i++];
      }
      if (i >= t.size()) return fail("unterminated string");
      ++i;
      auto m = LabelMatcher::Make(std::move(lname), op, std::move(value));
      if (!m.ok()) return fail(m.error().detail);
      s.matchers.push_back(std::move(m).value());
      skip();
      if (i < t.size() && t[i] == ',') {
        ++i;
      } else if (i >= t.size() || t[i] != '}') {
        return fail("expected , or }");
      }
    }
  }
  skip();
  if (i != t.size()) return fail("unexpected text after the selector");
  return s;
}

MetricView::MetricView(std::vector<MetricFamily> families)
    : MetricView(
          {{std::make_shared<const std::vector<MetricFamily>>(std::move(families)), nullptr}},
          [](std::string_view) { return true; }) {}

MetricView::MetricView(std::vector<SharedFamilies> shared,
                       const std::function<bool(std::string_view)>& wanted)
    : shared_(std::move(shared)) {
  // The SLO tick builds one of these over every scraped target's families (10,000 families
  // for 1,000 pods of 10 counters): each distinct name and type is judged once (wanted, its
  // by_name_ entries); its other families then cost one lookup and an append per entry.
  // Families of one name with different types (an untyped scrape and an OTLP counter) are all
  // indexed, each by its own type's series names: PromQL selects series whatever their TYPE.
  struct Name {
    bool wanted = false;
    int n = 0;  // entries filled: 1 (value) or 3 (_bucket/_sum/_count, quantile/_sum/_count)
    std::array<std::vector<std::pair<size_t, Part>>*, 3> entries{};
    std::array<Part, 3> parts{};
  };
  struct Key {
    std::string_view name;
    MetricType type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>{}(k.name) ^ static_cast<size_t>(k.type);
    }
  };
  std::unordered_map<Key, Name, KeyHash> names;
  for (const SharedFamilies& s : shared_) {
    if (!s.families) continue;
    for (const MetricFamily& f : *s.families) {
      auto [it, inserted] = names.try_emplace(Key{f.name, f.type});
      Name& n = it->second;
      if (inserted) {
        n.wanted = wanted(f.name);
        if (!n.wanted) continue;
        auto add = [&](std::string series, Part p) {
          n.entries[n.n] = &by_name_[std::move(series)];  // nodes: the address is stable
          n.parts[n.n++] = p;
        };
        switch (f.type) {
          case MetricType::kHistogram:
            add(f.name + "_bucket", Part::kBucket);
            add(f.name + "_sum", Part::kSum);
            add(f.name + "_count", Part::kCount);
            break;
          case MetricType::kSummary:
            add(f.name, Part::kQuantile);
            add(f.name + "_sum", Part::kSum);
            add(f.name + "_count", Part::kCount);
            break;
          default:
            add(f.name, Part::kValue);
        }
      }
      if (!n.wanted) continue;
      const size_t i = families_.size();
      families_.push_back({&f, s.target_labels.get()});
      for (int k = 0; k < n.n; ++k) n.entries[k]->emplace_back(i, n.parts[k]);
    }
  }
}

bool MetricView::Matches(std::string_view metric, const std::vector<LabelMatcher>& matchers,
                         const Labels& labels, const Labels* target_labels,
                         std::string_view extra_name, double extra_value) {
  std::string extra;  // the le / quantile value as exposed (0.1, +Inf), formatted only if asked
  for (const auto& m : matchers) {
    std::string_view v;
    if (m.name() == "__name__") {
      v = metric;
    } else if (!extra_name.empty() && m.name() == extra_name) {
      if (extra.empty()) AppendBoundLabel(extra, extra_value);
      v = extra;
    } else {
      v = SeriesRef{labels, 0, std::nullopt, 0, 0, target_labels}.Label(m.name());
    }
    if (!m.Matches(v)) return false;
  }
  return true;
}

std::vector<SeriesPoint> MetricView::Select(std::string_view metric,
                                            const std::vector<LabelMatcher>& matchers) const {
  std::vector<SeriesPoint> out;
  std::string bound;
  ForEach(metric, matchers, [&](const SeriesRef& r) {
    SeriesPoint p{r.labels, r.value};
    if (r.target_labels) {
      p.labels.insert(p.labels.end(), r.target_labels->begin(), r.target_labels->end());
    }
    if (!std::isnan(r.le) || !std::isnan(r.quantile)) {
      bound.clear();
      AppendBoundLabel(bound, std::isnan(r.le) ? r.quantile : r.le);
      p.labels.push_back({std::isnan(r.le) ? "quantile" : "le", bound});
    }
    out.push_back(std::move(p));
  });
  return out;
}

void MetricViewSource::Add(std::weak_ptr<Collectable> c) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(c));
}

MetricView MetricViewSource::View(const std::vector<std::string>& series_names) const {
  // A series name's family is itself (counters keep _total, gauges, summaries' quantiles) or,
  // for _bucket / _count / _sum, the histogram or summary it belongs to.
  std::set<std::string, std::less<>> families;
  for (const auto& n : series_names) {
    families.insert(n);
    for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
      if (n.size() > suffix.size() && std::string_view(n).ends_with(suffix)) {
        families.insert(n.substr(0, n.size() - suffix.size()));
      }
    }
  }
  auto wanted = [&](std::string_view name) { return families.count(name) > 0; };
  std::vector<SharedFamilies> shared;
  for (const auto& c : Live()) c->ShareSome(wanted, shared);
  return MetricView(std::move(shared), wanted);
}

MetricView MetricViewSource::View() const {
  std::vector<MetricFamily> families;
  std::vector<std::shared_ptr<const CompactFamilies>> compact;
  for (const auto& c : Live()) {
    c->Collect(families);
    c->CollectCompact(compact);
  }
  for (const auto& c : compact) {
    for (size_t i = 0; i < c->family_count(); ++i) families.push_back(c->ExpandFamily(i));
  }
  return MetricView(std::move(families));
}

std::vector<std::shared_ptr<Collectable>> MetricViewSource::Live() const {
  std::vector<std::shared_ptr<Collectable>> live;
  std::lock_guard lock(mu_);
  std::erase_if(sources_, [](const auto& w) { return w.expired(); });
  for (const auto& w : sources_) {
    if (auto s = w.lock()) live.push_back(std::move(s));
  }
  return live;
}

}  // namespace lookout
