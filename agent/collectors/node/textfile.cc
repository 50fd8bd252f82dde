// textfile: the metrics of the *.prom files in node.collectors.textfile.directory, plus
// node_textfile_mtime_seconds{file} and node_textfile_scrape_error, merged exactly as
// node_exporter 1.5 merges them (see MergeTextfiles).
//
// The files are parsed with a port of the text parser node_exporter uses (prometheus/common's
// expfmt.TextParser), not with lookout's app scrape parser: that one accepts what Prometheus
// accepts, and node_exporter refuses more (a file without its final newline, i.e. one still
// being written; trailing blanks after a value; a second HELP; "\r"), keeps what the app parser
// folds or drops (repeated series, which the registry later drops first-come-first-served;
// histograms without +Inf or _count), and lets the last of two equal buckets win.
//
// A parsed file is kept until its inode, size, mtime or ctime change, so an unchanged directory
// costs one open and fstat per file per scrape.
#include "agent/collectors/node/textfile.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/go_float.h"
#include "agent/common/go_path.h"
#include "agent/common/log.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

// expfmt's parseFloat: Go's ParseFloat without its 'p' exponents and '_' separators.
std::optional<double> ExpfmtParseFloat(std::string_view s) {
  if (s.find_first_of("pP_") != std::string_view::npos) return std::nullopt;
  return ParseGoFloat(s);
}

// The metric types of client_model (dto.MetricType), by their upper-case names.
enum class GoType { kCounter, kGauge, kSummary, kUntyped, kHistogram, kGaugeHistogram };

std::optional<GoType> GoTypeFromName(std::string_view s) {
  // strings.ToUpper: ASCII letters, and the two non-ASCII letters whose upper case is ASCII
  // (U+0131 dotless i -> I, U+017F long s -> S).
  std::string up;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= 'a' && c <= 'z') {
      up += static_cast<char>(c - 'a' + 'A');
    } else if (s.substr(i, 2) == "\xC4\xB1") {
      up += 'I';
      ++i;
    } else if (s.substr(i, 2) == "\xC5\xBF") {
      up += 'S';
      ++i;
    } else {
      up += c;
    }
  }
  if (up == "COUNTER") return GoType::kCounter;
  if (up == "GAUGE") return GoType::kGauge;
  if (up == "SUMMARY") return GoType::kSummary;
  if (up == "UNTYPED") return GoType::kUntyped;
  if (up == "HISTOGRAM") return GoType::kHistogram;
  if (up == "GAUGE_HISTOGRAM") return GoType::kGaugeHistogram;
  return std::nullopt;
}

bool IsBlankOrTab(char c) { return c == ' ' || c == '\t'; }
bool IsLabelNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsLabelNameContinuation(char c) { return IsLabelNameStart(c) || (c >= '0' && c <= '9'); }
bool IsMetricNameStart(char c) { return IsLabelNameStart(c) || c == ':'; }
bool IsMetricNameContinuation(char c) { return IsLabelNameContinuation(c) || c == ':'; }

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.ends_with(suffix);
}

// A port of expfmt.TextParser (prometheus/common, as built into Debian's node_exporter 1.5): a
// byte-at-a-time state machine whose error behaviour at every end of input is reproduced.
class GoTextParser {
 public:
  explicit GoTextParser(std::string_view in) : in_(in) {}

  Result<std::vector<TextfileFamily>> Parse() {
    State s = State::kStartOfLine;
    while (s != State::kStop) s = Step(s);
    if (err_ == Err::kEof) ParseError("unexpected end of input stream");
    if (err_ == Err::kParse) return MakeError("parse", msg_);
    std::vector<TextfileFamily> out;
    for (auto& f : families_) {
      if (f.metrics.empty()) continue;  // a HELP or TYPE without samples
      for (const auto& m : f.metrics) {
        if (m.timestamp_ms) {
          return MakeError("parse", "contains unsupported client-side timestamps (" + f.name + ")");
        }
      }
      TextfileFamily t;
      t.name = std::move(f.name);
      t.help = std::move(f.help);
      switch (f.type.value_or(GoType::kUntyped)) {
        case GoType::kCounter:
          t.type = MetricType::kCounter;
          break;
        case GoType::kGauge:
          t.type = MetricType::kGauge;
          break;
        case GoType::kSummary:
          t.type = MetricType::kSummary;
          break;
        case GoType::kHistogram:
          t.type = MetricType::kHistogram;
          break;
        default:
          t.type = MetricType::kUntyped;
      }
      t.metrics = std::move(f.metrics);
      out.push_back(std::move(t));
    }
    return out;
  }

 private:
  enum class State {
    kStop,
    kStartOfLine,
    kStartComment,
    kReadingMetricName,
    kReadingLabels,
    kStartLabelName,
    kStartLabelValue,
    kReadingValue,
    kStartTimestamp,
    kReadingHelp,
    kReadingType,
  };
  enum class Err { kNone, kEof, kParse };

  struct Family {
    std::string name;
    std::optional<std::string> help;
    std::optional<GoType> type;
    std::vector<Sample> metrics;
    // Summaries and histograms: label set (sorted, le/quantile excluded) -> metric index.
    std::map<std::vector<std::pair<std::string, std::string>>, size_t> groups;
  };

  State Step(State s) {
    switch (s) {
      case State::kStartOfLine:
        return StartOfLine();
      case State::kStartComment:
        return StartComment();
      case State::kReadingMetricName:
        return ReadingMetricName();
      case State::kReadingLabels:
        return ReadingLabels();
      case State::kStartLabelName:
        return StartLabelName();
      case State::kStartLabelValue:
        return StartLabelValue();
      case State::kReadingValue:
        return ReadingValue();
      case State::kStartTimestamp:
        return StartTimestamp();
      case State::kReadingHelp:
        return ReadingHelp();
      case State::kReadingType:
        return ReadingType();
      case State::kStop:
        break;
    }
    return State::kStop;
  }

  void ReadByte() {
    if (pos_ < in_.size()) {
      cur_ = in_[pos_++];
      err_ = Err::kNone;
    } else {
      cur_ = 0;
      err_ = Err::kEof;
    }
  }
  bool Failed() const { return err_ != Err::kNone; }

  void ParseError(const std::string& msg) {
    err_ = Err::kParse;
    msg_ = "line " + std::to_string(line_) + ": " + msg;
  }

  void SkipBlankTab() {
    do {
      ReadByte();
    } while (!Failed() && IsBlankOrTab(cur_));
  }
  void SkipBlankTabIfCurrentBlankTab() {
    if (IsBlankOrTab(cur_)) SkipBlankTab();
  }
  void ReadTokenUntilWhitespace() {
    token_.clear();
    while (!Failed() && !IsBlankOrTab(cur_) && cur_ != '\n') {
      token_ += cur_;
      ReadByte();
    }
  }
  // With escapes (HELP): "\\" and "\n" only; anything else after '\' is an error.
  void ReadTokenUntilNewline(bool escapes) {
    token_.clear();
    bool escaped = false;
    while (!Failed()) {
      if (escapes && escaped) {
        if (cur_ == '\\') {
          token_ += '\\';
        } else if (cur_ == 'n') {
          token_ += '\n';
        } else {
          ParseError(std::string("invalid escape sequence '\\") + cur_ + "'");
          return;
        }
        escaped = false;
      } else if (cur_ == '\n') {
        return;
      } else if (cur_ == '\\' && escapes) {
        escaped = true;
      } else {
        token_ += cur_;
      }
      ReadByte();
    }
  }
  void ReadTokenAsMetricName() {
    token_.clear();
    if (!IsMetricNameStart(cur_)) return;
    do {
      token_ += cur_;
      ReadByte();
    } while (!Failed() && IsMetricNameContinuation(cur_));
  }
  void ReadTokenAsLabelName() {
    token_.clear();
    if (!IsLabelNameStart(cur_)) return;
    do {
      token_ += cur_;
      ReadByte();
    } while (!Failed() && IsLabelNameContinuation(cur_));
  }
  void ReadTokenAsLabelValue() {
    token_.clear();
    bool escaped = false;
    while (true) {
      ReadByte();
      if (Failed()) return;
      if (escaped) {
        if (cur_ == '"' || cur_ == '\\') {
          token_ += cur_;
        } else if (cur_ == 'n') {
          token_ += '\n';
        } else {
          ParseError(std::string("invalid escape sequence '\\") + cur_ + "'");
          return;
        }
        escaped = false;
        continue;
      }
      if (cur_ == '"') return;
      if (cur_ == '\n') {
        ParseError("label value \"" + token_ + "\" contains unescaped new-line");
        return;
      }
      if (cur_ == '\\') {
        escaped = true;
      } else {
        token_ += cur_;
      }
    }
  }

  Family* FindFamily(const std::string& name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &families_[it->second];
  }

  // setOrCreateCurrentMF: foo_count/foo_sum(/foo_bucket) belong to summary (histogram) foo.
  void SetOrCreateCurrentFamily() {
    is_count_ = is_sum_ = false;
    const std::string& name = token_;
    if (Family* f = FindFamily(name)) {
      cur_family_ = static_cast<size_t>(f - families_.data());
      return;
    }
    const bool count = HasSuffix(name, "_count"), sum = HasSuffix(name, "_sum");
    std::string summary_name = name;
    if (count) {
      summary_name = name.substr(0, name.size() - 6);
    } else if (sum) {
      summary_name = name.substr(0, name.size() - 4);
    }
    if (Family* f = FindFamily(summary_name); f != nullptr && f->type == GoType::kSummary) {
      cur_family_ = static_cast<size_t>(f - families_.data());
      is_count_ = count;
      is_sum_ = sum;
      return;
    }
    std::string histogram_name = summary_name;
    if (!count && !sum && HasSuffix(name, "_bucket")) {
      histogram_name = name.substr(0, name.size() - 7);
    }
    if (Family* f = FindFamily(histogram_name); f != nullptr && f->type == GoType::kHistogram) {
      cur_family_ = static_cast<size_t>(f - families_.data());
      is_count_ = count;
      is_sum_ = sum;
      return;
    }
    cur_family_ = families_.size();
    by_name_.emplace(name, families_.size());
    families_.push_back(Family{name, std::nullopt, std::nullopt, {}, {}});
  }
  Family& Cur() { return families_[cur_family_]; }
  bool Grouped() {
    const auto t = Cur().type;
    return t == GoType::kSummary || t == GoType::kHistogram;
  }

  State StartOfLine() {
    ++line_;
    SkipBlankTab();
    if (Failed()) {
      err_ = Err::kNone;  // the end of the input at the start of a line: done
      return State::kStop;
    }
    if (cur_ == '#') return State::kStartComment;
    if (cur_ == '\n') return State::kStartOfLine;
    return State::kReadingMetricName;
  }

  State StartComment() {
    SkipBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ == '\n') return State::kStartOfLine;
    ReadTokenUntilWhitespace();
    if (Failed()) return State::kStop;
    if (cur_ == '\n') return State::kStartOfLine;
    const std::string keyword = token_;
    if (keyword != "HELP" && keyword != "TYPE") {
      while (cur_ != '\n') {  // an ordinary comment
        ReadByte();
        if (Failed()) return State::kStop;
      }
      return State::kStartOfLine;
    }
    SkipBlankTab();
    if (Failed()) return State::kStop;
    ReadTokenAsMetricName();
    if (Failed()) return State::kStop;
    if (cur_ == '\n') return State::kStartOfLine;
    if (!IsBlankOrTab(cur_)) {
      ParseError("invalid metric name in comment");
      return State::kStop;
    }
    SetOrCreateCurrentFamily();
    SkipBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ == '\n') return State::kStartOfLine;
    return keyword == "HELP" ? State::kReadingHelp : State::kReadingType;
  }

  State ReadingMetricName() {
    ReadTokenAsMetricName();
    if (Failed()) return State::kStop;
    if (token_.empty()) {
      ParseError("invalid metric name");
      return State::kStop;
    }
    SetOrCreateCurrentFamily();
    if (!Cur().type) Cur().type = GoType::kUntyped;
    metric_ = Sample{};
    special_.reset();
    line_label_names_.clear();
    SkipBlankTabIfCurrentBlankTab();
    if (Failed()) return State::kStop;
    return State::kReadingLabels;
  }

  State ReadingLabels() {
    if (Grouped()) {
      group_labels_.clear();
      quantile_ = bucket_ = std::numeric_limits<double>::quiet_NaN();
    }
    if (cur_ != '{') return State::kReadingValue;
    return State::kStartLabelName;
  }

  State StartLabelName() {
    SkipBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ == '}') {
      SkipBlankTab();
      if (Failed()) return State::kStop;
      return State::kReadingValue;
    }
    ReadTokenAsLabelName();
    if (Failed()) return State::kStop;
    if (token_.empty()) {
      ParseError("invalid label name for metric \"" + Cur().name + "\"");
      return State::kStop;
    }
    if (token_ == "__name__") {
      ParseError("label name \"__name__\" is reserved");
      return State::kStop;
    }
    if (token_.starts_with("__")) {
      // node_exporter 1.5 panics on such a label (client_golang refuses it); lookout refuses the
      // file instead.
      ParseError("label name \"" + token_ + "\" is reserved");
      return State::kStop;
    }
    const auto t = Cur().type;
    if ((t == GoType::kSummary && token_ == "quantile") ||
        (t == GoType::kHistogram && token_ == "le")) {
      special_ = token_;  // not a label of the series
    } else {
      special_.reset();
      metric_.labels.push_back(Label{token_, ""});
    }
    label_name_ = token_;
    SkipBlankTabIfCurrentBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ != '=') {
      ParseError(std::string("expected '=' after label name, found '") + cur_ + "'");
      return State::kStop;
    }
    if (!special_ && !line_label_names_.insert(token_).second) {
      ParseError("duplicate label names for metric \"" + Cur().name + "\"");
      return State::kStop;
    }
    return State::kStartLabelValue;
  }

  State StartLabelValue() {
    SkipBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ != '"') {
      ParseError(std::string("expected '\"' at start of label value, found '") + cur_ + "'");
      return State::kStop;
    }
    ReadTokenAsLabelValue();
    if (Failed()) return State::kStop;
    if (!ValidUtf8(token_)) {
      ParseError("invalid label value");
      return State::kStop;
    }
    const auto t = Cur().type;
    if (special_) {
      auto v = ExpfmtParseFloat(token_);
      if (!v) {
        ParseError("expected float as value for '" + *special_ + "' label, got \"" + token_ + "\"");
        return State::kStop;
      }
      (t == GoType::kSummary ? quantile_ : bucket_) = *v;
      special_.reset();
    } else {
      metric_.labels.back().value = token_;
      if (t == GoType::kSummary || t == GoType::kHistogram) {
        group_labels_.emplace_back(label_name_, token_);
      }
    }
    SkipBlankTab();
    if (Failed()) return State::kStop;
    if (cur_ == ',') return State::kStartLabelName;
    if (cur_ == '}') {
      SkipBlankTab();
      if (Failed()) return State::kStop;
      return State::kReadingValue;
    }
    ParseError("unexpected end of label value");
    return State::kStop;
  }

  State ReadingValue() {
    Family& f = Cur();
    const auto t = f.type;
    size_t idx;
    if (t == GoType::kSummary || t == GoType::kHistogram) {
      // The series of a summary/histogram is found by its labels (the first line's labels stay).
      auto key = group_labels_;
      std::sort(key.begin(), key.end());
      key.erase(std::unique(key.begin(), key.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                key.end());
      auto [it, inserted] = f.groups.try_emplace(std::move(key), f.metrics.size());
      if (inserted) f.metrics.push_back(std::move(metric_));
      idx = it->second;
    } else {
      idx = f.metrics.size();
      f.metrics.push_back(std::move(metric_));
    }
    ReadTokenUntilWhitespace();
    if (Failed()) return State::kStop;
    auto value = ExpfmtParseFloat(token_);
    if (!value) {
      ParseError("expected float as value, got \"" + token_ + "\"");
      return State::kStop;
    }
    Sample& m = f.metrics[idx];
    switch (*t) {
      case GoType::kCounter:
      case GoType::kGauge:
      case GoType::kUntyped:
        m.value = *value;
        break;
      case GoType::kSummary:
        if (is_count_) {
          m.count = GoFloat64ToUint64(*value);
        } else if (is_sum_) {
          m.sum = *value;
        } else if (!std::isnan(quantile_)) {
          m.quantiles.push_back(Quantile{quantile_, *value});
        }
        break;
      case GoType::kHistogram:
        if (is_count_) {
          m.count = GoFloat64ToUint64(*value);
        } else if (is_sum_) {
          m.sum = *value;
        } else if (!std::isnan(bucket_)) {
          Bucket b;
          b.upper_bound = bucket_;
          b.cumulative_count = GoFloat64ToUint64(*value);
          m.buckets.push_back(std::move(b));
        }
        break;
      case GoType::kGaugeHistogram:
        // node_exporter 1.5 accepts the TYPE but crashes on such samples.
        ParseError("samples of gauge_histogram \"" + f.name + "\" are not supported");
        return State::kStop;
    }
    cur_metric_ = idx;
    if (cur_ == '\n') return State::kStartOfLine;
    return State::kStartTimestamp;
  }

  State StartTimestamp() {
    SkipBlankTab();
    if (Failed()) return State::kStop;
    ReadTokenUntilWhitespace();
    if (Failed()) return State::kStop;
    auto ts = ParseGoInt(token_, 10);
    if (!ts) {
      ParseError("expected integer as timestamp, got \"" + token_ + "\"");
      return State::kStop;
    }
    Cur().metrics[cur_metric_].timestamp_ms = *ts;
    ReadTokenUntilNewline(false);
    if (Failed()) return State::kStop;
    if (!token_.empty()) {
      ParseError("spurious string after timestamp: \"" + token_ + "\"");
      return State::kStop;
    }
    return State::kStartOfLine;
  }

  State ReadingHelp() {
    if (Cur().help) {
      ParseError("second HELP line for metric name \"" + Cur().name + "\"");
      return State::kStop;
    }
    ReadTokenUntilNewline(true);
    if (Failed()) return State::kStop;
    if (!ValidUtf8(token_)) {
      // node_exporter exposes it as is (an exposition Prometheus may refuse); refused here.
      ParseError("HELP of \"" + Cur().name + "\" is not UTF-8");
      return State::kStop;
    }
    Cur().help = token_;
    return State::kStartOfLine;
  }

  State ReadingType() {
    if (Cur().type) {
      ParseError("second TYPE line for metric name \"" + Cur().name +
                 "\", or TYPE reported after samples");
      return State::kStop;
    }
    ReadTokenUntilNewline(false);
    if (Failed()) return State::kStop;
    auto t = GoTypeFromName(token_);
    if (!t) {
      ParseError("unknown metric type \"" + token_ + "\"");
      return State::kStop;
    }
    Cur().type = *t;
    return State::kStartOfLine;
  }

  std::string_view in_;
  size_t pos_ = 0;
  char cur_ = 0;
  Err err_ = Err::kNone;
  std::string msg_;
  size_t line_ = 0;
  std::string token_;
  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> by_name_;
  size_t cur_family_ = 0;
  bool is_count_ = false, is_sum_ = false;
  Sample metric_;
  size_t cur_metric_ = 0;
  std::optional<std::string> special_;  // the le/quantile label being read
  std::string label_name_;
  std::set<std::string> line_label_names_;  // this line's label names (repeats are errors)
  std::vector<std::pair<std::string, std::string>> group_labels_;
  double quantile_ = std::numeric_limits<double>::quiet_NaN();
  double bucket_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace

Result<std::vector<TextfileFamily>> ParseTextfile(std::string_view text) {
  return GoTextParser(text).Parse();
}

namespace {

// client_golang's Registry.Gather for one collector's metrics: first come, first served.
class Gatherer {
 public:
  size_t dropped() const { return dropped_; }

  void Add(const std::string& name, const std::string& help, MetricType type, Sample s) {
    auto it = by_name_.find(name);
    size_t idx;
    if (it != by_name_.end()) {
      idx = it->second;
      if (families_[idx].help != help || families_[idx].type != type) {
        ++dropped_;  // "has help ... but should have ...", "should be a Gauge"
        return;
      }
    } else {
      if (SuffixCollision(name, type)) {
        ++dropped_;  // "collides with previously collected summary/histogram"
        return;
      }
      idx = families_.size();
      by_name_.emplace(name, idx);
      families_.push_back(MetricFamily{name, help, type, "", {}});
    }
    std::sort(s.labels.begin(), s.labels.end(),
              [](const Label& a, const Label& b) { return a.name < b.name; });
    std::string key = name;
    for (const auto& l : s.labels) {
      key += '\xff';
      key += l.name;
      key += '\xff';
      key += l.value;
    }
    if (!series_.insert(std::move(key)).second) {
      ++dropped_;  // "was collected before with the same name and label values"
      return;
    }
    families_[idx].samples.push_back(std::move(s));
  }

  // NormalizeMetricFamilies: families with series, by name; series by label values.
  std::vector<MetricFamily> Finish() {
    std::vector<MetricFamily> out;
    for (auto& f : families_) {
      if (f.samples.empty()) continue;
      std::stable_sort(f.samples.begin(), f.samples.end(), [](const Sample& a, const Sample& b) {
        if (a.labels.size() != b.labels.size()) return a.labels.size() < b.labels.size();
        for (size_t i = 0; i < a.labels.size(); ++i) {
          if (a.labels[i].value != b.labels[i].value) return a.labels[i].value < b.labels[i].value;
        }
        return false;
      });
      out.push_back(std::move(f));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
    return out;
  }

 private:
  const MetricFamily* Find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &families_[it->second];
  }

  bool SuffixCollision(const std::string& name, MetricType type) const {
    std::string base;
    if (name.ends_with("_count")) {
      base = name.substr(0, name.size() - 6);
    } else if (name.ends_with("_sum")) {
      base = name.substr(0, name.size() - 4);
    } else if (name.ends_with("_bucket")) {
      base = name.substr(0, name.size() - 7);
    }
    if (!base.empty()) {
      if (const MetricFamily* f = Find(base)) {
        if (f->type == MetricType::kSummary && !name.ends_with("_bucket")) return true;
        if (f->type == MetricType::kHistogram) return true;
      }
    }
    if (type == MetricType::kSummary || type == MetricType::kHistogram) {
      if (Find(name + "_count") != nullptr || Find(name + "_sum") != nullptr) return true;
    }
    return type == MetricType::kHistogram && Find(name + "_bucket") != nullptr;
  }

  std::vector<MetricFamily> families_;
  std::unordered_map<std::string, size_t> by_name_;
  std::unordered_set<std::string> series_;
  size_t dropped_ = 0;
};

// convertMetricFamily: every series of the family gets every label name the family uses.
void Convert(const TextfileFamily& f, const std::string& help, Gatherer& g) {
  std::set<std::string> names;
  for (const auto& m : f.metrics) {
    for (const auto& l : m.labels) names.insert(l.name);
  }
  for (const auto& m : f.metrics) {
    Sample s;
    s.labels = m.labels;
    for (const auto& n : names) {
      if (std::none_of(m.labels.begin(), m.labels.end(),
                       [&](const Label& l) { return l.name == n; })) {
        s.labels.push_back(Label{n, ""});
      }
    }
    switch (f.type) {
      case MetricType::kSummary: {
        std::map<double, double> q;  // repeated quantile: the last one
        for (const auto& e : m.quantiles) q[e.quantile] = e.value;
        for (const auto& [k, v] : q) s.quantiles.push_back(Quantile{k, v});
        s.count = m.count;
        s.sum = m.sum;
        break;
      }
      case MetricType::kHistogram: {
        std::map<double, uint64_t> b;  // repeated bound: the last one
        for (const auto& e : m.buckets) b[e.upper_bound] = e.cumulative_count;
        for (const auto& [k, v] : b) {
          Bucket bucket;
          bucket.upper_bound = k;
          bucket.cumulative_count = v;
          s.buckets.push_back(std::move(bucket));
        }
        if (s.buckets.empty() || !std::isinf(s.buckets.back().upper_bound) ||
            s.buckets.back().upper_bound < 0) {
          Bucket inf;  // the text format's implied +Inf bucket: the count
          inf.upper_bound = std::numeric_limits<double>::infinity();
          inf.cumulative_count = m.count;
          s.buckets.push_back(std::move(inf));
        }
        s.count = m.count;
        s.sum = m.sum;
        break;
      }
      default:
        s.value = m.value;
    }
    g.Add(f.name, help, f.type, std::move(s));
  }
}

}  // namespace

std::vector<MetricFamily> MergeTextfiles(const std::vector<TextfileContent>& files,
                                         std::vector<MetricFamily> own) {
  std::unordered_map<std::string, std::string> files_of;  // family -> "a.prom, b.prom"
  for (const auto& file : files) {
    for (const auto& f : *file.families) {
      std::string& list = files_of[f.name];
      if (!list.empty()) list += ", ";
      list += file.path;
    }
  }
  Gatherer g;
  for (const auto& file : files) {
    for (const auto& f : *file.families) {
      Convert(f, f.help ? *f.help : "Metric read from " + files_of[f.name], g);
    }
  }
  for (auto& f : own) {
    for (auto& s : f.samples) g.Add(f.name, f.help, f.type, std::move(s));
  }
  return g.Finish();
}

namespace {

class TextfileCollector final : public Collector {
 public:
  explicit TextfileCollector(const NodeOptions& cfg)
      : directory_(cfg.textfile.directory), max_bytes_(cfg.textfile.max_file_bytes) {}
  std::string_view Name() const override { return "textfile"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    bool errored = false;
    std::vector<std::string> dirs;
    if (auto g = GoGlob(directory_); g && !g->empty()) {
      dirs = std::move(*g);
    } else {
      dirs = {directory_};  // not a pattern, or nothing matched: the directory itself
    }
    std::vector<TextfileContent> contents;
    std::map<std::string, int64_t> mtimes;
    std::set<std::string> seen;
    for (const auto& dir : dirs) {
      auto names = ListDir(dir);
      if (!names) {
        if (!dir.empty()) {
          errored = true;
          Warn(dir, "failed to read textfile directory: " + std::string(std::strerror(errno)));
        }
        continue;
      }
      for (const auto& name : *names) {
        if (!name.ends_with(".prom")) continue;
        const std::string path = GoJoinPath(dir, name);
        seen.insert(path);
        auto r = Read(path);
        if (!r.ok()) {
          errored = true;
          Warn(path, r.error().detail);
          continue;
        }
        contents.push_back(TextfileContent{path, r->families});
        mtimes[path] = r->mtime;
      }
    }
    Prune(seen);

    std::vector<MetricFamily> own;
    if (!mtimes.empty()) {
      MetricFamily f{"node_textfile_mtime_seconds",
                     "Unixtime mtime of textfiles successfully read.",
                     MetricType::kGauge,
                     "",
                     {}};
      for (const auto& [path, t] : mtimes) {
        AddSample(f, static_cast<double>(t), {{"file", path}});
      }
      own.push_back(std::move(f));
    }
    MetricFamily err{"node_textfile_scrape_error",
                     "1 if there was an error opening or reading a file, 0 otherwise",
                     MetricType::kGauge,
                     "",
                     {}};
    AddSample(err, errored ? 1 : 0);
    own.push_back(std::move(err));
    for (auto& f : MergeTextfiles(contents, std::move(own))) out.push_back(std::move(f));
    return Ok{};
  }

 private:
  struct Parsed {
    std::shared_ptr<const std::vector<TextfileFamily>> families;
    int64_t mtime = 0;  // seconds, as node_exporter: UnixNano() / 1e9
  };
  struct CacheEntry {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
    std::shared_ptr<const std::vector<TextfileFamily>> families;  // null: `error`
    Error error;
  };

  static bool Same(const CacheEntry& e, const struct stat& st) {
    return e.dev == st.st_dev && e.ino == st.st_ino && e.size == st.st_size &&
           e.mtime.tv_sec == st.st_mtim.tv_sec && e.mtime.tv_nsec == st.st_mtim.tv_nsec &&
           e.ctime.tv_sec == st.st_ctim.tv_sec && e.ctime.tv_nsec == st.st_ctim.tv_nsec;
  }

  static int64_t UnixSeconds(const timespec& t) {
    return (static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec) / 1'000'000'000;
  }

  // os.ReadDir: every entry's name, sorted. nullopt (errno set) when it cannot be read.
  static std::optional<std::vector<std::string>> ListDir(const std::string& dir) {
    if (dir.empty()) {
      errno = ENOENT;
      return std::nullopt;
    }
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return std::nullopt;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<Parsed> Read(const std::string& path) {
    // O_NONBLOCK: a FIFO named *.prom must not hang the scrape (node_exporter blocks on it).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return MakeError("open", "failed to open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      return MakeError("read", "failed to stat " + path + ": " + std::strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
      // node_exporter opens it, its parser sees a read error at the first line and stops there
      // as at the end of a file: no metrics, and the directory's mtime.
      ::close(fd);
      return Parsed{std::make_shared<const std::vector<TextfileFamily>>(), UnixSeconds(st.st_mtim)};
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return MakeError("read", path + ": not a regular file");
    }
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(path);
      if (it != cache_.end() && Same(it->second, st)) {
        ::close(fd);
        if (it->second.families == nullptr) return it->second.error;
        return Parsed{it->second.families, UnixSeconds(st.st_mtim)};
      }
    }
    if (static_cast<uint64_t>(st.st_size) > max_bytes_) {
      ::close(fd);
      return MakeError("too_large", path + ": larger than " + std::to_string(max_bytes_) +
                                        " bytes (node.collectors.textfile.max_file_bytes)");
    }
    auto text = ReadAll(fd, path);
    struct stat after {};
    const bool stat_ok = ::fstat(fd, &after) == 0;
    ::close(fd);
    if (!text.ok()) return text.error();
    auto families = ParseTextfile(*text);
    if (!families.ok()) {
      Error e = MakeError("parse", "failed to parse " + path + ": " + families.error().detail);
      std::lock_guard lock(mu_);  // a bad file is not parsed again until it changes
      cache_[path] =
          CacheEntry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, nullptr, e};
      return e;
    }
    if (!stat_ok) return MakeError("read", "failed to stat " + path);
    auto shared = std::make_shared<const std::vector<TextfileFamily>>(std::move(*families));
    {
      std::lock_guard lock(mu_);
      cache_[path] =
          CacheEntry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, shared, {}};
    }
    // Stat after parsing, as node_exporter: a file changed meanwhile reports its new mtime.
    return Parsed{std::move(shared), UnixSeconds(after.st_mtim)};
  }

  Result<std::string> ReadAll(int fd, const std::string& path) const {
    std::string text;
    size_t chunk = size_t{64} * 1024;
    while (true) {
      const size_t old = text.size();
      if (old > max_bytes_) {
        return MakeError("too_large", path + ": larger than " + std::to_string(max_bytes_) +
                                          " bytes (node.collectors.textfile.max_file_bytes)");
      }
      text.resize(std::min(old + chunk, max_bytes_ + 1));
      const ssize_t n = ::pread(fd, text.data() + old, text.size() - old, static_cast<off_t>(old));
      if (n < 0) {
        if (errno == EINTR) {
          text.resize(old);
          continue;
        }
        return MakeError("read", "failed to read " + path + ": " + std::strerror(errno));
      }
      text.resize(old + static_cast<size_t>(n));
      if (n == 0) break;
      chunk = std::min<size_t>(chunk * 2, 4 << 20);
    }
    if (text.size() > max_bytes_) {
      return MakeError("too_large", path + ": larger than " + std::to_string(max_bytes_) +
                                        " bytes (node.collectors.textfile.max_file_bytes)");
    }
    return text;
  }

  void Prune(const std::set<std::string>& seen) {
    std::lock_guard lock(mu_);
    std::erase_if(cache_, [&](const auto& e) { return !seen.contains(e.first); });
  }

  void Warn(const std::string& path, const std::string& detail) {
    uint64_t suppressed = 0;
    if (!log_limiter_.Allow("textfile", &suppressed)) return;
    const std::string n = std::to_string(suppressed);
    Log(LogLevel::kWarn, "textfile: file skipped, node_textfile_scrape_error is 1",
        {{"collector", "textfile"}, {"file", path}, {"err", detail}, {"suppressed", n}});
  }

  const std::string directory_;
  const size_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // guarded by mu_
  LogRateLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace

std::unique_ptr<Collector> NewTextfileCollector(const NodeOptions& cfg) {
  return std::make_unique<TextfileCollector>(cfg);
}

std::vector<Option<NodeOptions>> TextfileOptionRows() {
  OptionTable<TextfileOptions> t{{
      option::Str<TextfileOptions>(
          "directory", &TextfileOptions::directory, "",
          "`--collector.textfile.directory`: the `*.prom` files read on each scrape; a Go glob "
          "(`/var/lib/node_exporter/*`) reads several directories. `\"\"` = none, node_exporter "
          "1.5's upstream default (Debian's package defaults to "
          "`/var/lib/prometheus/node-exporter`)"),
      option::Int<TextfileOptions>(
          "max_file_bytes", &TextfileOptions::max_file_bytes, 1024, int64_t{1} << 30, "8388608",
          "a larger `.prom` file is skipped and "
          "`node_textfile_scrape_error` is 1 (node_exporter has no limit)"),
  }};
  return option::Nest<NodeOptions>("", &NodeOptions::textfile, t);
}

}  // namespace lookout
