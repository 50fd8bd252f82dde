#include "agent/collectors/app/exposition_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "agent/common/hash.h"
#include "agent/common/utf8.h"

namespace lookout::app {
namespace {

// What a sample line's name means for the family it belongs to.
enum class Role : uint8_t { kValue, kCreated, kBucket, kSum, kCount, kQuantile };

// Parts seen for a histogram/summary series, to fill or drop incomplete ones at the end.
enum Part : uint8_t { kHasSum = 1, kHasCount = 2, kHasInf = 4 };

// Heterogeneous lookup: find by string_view without building a std::string per line.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Series identity: a 64-bit hash of the sorted label set → index into the family's samples.
// Open addressing, linear probing, grown at half load: one flat array instead of a node and a
// key string per series (the 100k-series scrape spent most of its time in the string-keyed
// map). Two label sets with one 64-bit hash would be taken for one series: ~3e-10 odds at 100k
// series, the same trade Prometheus makes with its series hashes.
class SeriesIndex {
 public:
  // Returns {index, inserted}.
  // Room for n series without growing (one rehash instead of a dozen for a big family).
  void Reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    if (cap > slots_.size()) Grow(cap);
  }

  std::pair<uint32_t, bool> FindOrInsert(uint64_t hash, uint32_t next_index) {
    if ((size_ + 1) * 2 > slots_.size()) Grow(slots_.empty() ? 16 : slots_.size() * 2);
    size_t i = Spread(hash) & (slots_.size() - 1);
    while (true) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        slot = {hash, next_index, true};
        ++size_;
        return {next_index, true};
      }
      if (slot.hash == hash) return {slot.index, false};
      i = (i + 1) & (slots_.size() - 1);
    }
  }

 private:
  // The low bits that pick the slot must depend on every bit of the hash.
  static uint64_t Spread(uint64_t h) { return MixBits(h); }
  struct Slot {
    uint64_t hash = 0;
    uint32_t index = 0;
    bool used = false;
  };
  void Grow(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.used) FindOrInsert(s.hash, s.index);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

uint64_t Mix(uint64_t h, std::string_view s) {
  h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

struct FamilyState {
  bool typed = false;  // a TYPE line was seen
  bool om_counter = false;
  SeriesIndex series;
  std::vector<uint8_t> parts;  // per sample, histogram/summary only
};

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Go's ParseFloat spellings Prometheus accepts: [+-]digits, exponents, Inf/Infinity, NaN.
bool ParseDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
    if (s.empty() || s[0] == '+' || s[0] == '-') return false;
  }
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) {
    // from_chars reports out-of-range for 1e999; Go gives ±Inf, so do we.
    if (ec == std::errc::result_out_of_range && p == s.data() + s.size()) {
      out = std::numeric_limits<double>::infinity();
    } else {
      return false;
    }
  }
  if (neg) out = -out;
  return true;
}

class Parser {
 public:
  Parser(std::string_view body, ExpositionFormat format, const ParseOptions& options,
         std::vector<MetricFamily> recycled)
      : body_(body),
        om_(format == ExpositionFormat::kOpenMetrics),
        opt_(options),
        recycled_(std::move(recycled)) {}

  Result<std::vector<MetricFamily>> Run(ParseStats* stats) {
    total_lines_ = static_cast<size_t>(std::count(body_.begin(), body_.end(), '\n'));
    size_t pos = 0;
    bool eof_seen = false;
    while (pos < body_.size()) {
      size_t end = body_.find('\n', pos);
      if (end == std::string_view::npos) end = body_.size();
      std::string_view line = body_.substr(pos, end - pos);
      pos = end + 1;
      ++line_no_;
      if (eof_seen) return Fail("parse", "content after # EOF");
      if (!om_) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
          line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
          line.remove_prefix(1);
        if (line.empty()) continue;
      } else if (line.empty()) {
        return Fail("parse", "empty line");
      }
      Status st = line[0] == '#' ? Comment(line, eof_seen) : SampleLine(line);
      if (!st.ok()) return st.error();
    }
    if (om_ && !eof_seen) return MakeError("truncated", "OpenMetrics body without # EOF");
    Finish();
    if (stats != nullptr) *stats = stats_;
    return std::move(families_);
  }

 private:
  Error Fail(std::string reason, std::string_view what) const {
    return MakeError(std::move(reason),
                     "line " + std::to_string(line_no_) + ": " + std::string(what));
  }

  // "# HELP", "# TYPE", "# UNIT", "# EOF"; other comments are ignored.
  Status Comment(std::string_view line, bool& eof_seen) {
    std::string_view rest = line.substr(1);
    if (om_ && rest == " EOF") {
      eof_seen = true;
      return Ok{};
    }
    while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1);
    std::string_view keyword;
    if (rest.starts_with("HELP ") || rest.starts_with("TYPE ") || rest.starts_with("UNIT ")) {
      keyword = rest.substr(0, 4);
      rest.remove_prefix(5);
    } else {
      return Ok{};  // a plain comment
    }
    while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1);
    size_t n = 0;
    while (n < rest.size() && IsNameChar(rest[n])) ++n;
    const std::string_view name = rest.substr(0, n);
    if (name.empty() || !IsNameStart(name[0])) return Fail("parse", "bad metric name in comment");
    rest.remove_prefix(n);
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t') {
      return Fail("parse", "bad metric name in comment");
    }
    if (!rest.empty()) rest.remove_prefix(1);
    if (keyword == "HELP") return Help(name, rest);
    if (keyword == "UNIT") {
      const size_t idx = FamilyFor(name);
      families_[idx].unit = std::string(rest);
      return Ok{};
    }
    return Type(name, rest);
  }

  Status Help(std::string_view name, std::string_view text) {
    std::string help;
    help.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char e = text[i + 1];
        if (e == 'n') {
          help += '\n';
          ++i;
          continue;
        }
        if (e == '\\' || (om_ && e == '"')) {
          help += e;
          ++i;
          continue;
        }
      }
      help += text[i];
    }
    if (!ValidUtf8(help)) return Fail("parse", "HELP is not UTF-8");
    families_[FamilyFor(name)].help = std::move(help);
    return Ok{};
  }

  Status Type(std::string_view name, std::string_view type_text) {
    while (!type_text.empty() && (type_text.back() == ' ' || type_text.back() == '\t'))
      type_text.remove_suffix(1);
    MetricType type;
    bool gauge_histogram = false;
    if (type_text == "counter") {
      type = MetricType::kCounter;
    } else if (type_text == "gauge" || (om_ && type_text == "stateset")) {
      type = MetricType::kGauge;
    } else if (type_text == "histogram") {
      type = MetricType::kHistogram;
    } else if (type_text == "summary") {
      type = MetricType::kSummary;
    } else if (type_text == "untyped" || (om_ && type_text == "unknown")) {
      type = MetricType::kUntyped;
    } else if (om_ && type_text == "info") {
      type = MetricType::kInfo;
    } else if (om_ && type_text == "gaugehistogram") {
      // No such type in the model: its _bucket/_gcount/_gsum lines pass through as untyped.
      type = MetricType::kUntyped;
      gauge_histogram = true;
    } else {
      return Fail("parse", "unknown TYPE \"" + std::string(type_text) + "\"");
    }
    const size_t idx = FamilyFor(name);
    FamilyState& st = states_[idx];
    MetricFamily& f = families_[idx];
    if (st.typed) {
      if (f.type != type) return Fail("parse", "second TYPE line for " + std::string(name));
      return Ok{};
    }
    if (!f.samples.empty()) return Fail("parse", "TYPE after samples of " + std::string(name));
    st.typed = true;
    f.type = type;
    if (gauge_histogram) {
      Unregister(name);
      return Ok{};
    }
    const std::string base(name);
    bool ok = true;
    switch (type) {
      case MetricType::kCounter:
        if (om_) {
          // OpenMetrics names the family without _total; the model keeps the sample name.
          Unregister(name);
          ok = Register(base + "_total", idx, Role::kValue) &&
               Register(base + "_created", idx, Role::kCreated);
          f.name = base + "_total";
          st.om_counter = true;
        }
        break;
      case MetricType::kInfo:
        Unregister(name);
        ok = Register(base + "_info", idx, Role::kValue);
        f.name = base + "_info";
        break;
      case MetricType::kHistogram:
        Unregister(name);
        ok = Register(base + "_bucket", idx, Role::kBucket) &&
             Register(base + "_sum", idx, Role::kSum) &&
             Register(base + "_count", idx, Role::kCount) &&
             (!om_ || Register(base + "_created", idx, Role::kCreated));
        break;
      case MetricType::kSummary:
        ok = Register(base, idx, Role::kQuantile) && Register(base + "_sum", idx, Role::kSum) &&
             Register(base + "_count", idx, Role::kCount) &&
             (!om_ || Register(base + "_created", idx, Role::kCreated));
        break;
      default:
        break;
    }
    if (!ok) return Fail("parse", "TYPE of " + base + " conflicts with earlier samples");
    return Ok{};
  }

  // False if the name already belongs to another family (e.g. `i_info` seen as a sample before
  // `# TYPE i info`): two families with one name would make the re-exposure invalid.
  bool Register(std::string sample_name, size_t idx, Role role) {
    last_name_ = {};
    auto [it, inserted] =
        by_sample_.try_emplace(std::move(sample_name), static_cast<uint32_t>(idx), role);
    if (!inserted && it->second.first != idx) return false;
    it->second = {static_cast<uint32_t>(idx), role};
    return true;
  }
  void Unregister(std::string_view sample_name) {
    last_name_ = {};
    if (auto it = by_sample_.find(sample_name); it != by_sample_.end()) {
      by_sample_.erase(it);
    }
  }

  // The family a HELP/TYPE/UNIT line names, created untyped on first mention.
  size_t FamilyFor(std::string_view name) {
    if (auto it = by_comment_name_.find(name); it != by_comment_name_.end()) {
      return it->second;
    }
    const size_t idx = NewFamily(name);
    by_comment_name_.emplace(std::string(name), idx);
    Register(std::string(name), idx, Role::kValue);
    return idx;
  }

  size_t NewFamily(std::string_view name) {
    const size_t idx = families_.size();
    families_.emplace_back();
    states_.emplace_back();
    MetricFamily& f = families_.back();
    if (idx < recycled_.size()) {
      // The earlier result's family at this position lends its samples (see Store()).
      sample_pools_.push_back(std::move(recycled_[idx].samples));
      f.samples.reserve(sample_pools_.back().size());
      states_.back().series.Reserve(sample_pools_.back().size());
    } else {
      sample_pools_.emplace_back();
    }
    f.name = std::string(name);
    return idx;
  }

  Status SampleLine(std::string_view line) {
    if (++stats_.samples > opt_.limits.max_samples) {
      return Fail("sample_limit",
                  "more than " + std::to_string(opt_.limits.max_samples) + " samples");
    }
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    const std::string_view name = line.substr(0, i);
    if (name.empty() || !IsNameStart(name[0])) return Fail("parse", "bad metric name");
    nlabels_ = 0;
    has_special_ = false;
    if (i < line.size() && line[i] == '{') {
      ++i;
      if (Status st = Labels(line, i, labels_, /*exemplar=*/false, nlabels_); !st.ok()) return st;
    }
    // value
    if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) {
      return Fail("parse", "expected a value after the series");
    }
    SkipSpace(line, i);
    std::string_view value_text = Token(line, i);
    double value = 0;
    if (!ParseDouble(value_text, value)) return Fail("parse", "bad value");
    std::optional<int64_t> ts_ms;
    SkipSpace(line, i);
    if (i < line.size() && line[i] != '#') {
      std::string_view ts_text = Token(line, i);
      if (om_) {
        double ts = 0;
        if (!ParseDouble(ts_text, ts) || !std::isfinite(ts)) return Fail("parse", "bad timestamp");
        ts_ms = static_cast<int64_t>(std::llround(ts * 1000.0));
      } else {
        int64_t t = 0;
        const auto [p, ec] = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), t);
        if (ec != std::errc() || p != ts_text.data() + ts_text.size()) {
          return Fail("parse", "bad timestamp");
        }
        ts_ms = t;
      }
      SkipSpace(line, i);
    }
    std::optional<Exemplar> exemplar;
    if (i < line.size()) {
      if (!om_ || line[i] != '#') return Fail("parse", "unexpected text after the value");
      if (Status st = ParseExemplar(line, i, exemplar); !st.ok()) return st;
    }
    return Store(name, value, ts_ms, std::move(exemplar));
  }

  static void SkipSpace(std::string_view line, size_t& i) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  }
  static std::string_view Token(std::string_view line, size_t& i) {
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    return line.substr(start, i - start);
  }

  // `# {a="b"} 1.5 [ts]` after a sample's value (OpenMetrics).
  Status ParseExemplar(std::string_view line, size_t& i, std::optional<Exemplar>& out) {
    ++i;  // '#'
    SkipSpace(line, i);
    if (i >= line.size() || line[i] != '{') return Fail("parse", "bad exemplar");
    ++i;
    Exemplar e;
    size_t n = 0;
    if (Status st = Labels(line, i, e.labels, /*exemplar=*/true, n); !st.ok()) return st;
    e.labels.resize(n);
    size_t runes = 0;
    for (const auto& l : e.labels) runes += l.name.size() + l.value.size();
    if (runes > 128) return Fail("parse", "exemplar labels longer than 128 characters");
    SkipSpace(line, i);
    if (!ParseDouble(Token(line, i), e.value)) return Fail("parse", "bad exemplar value");
    SkipSpace(line, i);
    if (i < line.size()) {
      double ts = 0;
      if (!ParseDouble(Token(line, i), ts)) return Fail("parse", "bad exemplar timestamp");
      e.timestamp = ts;
      SkipSpace(line, i);
    }
    if (i < line.size()) return Fail("parse", "unexpected text after the exemplar");
    out = std::move(e);
    return Ok{};
  }

  // Parses `a="x",b="y"}` starting after '{'. `le` and `quantile` go to special_ for
  // samples; exemplars keep every label.
  Status Labels(std::string_view line, size_t& i, lookout::Labels& out, bool exemplar,
                size_t& count) {
    while (true) {
      SkipSpace(line, i);
      if (i >= line.size()) return Fail("parse", "unterminated label set");
      if (line[i] == '}') {
        ++i;
        return Ok{};
      }
      const size_t start = i;
      while (i < line.size() && IsNameChar(line[i])) ++i;
      const std::string_view lname = line.substr(start, i - start);
      if (lname.empty() || (lname[0] >= '0' && lname[0] <= '9') || lname.find(':') != lname.npos) {
        return Fail("parse", "bad label name");
      }
      if (lname.size() > opt_.limits.max_label_name_length) {
        return Fail("label_length",
                    "label name longer than " + std::to_string(opt_.limits.max_label_name_length));
      }
      SkipSpace(line, i);
      if (i >= line.size() || line[i] != '=') return Fail("parse", "expected '=' after label");
      ++i;
      SkipSpace(line, i);
      if (i >= line.size() || line[i] != '"') return Fail("parse", "expected '\"'");
      ++i;
      // Fast path: no escapes until the closing quote.
      const size_t vstart = i;
      bool escaped = false;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          escaped = true;
          i += 2;
          continue;
        }
        ++i;
      }
      if (i >= line.size()) return Fail("parse", "unterminated label value");
      std::string_view raw = line.substr(vstart, i - vstart);
      ++i;                          // closing quote
      std::string& value = value_;  // scratch: keeps its capacity from line to line
      value.clear();
      if (!escaped) {
        value.assign(raw);
      } else {
        for (size_t k = 0; k < raw.size(); ++k) {
          if (raw[k] != '\\') {
            value += raw[k];
            continue;
          }
          const char e = raw[++k];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            return Fail("parse", "bad escape in label value");
          }
        }
      }
      if (value.size() > opt_.limits.max_label_value_length) {
        return Fail("label_length", "label value longer than " +
                                        std::to_string(opt_.limits.max_label_value_length));
      }
      if (!ValidUtf8(value)) return Fail("parse", "label value is not UTF-8");
      if (!exemplar && !has_special_ && (lname == "le" || lname == "quantile")) {
        // Kept aside: it only becomes a bucket/quantile when the family says so.
        special_name_.assign(lname);
        special_.assign(value);
        has_special_ = true;
      } else {
        if (count + 1 + opt_.target_labels.size() > opt_.limits.max_labels) {
          return Fail("label_limit",
                      "more than " + std::to_string(opt_.limits.max_labels) + " labels");
        }
        // Slots past `count` are left from earlier lines: assigning reuses their capacity.
        Label& slot = count < out.size() ? out[count] : out.emplace_back();
        slot.name.assign(lname);
        slot.value.assign(value);
        ++count;
      }
      SkipSpace(line, i);
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        return Fail("parse", "expected ',' or '}' in label set");
      }
    }
  }

  Status Store(std::string_view name, double value, std::optional<int64_t> ts_ms,
               std::optional<Exemplar> exemplar) {
    uint32_t idx;
    Role role;
    if (!last_name_.empty() && name == last_name_) {
      // Lines of one series name come in runs: skip the hash lookup.
      idx = last_idx_;
      role = last_role_;
    } else if (auto it = by_sample_.find(name); it != by_sample_.end()) {
      idx = it->second.first;
      role = it->second.second;
      last_name_ = name;
      last_idx_ = idx;
      last_role_ = role;
    } else if (by_comment_name_.contains(name)) {
      // e.g. a bare `foo` line under `# TYPE foo histogram`: it fits no part of the family.
      return Fail("parse", std::string(name) + " does not fit the type of its family");
    } else {
      // A sample without TYPE: an untyped family of its own (Prometheus does the same).
      idx = static_cast<uint32_t>(NewFamily(name));
      role = Role::kValue;
      Register(std::string(name), idx, role);
      by_comment_name_.emplace(std::string(name), idx);
    }
    MetricFamily& f = families_[idx];
    FamilyState& st = states_[idx];
    // le/quantile is a real label unless this line is a bucket/quantile.
    const bool wants_special = (role == Role::kBucket && f.type == MetricType::kHistogram) ||
                               (role == Role::kQuantile && f.type == MetricType::kSummary);
    if (has_special_ && !wants_special &&
        ((f.type == MetricType::kHistogram && special_name_ == "le") ||
         (f.type == MetricType::kSummary && special_name_ == "quantile"))) {
      // e.g. h_count{le="1"}: the family's own special label on a line that has none.
      return Fail("parse", std::string(name) + " has a " + special_name_ + " label");
    }
    if (has_special_ && !wants_special) {
      Label& slot = nlabels_ < labels_.size() ? labels_[nlabels_] : labels_.emplace_back();
      slot.name.assign(special_name_);
      slot.value.assign(special_);
      ++nlabels_;
      has_special_ = false;
    }
    if (wants_special &&
        (!has_special_ || special_name_ != (role == Role::kBucket ? "le" : "quantile"))) {
      return Fail("parse", std::string(name) + " without its " +
                               (role == Role::kBucket ? "le" : "quantile") + " label");
    }
    const auto labels_end = labels_.begin() + static_cast<ptrdiff_t>(nlabels_);
    std::sort(labels_.begin(), labels_end,
              [](const Label& a, const Label& b) { return a.name < b.name; });
    // Duplicate label names are invalid (Prometheus refuses them too); a second le/quantile
    // would otherwise become an ordinary label and re-expose as h_sum{le=...}.
    for (auto it = labels_.begin(); it != labels_end; ++it) {
      if ((it + 1 != labels_end && it->name == (it + 1)->name) ||
          (has_special_ && it->name == special_name_)) {
        return Fail("parse", std::string(name) + " has the label " + it->name + " twice");
      }
    }
    uint64_t hash = 0x84222325cbf29ce4ULL;
    for (auto it = labels_.begin(); it != labels_end; ++it) {
      const Label& l = *it;
      hash = Mix(hash, l.name);
      hash = Mix(hash, l.value);
    }
    const bool grouped = f.type == MetricType::kHistogram || f.type == MetricType::kSummary;
    const auto [si, inserted] =
        st.series.FindOrInsert(hash, static_cast<uint32_t>(f.samples.size()));
    if (inserted) {
      if (f.samples.size() == 1024 && f.samples.capacity() <= 1024) {
        // A big family: reserve for every line left rather than doubling (and moving) its
        // samples ten more times; Finish() gives back what other families' lines did not use.
        const size_t expect = 1024 + (total_lines_ - std::min(total_lines_, line_no_));
        f.samples.reserve(expect);
        st.series.Reserve(expect);
      }
      std::vector<Sample>& pool = sample_pools_[idx];
      if (f.samples.size() < pool.size()) {
        // A Sample of this target's scrape before last, at the same position: its strings and
        // vectors keep their capacity, so a steady scrape allocates (almost) nothing.
        f.samples.push_back(std::move(pool[f.samples.size()]));
        ResetSample(f.samples.back());
      } else {
        f.samples.emplace_back();
      }
      FillLabels(f.samples.back());
      if (grouped) {
        st.parts.push_back(0);
        f.samples.back().sum = std::numeric_limits<double>::quiet_NaN();
      }
    } else if (!grouped && role == Role::kValue) {
      ++stats_.duplicates;
      return Ok{};
    }
    Sample& s = f.samples[si];
    switch (role) {
      case Role::kValue:
        s.value = value;
        s.timestamp_ms = ts_ms;
        if (exemplar) s.exemplar = std::move(exemplar);
        if (grouped) {
          ++stats_.invalid;  // cannot happen: kValue is never registered for these types
        }
        break;
      case Role::kCreated:
        s.created = value;
        break;
      case Role::kSum:
        s.sum = value;
        st.parts[si] |= kHasSum;
        break;
      case Role::kCount:
        s.count = value > 0 ? static_cast<uint64_t>(std::llround(value)) : 0;
        s.timestamp_ms = ts_ms;
        st.parts[si] |= kHasCount;
        break;
      case Role::kBucket: {
        double le = 0;
        if (!ParseDouble(special_, le) || std::isnan(le)) return Fail("parse", "bad le value");
        for (const auto& b : s.buckets) {
          if (b.upper_bound == le) {
            ++stats_.duplicates;
            return Ok{};
          }
        }
        Bucket b;
        b.upper_bound = le;
        b.cumulative_count = value > 0 ? static_cast<uint64_t>(std::llround(value)) : 0;
        b.exemplar = std::move(exemplar);
        s.buckets.push_back(std::move(b));
        if (std::isinf(le) && le > 0) st.parts[si] |= kHasInf;
        break;
      }
      case Role::kQuantile: {
        double q = 0;
        if (!ParseDouble(special_, q)) return Fail("parse", "bad quantile value");
        for (const auto& e : s.quantiles) {
          if (e.quantile == q) {
            ++stats_.duplicates;
            return Ok{};
          }
        }
        s.quantiles.push_back(Quantile{q, value});
        break;
      }
    }
    return Ok{};
  }

  static void ResetSample(Sample& s) {
    s.value = 0;
    s.buckets.clear();
    s.quantiles.clear();
    s.sum = 0;
    s.count = 0;
    s.created.reset();
    s.exemplar.reset();
    s.timestamp_ms.reset();
  }

  // The line's labels, app labels clashing with a target label renamed exported_<name>, then
  // the target labels when attached. Assigned, not moved: the sample's (possibly recycled)
  // strings and the scratch labels_ both keep their capacity.
  void FillLabels(Sample& s) const {
    const size_t n = nlabels_;
    const size_t t = opt_.attach_target_labels ? opt_.target_labels.size() : 0;
    s.labels.resize(n + t);
    for (size_t i = 0; i < n; ++i) {
      s.labels[i].name.assign(labels_[i].name);
      s.labels[i].value.assign(labels_[i].value);
    }
    const auto app_end = s.labels.begin() + static_cast<ptrdiff_t>(n);
    for (const auto& target : opt_.target_labels) {
      for (auto it = s.labels.begin(); it != app_end; ++it) {
        if (it->name != target.name) continue;
        std::string renamed = "exported_" + it->name;
        while (std::any_of(s.labels.begin(), app_end,
                           [&](const Label& o) { return o.name == renamed; })) {
          renamed = "exported_" + renamed;
        }
        it->name = std::move(renamed);
        break;
      }
    }
    for (size_t j = 0; j < t; ++j) {
      s.labels[n + j].name.assign(opt_.target_labels[j].name);
      s.labels[n + j].value.assign(opt_.target_labels[j].value);
    }
  }

  // Completes histograms and summaries (+Inf bucket from _count and back), drops series that
  // cannot be completed, and removes families left without samples.
  void Finish() {
    for (size_t fi = 0; fi < families_.size(); ++fi) {
      MetricFamily& f = families_[fi];
      FamilyState& st = states_[fi];
      if (f.type == MetricType::kHistogram) {
        size_t w = 0;
        for (size_t si = 0; si < f.samples.size(); ++si) {
          Sample& s = f.samples[si];
          const uint8_t parts = st.parts[si];
          std::sort(s.buckets.begin(), s.buckets.end(),
                    [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
          if (!(parts & kHasInf) && (parts & kHasCount)) {
            Bucket inf;
            inf.upper_bound = std::numeric_limits<double>::infinity();
            inf.cumulative_count = s.count;
            s.buckets.push_back(std::move(inf));
          } else if ((parts & kHasInf) && !(parts & kHasCount)) {
            s.count = s.buckets.back().cumulative_count;
          } else if (!(parts & kHasInf)) {
            ++stats_.invalid;
            continue;
          }
          if (w != si) f.samples[w] = std::move(s);
          ++w;
        }
        f.samples.resize(w);
      } else if (f.type == MetricType::kSummary) {
        size_t w = 0;
        for (size_t si = 0; si < f.samples.size(); ++si) {
          if (!(st.parts[si] & kHasCount)) {
            ++stats_.invalid;
            continue;
          }
          if (w != si) f.samples[w] = std::move(f.samples[si]);
          ++w;
        }
        f.samples.resize(w);
      }
    }
    std::erase_if(families_, [](const MetricFamily& f) { return f.samples.empty(); });
    for (auto& f : families_) {
      if (f.samples.capacity() > f.samples.size() + f.samples.size() / 2 + 1024) {
        f.samples.shrink_to_fit();
      }
    }
  }

  std::string_view body_;
  const bool om_;
  const ParseOptions& opt_;
  size_t line_no_ = 0;
  size_t total_lines_ = 0;
  // The previous sample line's name and what it resolved to (cleared when names change).
  std::string_view last_name_;
  uint32_t last_idx_ = 0;
  Role last_role_ = Role::kValue;
  ParseStats stats_;
  std::vector<MetricFamily> families_;
  std::vector<FamilyState> states_;  // parallel to families_
  // An earlier result handed back for reuse, and per family the samples it lends.
  std::vector<MetricFamily> recycled_;
  std::vector<std::vector<Sample>> sample_pools_;  // parallel to families_
  StringMap<std::pair<uint32_t, Role>> by_sample_;
  StringMap<size_t> by_comment_name_;
  // Per-line scratch, reused to avoid allocations.
  lookout::Labels labels_;  // the first nlabels_ are this line's; the rest are spare slots
  size_t nlabels_ = 0;
  std::string value_;
  std::string special_name_;
  std::string special_;
  bool has_special_ = false;
};

}  // namespace

ExpositionFormat FormatFromContentType(std::string_view content_type) {
  std::string lower;
  for (char c : content_type.substr(0, 64)) {
    lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  }
  return lower.starts_with("application/openmetrics-text") ? ExpositionFormat::kOpenMetrics
                                                           : ExpositionFormat::kText;
}

Result<std::vector<MetricFamily>> ParseExposition(std::string_view body, ExpositionFormat format,
                                                  const ParseOptions& options, ParseStats* stats,
                                                  std::vector<MetricFamily> recycle) {
  Parser p(body, format, options, std::move(recycle));
  return p.Run(stats);
}

}  // namespace lookout::app
