#include "agent/collectors/app/exposition_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "agent/collectors/app/exposition_values.h"
#include "agent/collectors/app/label_lexer.h"
#include "agent/collectors/app/series_index.h"
#include "agent/common/hash.h"
#include "agent/common/utf8.h"

namespace lookout::app {
namespace {

// What a sample line's name means for the family it belongs to: which value of a sample it
// holds, in the compact result's terms (LineTrace reports it as such).
using Role = CompactFamilies::Part;

// Its parts with a file of their own: the series index, the label-set lexers.
using detail::FindRepeats;
using detail::IsCount;
using detail::IsDigit;
using detail::IsNameChar;
using detail::IsNameStart;
using detail::LabelLexer;
using detail::OpenMetricsLabelLexer;
using detail::ParseGoFloat;
using detail::SeriesIndex;
using detail::TextLabelLexer;
using detail::UnescapeLabelValue;

uint64_t Mix(uint64_t h, std::string_view s) {
  h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

// Parts seen for a grouped series (histogram, summary, OpenMetrics counter).
enum Part : uint8_t { kHasValue = 1, kHasSum = 2, kHasCount = 4, kHasInf = 8, kHasCreated = 16 };

struct FamilyState {
  bool typed = false;    // a TYPE line was taken (a later one changes nothing, as in Prometheus)
  bool grouped = false;  // samples are label sets with parts: histogram, summary, OM counter
  // The sample names it owns and what each is to it; a family turned raw hands them on.
  std::vector<std::pair<std::string, Role>> names;
  SeriesIndex series;          // grouped only: the sample of each series key, as lines come
  std::vector<uint8_t> parts;  // per sample, grouped only
  // Per sample: its identity, without le/quantile when grouped. A one-value family's are what
  // RemoveRepeats finds repeated series by; a grouped family finds them in `series` as it goes.
  std::vector<uint64_t> series_keys;
};

// The identity of a series' le or quantile label, combined by xor so a series' key does not
// depend on which of the two is mixed in first.
uint64_t SpecialKey(std::string_view name, std::string_view value) {
  return MixBits(Mix(Mix(0x243f6a8885a308d3ULL, name), value));
}

class Parser {
 public:
  Parser(std::string_view body, ExpositionFormat format, const ParseOptions& options,
         std::vector<MetricFamily> recycled, LineTrace* trace)
      : body_(body),
        om_(format == ExpositionFormat::kOpenMetrics),
        opt_(options),
        recycled_(std::move(recycled)),
        trace_(trace) {
    if (trace_ != nullptr) {
      trace_->lines.clear();
      trace_->complete = false;
      traceable_ = body_.size() < UINT32_MAX;
    }
  }

  Result<std::vector<MetricFamily>> Run(ParseStats* stats) {
    total_lines_ = static_cast<size_t>(std::count(body_.begin(), body_.end(), '\n'));
    if (traceable_) trace_->lines.reserve(total_lines_ + 1);
    size_t pos = 0;
    bool eof_seen = false;
    while (pos < body_.size()) {
      size_t end = body_.find('\n', pos);
      if (end == std::string_view::npos) end = body_.size();
      std::string_view line = body_.substr(pos, end - pos);
      pos = end + 1;
      ++line_no_;
      Status st = Ok{};
      if (om_) {
        // OpenMetrics: nothing after "# EOF" (one newline at most), no empty lines, single
        // spaces only (openmetricslex.l has no whitespace rule).
        if (eof_seen) return Fail("parse", "content after # EOF");
        if (line.empty()) return Fail("parse", "empty line");
        if (line[0] == '#') {
          TraceComment(line);
          st = OmComment(line, eof_seen);
        } else {
          st = OmSample(line);
        }
      } else {
        // Text (promlex.l): blank and whitespace-only lines are skipped, whitespace may come
        // before a comment but not before a sample (Prometheus then reads it as part of the
        // metric name, which fails), and a NUL where a line starts ends the input.
        size_t i = 0;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i == line.size()) continue;
        if (line[i] == '\0') {
          traceable_ = false;
          break;
        }
        if (line[i] == '#') {
          TraceComment(line);
          st = TextComment(line.substr(i + 1));
        } else if (i > 0) {
          return Fail("parse", "whitespace before a metric name");
        } else {
          st = TextSample(line);
          // A label value may have run over newlines: go on after the line it ended on.
          pos = static_cast<size_t>(line.data() - body_.data()) + line.size() + 1;
        }
      }
      if (!st.ok()) return st.error();
    }
    if (om_ && !eof_seen) return MakeError("truncated", "OpenMetrics body without # EOF");
    Finish();
    FinishTrace();
    if (stats != nullptr) *stats = stats_;
    return std::move(families_);
  }

 private:
  Error Fail(std::string reason, std::string_view what) const {
    return MakeError(std::move(reason),
                     "line " + std::to_string(line_no_) + ": " + std::string(what));
  }

  // Text "#..." (after the '#'): `# HELP name text` and `# TYPE name type` with spaces or tabs;
  // anything else is a comment. The text is what follows the name minus its first character
  // (PromParser.Next takes buf()[1:]), so `# TYPE x\tgauge` and even `# TYPE x-gauge` are
  // gauges, and a text of blanks only is empty.
  Status TextComment(std::string_view rest) {
    size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    if (i == 0) return Ok{};
    rest.remove_prefix(i);
    const bool help = rest.starts_with("HELP");
    if (!help && !rest.starts_with("TYPE")) return Ok{};
    i = 4;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    if (i == 4) return Ok{};  // "HELPx": a comment
    rest.remove_prefix(i);
    size_t n = 0;
    while (n < rest.size() && IsNameChar(rest[n])) ++n;
    if (n == 0 || !IsNameStart(rest[0])) {
      return Fail("parse", std::string("expected a metric name after ") + (help ? "HELP" : "TYPE"));
    }
    const std::string_view name = rest.substr(0, n);
    std::string_view text = rest.substr(n);
    const bool blank = text.find_first_not_of(" \t") == std::string_view::npos;
    text = blank || text.size() <= 1 ? std::string_view() : text.substr(1);
    if (help) return Help(name, text);
    MetricType type;
    if (text == "counter") {
      type = MetricType::kCounter;
    } else if (text == "gauge") {
      type = MetricType::kGauge;
    } else if (text == "histogram") {
      type = MetricType::kHistogram;
    } else if (text == "summary") {
      type = MetricType::kSummary;
    } else if (text == "untyped") {
      type = MetricType::kUntyped;
    } else {
      return Fail("parse", "invalid metric type \"" + std::string(text) + "\"");
    }
    Type(name, type, false);
    return Ok{};
  }

  // OpenMetrics "# ...": exactly `# HELP name text`, `# TYPE name type`, `# UNIT name unit` (one
  // space each, the text may be empty) or `# EOF`; any other comment is an error there.
  Status OmComment(std::string_view line, bool& eof_seen) {
    if (line == "# EOF") {
      eof_seen = true;
      return Ok{};
    }
    std::string_view keyword;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.starts_with("# UNIT ")) {
      keyword = line.substr(2, 4);
    } else {
      return Fail("parse", "expected a valid start token");
    }
    std::string_view rest = line.substr(7);
    size_t n = 0;
    while (n < rest.size() && IsNameChar(rest[n])) ++n;
    if (n == 0 || !IsNameStart(rest[0])) {
      return Fail("parse", "expected a metric name after " + std::string(keyword));
    }
    const std::string_view name = rest.substr(0, n);
    if (n == rest.size() || rest[n] != ' ') {
      return Fail("parse", "expected text in " + std::string(keyword));
    }
    const std::string_view text = rest.substr(n + 1);
    if (keyword == "HELP") return Help(name, text);
    if (keyword == "UNIT") {
      if (!text.empty() && !(name.size() > text.size() && name.ends_with(text) &&
                             name[name.size() - text.size() - 1] == '_')) {
        return Fail("parse", "unit \"" + std::string(text) + "\" not a suffix of metric \"" +
                                 std::string(name) + "\"");
      }
      families_[FamilyFor(name)].unit = std::string(text);
      return Ok{};
    }
    MetricType type;
    bool gauge_histogram = false;
    if (text == "counter") {
      type = MetricType::kCounter;
    } else if (text == "gauge" || text == "stateset") {
      type = MetricType::kGauge;
    } else if (text == "histogram") {
      type = MetricType::kHistogram;
    } else if (text == "summary") {
      type = MetricType::kSummary;
    } else if (text == "unknown") {
      type = MetricType::kUntyped;
    } else if (text == "info") {
      type = MetricType::kInfo;
    } else if (text == "gaugehistogram") {
      // No such type in the model: its _bucket/_gcount/_gsum lines pass through as untyped.
      type = MetricType::kUntyped;
      gauge_histogram = true;
    } else {
      return Fail("parse", "invalid metric type \"" + std::string(text) + "\"");
    }
    Type(name, type, gauge_histogram);
    return Ok{};
  }

  // HELP text must be valid UTF-8 as written; text format unescapes \\ and \n, OpenMetrics also
  // \" (Prometheus's helpReplacer / lvalReplacer); any other backslash stays as it is.
  Status Help(std::string_view name, std::string_view text) {
    if (!ValidUtf8(text)) return Fail("parse", "HELP is not UTF-8");
    std::string help;
    help.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char e = text[i + 1];
        if (e == 'n' || e == '\\' || (om_ && e == '"')) {
          help += e == 'n' ? '\n' : e;
          ++i;
          continue;
        }
      }
      help += text[i];
    }
    families_[FamilyFor(name)].help = std::move(help);
    return Ok{};
  }

  // Prometheus keeps no family for a TYPE: it only names the metadata, and every sample line is
  // a series under its own name whatever TYPE came before. The model groups a family's series
  // (a histogram's buckets, sum and count) when its lines fit the type; when they do not, the
  // family turns raw (ConvertToRaw) and each sample name becomes an untyped family, so the
  // series stay exactly what Prometheus has. A TYPE for a name already typed, or after its
  // samples, changes nothing.
  void Type(std::string_view name, MetricType type, bool gauge_histogram) {
    const size_t idx = FamilyFor(name);
    FamilyState& st = states_[idx];
    MetricFamily& f = families_[idx];
    if (st.typed || !f.samples.empty()) return;
    st.typed = true;
    f.type = type;
    const std::string base(name);
    if (gauge_histogram) {
      Disown(base, idx);
      return;
    }
    switch (type) {
      case MetricType::kCounter:
        if (om_) {
          // OpenMetrics names the family without _total; the model keeps the sample name.
          Disown(base, idx);
          Own(base + "_total", idx, Role::kValue);
          Own(base + "_created", idx, Role::kCreated);
          f.name = base + "_total";
          states_[idx].grouped = true;
        }
        break;
      case MetricType::kInfo:
        Disown(base, idx);
        Own(base + "_info", idx, Role::kValue);
        f.name = base + "_info";
        break;
      case MetricType::kHistogram:
        Disown(base, idx);
        Own(base + "_bucket", idx, Role::kBucket);
        Own(base + "_sum", idx, Role::kSum);
        Own(base + "_count", idx, Role::kCount);
        if (om_) Own(base + "_created", idx, Role::kCreated);
        states_[idx].grouped = true;
        break;
      case MetricType::kSummary:
        Own(base, idx, Role::kQuantile);
        Own(base + "_sum", idx, Role::kSum);
        Own(base + "_count", idx, Role::kCount);
        if (om_) Own(base + "_created", idx, Role::kCreated);
        states_[idx].grouped = true;
        break;
      default:
        break;
    }
  }

  // Gives the sample name to the family, unless another family has it already (its first
  // owner keeps it: e.g. `i_info` seen as a sample before `# TYPE i info`).
  bool Own(std::string sample_name, size_t idx, Role role) {
    last_name_ = {};
    auto [it, inserted] =
        by_sample_.try_emplace(std::move(sample_name), static_cast<uint32_t>(idx), role);
    if (!inserted && it->second.first != idx) return false;
    it->second = {static_cast<uint32_t>(idx), role};
    auto& names = states_[idx].names;
    for (auto& [n, r] : names) {
      if (n == it->first) {
        r = role;
        return true;
      }
    }
    names.emplace_back(it->first, role);
    return true;
  }
  void Disown(const std::string& sample_name, size_t idx) {
    last_name_ = {};
    auto it = by_sample_.find(sample_name);
    if (it == by_sample_.end() || it->second.first != idx) return;
    by_sample_.erase(it);
    std::erase_if(states_[idx].names, [&](const auto& n) { return n.first == sample_name; });
  }

  // The family a HELP/TYPE/UNIT line names, created untyped on first mention.
  size_t FamilyFor(std::string_view name) {
    if (auto it = by_comment_name_.find(name); it != by_comment_name_.end()) {
      return it->second;
    }
    const size_t idx = NewFamily(name);
    by_comment_name_.emplace(std::string(name), idx);
    Own(std::string(name), idx, Role::kValue);
    return idx;
  }

  size_t NewFamily(std::string_view name) {
    const size_t idx = families_.size();
    families_.emplace_back();
    states_.emplace_back();
    MetricFamily& f = families_.back();
    lent_.emplace_back();
    if (idx < recycled_.size()) {
      // The earlier result's family at this position lends its samples' heap parts (see
      // AppendSample). Only those are kept: the earlier Sample array is freed before this
      // family's is reserved, so a big family does not hold two arrays at once (100,000
      // Samples are 18 MB).
      std::vector<Sample>& old = recycled_[idx].samples;
      LentParts& lent = lent_.back();
      lent.labels.reserve(old.size());
      for (Sample& s : old) lent.labels.push_back(std::move(s.labels));
      const MetricType t = recycled_[idx].type;
      if (t == MetricType::kHistogram || t == MetricType::kSummary) {
        lent.parts.reserve(old.size());
        for (Sample& s : old) lent.parts.emplace_back(std::move(s.buckets), std::move(s.quantiles));
      }
      std::vector<Sample>().swap(old);
      f.samples.reserve(lent.labels.size());
      states_.back().series_keys.reserve(lent.labels.size());
    }
    f.name = std::string(name);
    return idx;
  }

  static void SkipBlanks(std::string_view line, size_t& i) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  }

  // A text sample line (promlex.l): name, optional blanks, optional {labels}, optional blanks,
  // value (up to a blank or '{'), optional blanks, optional timestamp (digits only), blanks.
  Status TextSample(std::string_view& line) {
    if (++stats_.samples > opt_.limits.max_samples) {
      return Fail("sample_limit",
                  "more than " + std::to_string(opt_.limits.max_samples) + " samples");
    }
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    if (i == 0 || !IsNameStart(line[0])) return Fail("parse", "bad metric name");
    const std::string_view name = line.substr(0, i);
    nlabels_ = 0;
    has_le_ = has_quantile_ = false;
    emptied_.clear();
    size_t key_end = i;
    SkipBlanks(line, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      const size_t physical = line.size();
      if (Status st = TextLabels(line, i); !st.ok()) return st;
      if (line.size() != physical) traceable_ = false;  // a label value over several lines
      key_end = i;
      SkipBlanks(line, i);
    }
    TraceSample(line, key_end);
    const size_t vstart = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '{') ++i;
    double value = 0;
    if (i == vstart) return Fail("parse", "expected a value after the series");
    if (!ParseGoFloat(line.substr(vstart, i - vstart), value)) return Fail("parse", "bad value");
    SkipBlanks(line, i);
    std::optional<int64_t> ts_ms;
    if (i < line.size()) {
      const size_t tstart = i;
      while (i < line.size() && IsDigit(line[i])) ++i;
      int64_t t = 0;
      const auto [p, ec] = std::from_chars(line.data() + tstart, line.data() + i, t);
      if (i == tstart || ec != std::errc() || p != line.data() + i) {
        return Fail("parse", "bad timestamp");
      }
      ts_ms = t;
      SkipBlanks(line, i);
      if (i < line.size()) return Fail("parse", "unexpected text after the timestamp");
    }
    if (ts_ms) traceable_ = false;
    return Store(name, value, ts_ms, std::nullopt);
  }

  // Reads a label set with `lex` (a TextLabelLexer or an OpenMetricsLabelLexer), each label
  // through `on_label` (Status(name, value as written, escaped)).
  template <typename Lexer, typename OnLabel>
  Status ReadLabels(Lexer& lex, const OnLabel& on_label) {
    while (true) {
      switch (lex.Next()) {
        case LabelLexer::Token::kEnd:
          return Ok{};
        case LabelLexer::Token::kError:
          return Fail("parse", lex.error());
        case LabelLexer::Token::kLabel:
          if (Status st = on_label(lex.name(), lex.value(), lex.escaped()); !st.ok()) return st;
      }
    }
  }

  // Text labels after '{'; a value over several lines extends `line`.
  Status TextLabels(std::string_view& line, size_t& i) {
    TextLabelLexer lex(body_, line, i, line_no_);
    return ReadLabels(lex, [this](std::string_view name, std::string_view value, bool escaped) {
      return AddLabel(name, value, escaped);
    });
  }

  // An OpenMetrics sample line: name, optional {labels}, one space, value, optionally one
  // space and a timestamp (a float, seconds), optionally " # {labels} value [timestamp]".
  Status OmSample(std::string_view line) {
    if (++stats_.samples > opt_.limits.max_samples) {
      return Fail("sample_limit",
                  "more than " + std::to_string(opt_.limits.max_samples) + " samples");
    }
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    if (i == 0 || !IsNameStart(line[0])) return Fail("parse", "expected a valid start token");
    const std::string_view name = line.substr(0, i);
    nlabels_ = 0;
    has_le_ = has_quantile_ = false;
    emptied_.clear();
    if (i < line.size() && line[i] == '{') {
      ++i;
      if (Status st = OmLabels(line, i, nullptr); !st.ok()) return st;
    }
    TraceSample(line, i);
    if (i >= line.size() || line[i] != ' ') return Fail("parse", "expected a value");
    ++i;
    const std::string_view value_text = Token(line, i);
    double value = 0;
    if (!ParseGoFloat(value_text, value)) return Fail("parse", "bad value");
    std::optional<int64_t> ts_ms;
    std::optional<Exemplar> exemplar;
    if (i < line.size() && !line.substr(i).starts_with(" # {")) {
      ++i;
      double ts = 0;
      // Milliseconds must fit int64: Go's int64() of a larger float is undefined (amd64 gives
      // the minimum), and in C++ the cast itself is undefined (UBSan, fuzz.exposition).
      constexpr double kTwo63 = 9223372036854775808.0;
      if (!ParseGoFloat(Token(line, i), ts) || !std::isfinite(ts) || ts * 1000.0 >= kTwo63 ||
          ts * 1000.0 < -kTwo63) {
        return Fail("parse", "bad timestamp");
      }
      // As Prometheus: int64(ts * 1000), truncated.
      ts_ms = static_cast<int64_t>(ts * 1000.0);
    }
    if (i < line.size()) {
      traceable_ = false;  // an exemplar, even one too long to keep
      if (!line.substr(i).starts_with(" # {")) return Fail("parse", "unexpected text");
      // Prometheus 2.42 takes exemplars only on _total and _bucket samples.
      if (!name.ends_with("_total") && !name.ends_with("_bucket")) {
        return Fail("parse", "exemplar on a sample that is neither _total nor _bucket");
      }
      i += 4;
      if (Status st = OmExemplar(line, i, exemplar); !st.ok()) return st;
    }
    if (ts_ms) traceable_ = false;  // (an exemplar already ended the trace above)
    return Store(name, value, ts_ms, std::move(exemplar));
  }

  // A token up to the next space (or the end), which must not be empty.
  static std::string_view Token(std::string_view line, size_t& i) {
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    return line.substr(start, i - start);
  }

  // `{a="b"} 1.5 [ts]` after " # {".
  Status OmExemplar(std::string_view line, size_t& i, std::optional<Exemplar>& out) {
    Exemplar e;
    if (Status st = OmLabels(line, i, &e.labels); !st.ok()) return st;
    if (i >= line.size() || line[i] != ' ') return Fail("parse", "expected an exemplar value");
    ++i;
    if (!ParseGoFloat(Token(line, i), e.value)) return Fail("parse", "bad exemplar value");
    if (i < line.size()) {
      ++i;
      double ts = 0;
      if (!ParseGoFloat(Token(line, i), ts) || !std::isfinite(ts)) {
        return Fail("parse", "bad exemplar timestamp");
      }
      e.timestamp = ts;
      if (i < line.size()) return Fail("parse", "unexpected text after the exemplar");
    }
    // Longer than OpenMetrics allows: Prometheus does not store it but keeps the sample.
    size_t runes = 0;
    for (const auto& l : e.labels) runes += Utf8Length(l.name) + Utf8Length(l.value);
    if (runes <= 128) out = std::move(e);
    return Ok{};
  }

  static size_t Utf8Length(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
  }

  // OpenMetrics labels after '{'. `exemplar`: its labels, kept as written.
  Status OmLabels(std::string_view line, size_t& i, lookout::Labels* exemplar) {
    OpenMetricsLabelLexer lex(line, i);
    if (exemplar == nullptr) {
      return ReadLabels(lex, [this](std::string_view name, std::string_view value, bool escaped) {
        return AddLabel(name, value, escaped);
      });
    }
    return ReadLabels(lex, [&](std::string_view name, std::string_view value, bool) -> Status {
      if (!ValidUtf8(value)) return Fail("parse", "invalid UTF-8 label value");
      exemplar->push_back({std::string(name), std::string(value)});
      return Ok{};
    });
  }

  // One label of a sample line. The value must be valid UTF-8 as written; \" \\ \n are
  // unescaped, any other backslash stays (lvalReplacer). An empty value is no label (the TSDB
  // drops it), a __name__ label is refused (Prometheus fails the scrape on it), le and quantile
  // are kept aside until the family says whether they are its bucket/quantile.
  Status AddLabel(std::string_view lname, std::string_view raw, bool escaped) {
    // With metric_relabel_configs the limits apply to what the rules leave (Relabel), as
    // Prometheus checks them after relabeling.
    if (!relabel_ && lname.size() > opt_.limits.max_label_name_length) {
      return Fail("label_length",
                  "label name longer than " + std::to_string(opt_.limits.max_label_name_length));
    }
    if (!ValidUtf8(raw)) return Fail("parse", "label value is not UTF-8");
    std::string& value = value_;  // scratch: keeps its capacity from line to line
    if (!escaped) {
      value.assign(raw);
    } else {
      UnescapeLabelValue(raw, value);
    }
    // Any __name__ label fails in Prometheus: a second name (the TSDB refuses it), or an empty
    // one, which removes the metric name itself (errNameLabelMandatory).
    if (lname == "__name__") return Fail("parse", "a __name__ label");
    if (value.empty()) {
      // labels.Builder deletes every label of a name that has an empty value.
      emptied_.emplace_back(lname);
      return Ok{};
    }
    if (!relabel_ && value.size() > opt_.limits.max_label_value_length) {
      return Fail("label_length",
                  "label value longer than " + std::to_string(opt_.limits.max_label_value_length));
    }
    if (lname == "le" && !has_le_) {
      le_.assign(value);
      has_le_ = true;
      return Ok{};
    }
    if (lname == "quantile" && !has_quantile_) {
      quantile_.assign(value);
      has_quantile_ = true;
      return Ok{};
    }
    if (!relabel_ && nlabels_ + 1 + opt_.target_labels.size() > opt_.limits.max_labels) {
      return Fail("label_limit", "more than " + std::to_string(opt_.limits.max_labels) + " labels");
    }
    // Slots past nlabels_ are left from earlier lines: assigning reuses their capacity.
    Label& slot = nlabels_ < labels_.size() ? labels_[nlabels_] : labels_.emplace_back();
    slot.name.assign(lname);
    slot.value.assign(value);
    ++nlabels_;
    return Ok{};
  }

  bool IsTargetLabel(std::string_view name) const {
    for (const auto& t : opt_.target_labels) {
      if (t.name == name) return true;
    }
    return false;
  }

  // Sorts the line's labels (stable: of two labels with one name the first stays first) and
  // refuses a name twice, as the TSDB does; a name twice that is a target label's is no error
  // there (the target label replaces both, the first value becomes exported_<name>), so the
  // later ones are dropped.
  Status SortAndCheckLabels(std::string_view name) {
    if (!emptied_.empty()) {
      auto emptied = [&](std::string_view n) {
        return std::find(emptied_.begin(), emptied_.end(), n) != emptied_.end();
      };
      if (has_le_ && emptied("le")) has_le_ = false;
      if (has_quantile_ && emptied("quantile")) has_quantile_ = false;
      size_t w = 0;
      for (size_t r = 0; r < nlabels_; ++r) {
        if (emptied(labels_[r].name)) continue;
        if (w != r) std::swap(labels_[w], labels_[r]);
        ++w;
      }
      nlabels_ = w;
      emptied_.clear();
    }
    for (size_t a = 1; a < nlabels_; ++a) {
      for (size_t b = a; b > 0 && labels_[b].name < labels_[b - 1].name; --b) {
        std::swap(labels_[b], labels_[b - 1]);
      }
    }
    size_t w = 0;
    for (size_t r = 0; r < nlabels_; ++r) {
      const std::string& n = labels_[r].name;
      const bool dup_le = (has_le_ && n == "le") || (has_quantile_ && n == "quantile");
      if ((w > 0 && labels_[w - 1].name == n) || dup_le) {
        if (dup_le || !IsTargetLabel(n)) {
          return Fail("parse", std::string(name) + " has the label " + n + " twice");
        }
        continue;
      }
      if (w != r) std::swap(labels_[w], labels_[r]);
      ++w;
    }
    nlabels_ = w;
    return Ok{};
  }

  // The line's le/quantile as ordinary labels (the family has no use for them as such).
  void AppendSpecial(bool le, bool quantile) {
    if (le && has_le_) {
      Label& slot = nlabels_ < labels_.size() ? labels_[nlabels_] : labels_.emplace_back();
      slot.name.assign("le");
      slot.value.assign(le_);
      ++nlabels_;
    }
    if (quantile && has_quantile_) {
      Label& slot = nlabels_ < labels_.size() ? labels_[nlabels_] : labels_.emplace_back();
      slot.name.assign("quantile");
      slot.value.assign(quantile_);
      ++nlabels_;
    }
  }

  Status Store(std::string_view name, double value, std::optional<int64_t> ts_ms,
               std::optional<Exemplar> exemplar) {
    if (Status st = SortAndCheckLabels(name); !st.ok()) return st;
    if (relabel_) {
      bool keep = true;
      if (Status st = Relabel(name, keep); !st.ok()) return st;
      if (!keep) {
        if (traceable_) trace_->lines.back().kind = LineTrace::Kind::kDropped;
        return Ok{};
      }
    }
    uint64_t key = 0x84222325cbf29ce4ULL;
    for (size_t k = 0; k < nlabels_; ++k) {
      key = Mix(key, labels_[k].name);
      key = Mix(key, labels_[k].value);
    }
    const uint64_t le_key = has_le_ ? SpecialKey("le", le_) : 0;
    const uint64_t q_key = has_quantile_ ? SpecialKey("quantile", quantile_) : 0;
    auto [idx, role] = Resolve(name);
    if (states_[idx].grouped) {
      const MetricType type = families_[idx].type;
      const bool hist = type == MetricType::kHistogram;
      const bool summ = type == MetricType::kSummary;
      const uint64_t series_key = key ^ (hist ? 0 : le_key) ^ (summ ? 0 : q_key);
      const Fit fit = StoreGrouped(idx, role, series_key, value, ts_ms, exemplar);
      if (fit == Fit::kStored) {
        TraceStored(idx, role);
        return Ok{};
      }
      // The line does not fit the family: it and its series so far become untyped families.
      ConvertToRaw(idx);
      std::tie(idx, role) = Resolve(name);
    }
    return StoreValue(idx, key ^ le_key ^ q_key, value, ts_ms, std::move(exemplar));
  }

  // metric_relabel_configs, where Prometheus applies them: to the series as it would be stored
  // (the line's labels with le/quantile, app labels clashing with a target label renamed, the
  // target labels, and __name__). The line then goes on as the rules left it: under its new
  // name, with its new labels (which hold the target labels: FillLabels adds none). `keep`
  // false: a rule dropped it, or its new name cannot be written (counted as invalid). No
  // __name__ left fails the scrape, as in Prometheus.
  Status Relabel(std::string_view& name, bool& keep) {
    const size_t own = nlabels_;
    AppendSpecial(true, true);
    FillLabels(relabel_sample_);
    nlabels_ = own;
    Labels& full = relabel_sample_.labels;
    full.push_back(Label{"__name__", std::string(name)});
    std::stable_sort(full.begin(), full.end(),
                     [](const Label& a, const Label& b) { return a.name < b.name; });
    if (!opt_.relabel->Apply(full)) {
      ++stats_.relabel_dropped;
      keep = false;
      return Ok{};
    }
    auto it =
        std::find_if(full.begin(), full.end(), [](const Label& l) { return l.name == "__name__"; });
    if (it == full.end()) return Fail("parse", "no __name__ left by metric_relabel_configs");
    // Prometheus fails the whole scrape on a name that is not valid (scrape.go: "invalid metric
    // name or label names"), whatever made it (labelmap, a rule's literal target_label).
    const bool bad_name = std::any_of(full.begin(), full.end(), [](const Label& l) {
      return l.name != "__name__" && !IsModelLabelName(l.name);
    });
    if (!IsValidMetricName(it->value) || bad_name) {
      return Fail("parse", "invalid metric name or label names after metric_relabel_configs");
    }
    // The limits, on what the rules left (__name__ counted, as Prometheus counts it).
    if (full.size() > opt_.limits.max_labels) {
      return Fail("label_limit", "more than " + std::to_string(opt_.limits.max_labels) +
                                     " labels after metric_relabel_configs");
    }
    for (const Label& l : full) {
      if (l.name == "__name__") continue;
      if (l.name.size() > opt_.limits.max_label_name_length) {
        return Fail("label_length",
                    "label name longer than " + std::to_string(opt_.limits.max_label_name_length));
      }
      if (l.value.size() > opt_.limits.max_label_value_length) {
        return Fail("label_length", "label value longer than " +
                                        std::to_string(opt_.limits.max_label_value_length));
      }
    }
    if (it->value != name) name = *relabeled_names_.insert(it->value).first;
    nlabels_ = 0;
    has_le_ = has_quantile_ = false;
    for (const Label& l : full) {
      if (l.name == "__name__") continue;
      if (l.name == "le") {
        le_.assign(l.value);
        has_le_ = true;
      } else if (l.name == "quantile") {
        quantile_.assign(l.value);
        has_quantile_ = true;
      } else {
        Label& slot = nlabels_ < labels_.size() ? labels_[nlabels_] : labels_.emplace_back();
        slot.name.assign(l.name);
        slot.value.assign(l.value);
        ++nlabels_;
      }
    }
    return Ok{};
  }

  // The family and role of a sample name; a name no family owns starts an untyped family of its
  // own (a sample without TYPE, or one its family's type has no place for, as Prometheus keeps
  // every sample line as a series).
  std::pair<uint32_t, Role> Resolve(std::string_view name) {
    if (!last_name_.empty() && name == last_name_) return {last_idx_, last_role_};
    uint32_t idx;
    Role role;
    if (auto it = by_sample_.find(name); it != by_sample_.end()) {
      idx = it->second.first;
      role = it->second.second;
    } else {
      idx = static_cast<uint32_t>(NewFamily(name));
      role = Role::kValue;
      Own(std::string(name), idx, role);
      by_comment_name_.try_emplace(std::string(name), idx);
    }
    last_name_ = name;
    last_idx_ = idx;
    last_role_ = role;
    return {idx, role};
  }

  // A new Sample at the end of the family's samples, reusing a recycled one when there is one.
  Sample& AppendSample(size_t idx) {
    MetricFamily& f = families_[idx];
    FamilyState& st = states_[idx];
    if (f.samples.size() == 1024 && f.samples.capacity() <= 1024) {
      // A big family: reserve for every line left rather than doubling (and moving) its
      // samples ten more times; Finish() gives back what other families' lines did not use.
      // Lines left: this one (already counted in line_no_) and one more when the body does not
      // end with a newline. One short made the vector double to twice the body's samples.
      const size_t expect = 1024 + 2 + (total_lines_ - std::min(total_lines_, line_no_));
      f.samples.reserve(expect);
      st.series_keys.reserve(expect);
      if (st.grouped) st.series.Reserve(expect);
    }
    LentParts& lent = lent_[idx];
    const size_t n = f.samples.size();
    Sample& s = f.samples.emplace_back();
    // The heap parts of the Sample at this position in the earlier parse: its strings and
    // vectors keep their capacity, so a steady scrape allocates (almost) nothing.
    if (n < lent.labels.size()) s.labels = std::move(lent.labels[n]);
    if (n < lent.parts.size()) {
      s.buckets = std::move(lent.parts[n].first);
      s.buckets.clear();
      s.quantiles = std::move(lent.parts[n].second);
      s.quantiles.clear();
    }
    return s;
  }

  // A one-value series (counter in text, gauge, untyped, info, or a raw family's).
  Status StoreValue(size_t idx, uint64_t key, double value, std::optional<int64_t> ts_ms,
                    std::optional<Exemplar> exemplar) {
    MetricFamily& f = families_[idx];
    if (f.type == MetricType::kInfo && value != 1) {
      // The encoders write an info sample as 1: one that is not stays a plain series.
      f.type = MetricType::kUntyped;
      traceable_ = false;  // the type depends on a value
    }
    // Every line is kept with its series' key; repeated series go at the end, all at once
    // (RemoveRepeats: no hash lookup per line). Except a repeat of the family's line before:
    // folded in now, so a run of one series costs one sample. Exact, because TakeRepeat's rule is
    // a maximum by time (no timestamp counting as latest, ties keeping the earlier), and a
    // maximum can take its arguments in any grouping.
    FamilyState& st = states_[idx];
    if (!st.series_keys.empty() && st.series_keys.back() == key) {
      TakeRepeat(f.samples.back(), value, ts_ms);
      ++stats_.duplicates;
      return Ok{};
    }
    AppendSpecial(true, true);
    Sample& s = AppendSample(idx);
    FillLabels(s);
    s.value = value;
    s.timestamp_ms = ts_ms;
    if (exemplar) s.exemplar = std::move(exemplar);
    st.series_keys.push_back(key);
    stored_sample_ = f.samples.size() - 1;
    TraceStored(idx, Role::kValue);
    return Ok{};
  }

  // The rule for a repeated series: the first one stays (the TSDB refuses a second sample at
  // its timestamp), unless the repeat is later in time (no timestamp counting as now): that is
  // the one a query at now sees.
  static void TakeRepeat(Sample& kept, double value, std::optional<int64_t> ts_ms) {
    if (kept.timestamp_ms && (!ts_ms || *ts_ms > *kept.timestamp_ms)) {
      kept.value = value;
      kept.timestamp_ms = ts_ms;
    }
  }

  // The repeated series of a one-value family, found from the keys StoreValue kept, applied in
  // line order, as they came (TakeRepeat).
  void RemoveRepeats(size_t fi) {
    FamilyState& st = states_[fi];
    std::vector<Sample>& samples = families_[fi].samples;
    if (st.grouped || st.series_keys.size() != samples.size()) return;
    const auto repeats = FindRepeats(st.series_keys);
    if (repeats.empty()) return;
    std::vector<bool> drop(samples.size(), false);
    for (const auto& [first, later] : repeats) {
      TakeRepeat(samples[first], samples[later].value, samples[later].timestamp_ms);
      drop[later] = true;
    }
    stats_.duplicates += repeats.size();
    size_t out = 0;
    for (size_t i = 0; i < samples.size(); ++i) {
      if (drop[i]) continue;
      if (out != i) samples[out] = std::move(samples[i]);
      ++out;
    }
    samples.resize(out);
    st.series_keys.clear();
  }

  enum class Fit { kStored, kNoFit };

  // A line of a histogram, summary or OpenMetrics counter, into its series' parts. kNoFit when
  // the model cannot hold it as written: a bucket without le or with one that is no number, a
  // count that is no whole number, an le/quantile on a _sum, parts with different timestamps,
  // two spellings of one bound.
  Fit StoreGrouped(size_t idx, Role role, uint64_t series_key, double value,
                   std::optional<int64_t> ts_ms, std::optional<Exemplar>& exemplar) {
    const MetricType type = families_[idx].type;
    const bool hist = type == MetricType::kHistogram;
    const bool summ = type == MetricType::kSummary;
    const bool special = hist ? has_le_ : summ ? has_quantile_ : false;
    double bound = 0;
    switch (role) {
      case Role::kBucket:
        if (!has_le_ || !ParseGoFloat(le_, bound) || std::isnan(bound) || !IsCount(value)) {
          return Fit::kNoFit;
        }
        break;
      case Role::kQuantile:
        if (!has_quantile_ || !ParseGoFloat(quantile_, bound)) return Fit::kNoFit;
        break;
      case Role::kCount:
        if (special || !IsCount(value)) return Fit::kNoFit;
        break;
      default:
        if (special) return Fit::kNoFit;
    }
    MetricFamily& f = families_[idx];
    FamilyState& st = states_[idx];
    const auto [si, inserted] =
        st.series.FindOrInsert(series_key, static_cast<uint32_t>(f.samples.size()));
    stored_sample_ = si;
    stored_bound_ = bound;
    if (inserted) {
      AppendSpecial(!hist, !summ);
      Sample& s = AppendSample(idx);
      FillLabels(s);
      s.sum = std::numeric_limits<double>::quiet_NaN();
      s.timestamp_ms = ts_ms;
      st.parts.push_back(0);
      st.series_keys.push_back(series_key);
    }
    Sample& s = families_[idx].samples[si];
    if (s.timestamp_ms != ts_ms) return Fit::kNoFit;
    uint8_t& parts = st.parts[si];
    switch (role) {
      case Role::kValue:
        if (parts & kHasValue) break;  // a repeated series: the first one stays
        s.value = value;
        if (exemplar) s.exemplar = std::move(exemplar);
        parts |= kHasValue;
        return Fit::kStored;
      case Role::kCreated:
        if (parts & kHasCreated) break;
        s.created = value;
        parts |= kHasCreated;
        return Fit::kStored;
      case Role::kSum:
        if (parts & kHasSum) break;
        s.sum = value;
        parts |= kHasSum;
        return Fit::kStored;
      case Role::kCount:
        if (parts & kHasCount) break;
        s.count = static_cast<uint64_t>(value);
        parts |= kHasCount;
        return Fit::kStored;
      case Role::kBucket: {
        for (const auto& b : s.buckets) {
          if (b.le == le_) {
            ++stats_.duplicates;
            return Fit::kStored;
          }
          if (b.upper_bound == bound) return Fit::kNoFit;  // "1" and "1.0": two series
        }
        Bucket& b = s.buckets.emplace_back();
        b.upper_bound = bound;
        b.le = le_;
        b.cumulative_count = static_cast<uint64_t>(value);
        b.exemplar = std::move(exemplar);
        if (std::isinf(bound) && bound > 0) parts |= kHasInf;
        return Fit::kStored;
      }
      case Role::kQuantile: {
        for (const auto& q : s.quantiles) {
          if (q.text == quantile_) {
            ++stats_.duplicates;
            return Fit::kStored;
          }
          if (q.quantile == bound || (std::isnan(q.quantile) && std::isnan(bound))) {
            return Fit::kNoFit;
          }
        }
        s.quantiles.push_back(Quantile{bound, value, quantile_});
        stored_k_ = s.quantiles.size() - 1;
        return Fit::kStored;
      }
    }
    ++stats_.duplicates;
    return Fit::kStored;
  }

  // Turns a family raw: each sample name it owned becomes an untyped family, and each part of
  // its series so far a series there (le/quantile as labels), with the same identity a later
  // line of that name gets.
  void ConvertToRaw(size_t idx) {
    last_name_ = {};
    traceable_ = false;  // lines already traced moved
    if (!states_[idx].grouped) {
      // One sample name, one value per series: only the type goes.
      families_[idx].type = MetricType::kUntyped;
      return;
    }
    constexpr size_t kRoles = 6;
    std::array<size_t, kRoles> to{};
    to.fill(SIZE_MAX);
    const auto names = std::move(states_[idx].names);
    states_[idx].names.clear();
    for (const auto& [n, r] : names) {
      by_sample_.erase(n);
      const size_t raw = NewFamily(n);
      Own(n, raw, Role::kValue);
      by_comment_name_.try_emplace(n, raw);
      to[static_cast<size_t>(r)] = raw;
    }
    FamilyState& st = states_[idx];
    st.grouped = false;
    std::vector<Sample> samples = std::move(families_[idx].samples);
    families_[idx].samples.clear();
    const std::vector<uint8_t> parts = std::move(st.parts);
    const std::vector<uint64_t> keys = std::move(st.series_keys);
    st.parts.clear();
    st.series_keys.clear();
    st.series = SeriesIndex();
    auto add = [&](Role r, uint64_t key, const Labels& labels, const char* extra_name,
                   const std::string& extra_value, double v, std::optional<int64_t> ts,
                   std::optional<Exemplar> ex) {
      const size_t raw = to[static_cast<size_t>(r)];
      if (raw == SIZE_MAX) return;
      MetricFamily& rf = families_[raw];
      states_[raw].series_keys.push_back(key);  // repeats go in RemoveRepeats
      Sample& s = rf.samples.emplace_back();
      s.labels = labels;
      if (extra_name != nullptr) s.labels.push_back({extra_name, extra_value});
      s.value = v;
      s.timestamp_ms = ts;
      s.exemplar = std::move(ex);
    };
    for (size_t k = 0; k < samples.size(); ++k) {
      Sample& s = samples[k];
      const uint8_t p = parts[k];
      const uint64_t key = keys[k];
      for (auto& b : s.buckets) {
        add(Role::kBucket, key ^ SpecialKey("le", b.le), s.labels, "le", b.le,
            static_cast<double>(b.cumulative_count), s.timestamp_ms, std::move(b.exemplar));
      }
      for (const auto& q : s.quantiles) {
        add(Role::kQuantile, key ^ SpecialKey("quantile", q.text), s.labels, "quantile", q.text,
            q.value, s.timestamp_ms, std::nullopt);
      }
      static const std::string kNone;
      if (p & kHasValue) {
        add(Role::kValue, key, s.labels, nullptr, kNone, s.value, s.timestamp_ms,
            std::move(s.exemplar));
      }
      if (p & kHasSum) add(Role::kSum, key, s.labels, nullptr, kNone, s.sum, s.timestamp_ms, {});
      if (p & kHasCount) {
        add(Role::kCount, key, s.labels, nullptr, kNone, static_cast<double>(s.count),
            s.timestamp_ms, {});
      }
      if (p & kHasCreated) {
        add(Role::kCreated, key, s.labels, nullptr, kNone, *s.created, s.timestamp_ms, {});
      }
    }
  }

  // The line's labels, app labels clashing with a target label renamed exported_<name>, then
  // the target labels when attached. Assigned, not moved: the sample's (possibly recycled)
  // strings and the scratch labels_ both keep their capacity. A relabeled line's labels are
  // already the whole series (Relabel): copied as they are.
  void FillLabels(Sample& s) const {
    const size_t n = nlabels_;
    const bool whole = relabel_ && &s != &relabel_sample_;
    const bool attach = !whole && (opt_.attach_target_labels || relabel_);
    const size_t t = attach ? opt_.target_labels.size() : 0;
    s.labels.resize(n + t);
    for (size_t i = 0; i < n; ++i) {
      s.labels[i].name.assign(labels_[i].name);
      s.labels[i].value.assign(labels_[i].value);
    }
    if (whole) return;
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

  // Whether every series of a grouped family is whole as the model writes it: a histogram with
  // +Inf, _sum, _count equal to +Inf and buckets that never decrease; a summary with _sum and
  // _count; a counter with its _total. The encoders would otherwise write series the body did
  // not have (or an invalid histogram).
  bool Whole(size_t idx) {
    MetricFamily& f = families_[idx];
    const FamilyState& st = states_[idx];
    for (size_t si = 0; si < f.samples.size(); ++si) {
      Sample& s = f.samples[si];
      const uint8_t p = st.parts[si];
      switch (f.type) {
        case MetricType::kHistogram: {
          if ((p & (kHasSum | kHasCount | kHasInf)) != (kHasSum | kHasCount | kHasInf)) {
            return false;
          }
          std::sort(s.buckets.begin(), s.buckets.end(),
                    [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
          for (size_t k = 1; k < s.buckets.size(); ++k) {
            if (s.buckets[k].cumulative_count < s.buckets[k - 1].cumulative_count) return false;
          }
          if (s.buckets.back().cumulative_count != s.count) return false;
          break;
        }
        case MetricType::kSummary:
          if ((p & (kHasSum | kHasCount)) != (kHasSum | kHasCount)) return false;
          break;
        default:
          if (!(p & kHasValue)) return false;
      }
    }
    return true;
  }

  // The names a family takes in either exposition: its own and, for a typed family, every
  // sample name its OpenMetrics family may use (OpenMetrics forbids a clash of those).
  static void ReservedNames(const MetricFamily& f, std::vector<std::string>& out) {
    out.clear();
    const std::string& n = f.name;
    auto add_om = [&](std::string_view base, std::initializer_list<const char*> suffixes) {
      out.emplace_back(base);
      for (const char* s : suffixes) out.push_back(std::string(base) + s);
    };
    switch (f.type) {
      case MetricType::kCounter:
        if (n.ends_with("_total")) {
          add_om(std::string_view(n).substr(0, n.size() - 6), {"_total", "_created"});
        } else {
          out.push_back(n);
        }
        break;
      case MetricType::kInfo:
        if (n.ends_with("_info")) {
          add_om(std::string_view(n).substr(0, n.size() - 5), {"_info"});
        } else {
          out.push_back(n);
        }
        break;
      case MetricType::kHistogram:
        add_om(n, {"_bucket", "_sum", "_count", "_created"});
        break;
      case MetricType::kSummary:
        add_om(n, {"_sum", "_count", "_created"});
        break;
      default:
        out.push_back(n);
    }
  }

  // Families that cannot be written as they are turn raw: grouped ones with a series that is
  // not whole, then typed ones whose names clash with another family's (e.g. a counter `c`,
  // whose OpenMetrics family owns c_total and c_created, and a plain sample `c_created`, as
  // the python client writes them in text). Then families without samples go.
  void Finish() {
    const size_t n = families_.size();
    for (size_t fi = 0; fi < n; ++fi) {
      if (states_[fi].grouped && !Whole(fi)) ConvertToRaw(fi);
    }
    auto plain = [](const MetricFamily& f) {
      return f.type == MetricType::kUntyped || f.type == MetricType::kGauge;
    };
    std::vector<std::string> reserved;
    for (bool changed = true; changed;) {
      changed = false;
      std::unordered_set<std::string> taken;
      for (const auto& f : families_) {
        if (!f.samples.empty() && plain(f)) taken.insert(f.name);
      }
      for (size_t fi = 0; fi < families_.size() && !changed; ++fi) {
        const MetricFamily& f = families_[fi];
        if (f.samples.empty() || plain(f)) continue;
        ReservedNames(f, reserved);
        if (std::any_of(reserved.begin(), reserved.end(),
                        [&](const std::string& r) { return taken.contains(r); })) {
          ConvertToRaw(fi);  // appends families: start over
          changed = true;
        }
        for (auto& r : reserved) taken.insert(std::move(r));
      }
    }
    for (size_t fi = 0; fi < families_.size(); ++fi) RemoveRepeats(fi);
    if (traceable_) {
      // Where each family goes once the empty ones are gone.
      kept_index_.resize(families_.size());
      uint32_t next = 0;
      for (size_t fi = 0; fi < families_.size(); ++fi) {
        kept_index_[fi] = next;
        if (!families_[fi].samples.empty()) ++next;
      }
    }
    std::erase_if(families_, [](const MetricFamily& f) { return f.samples.empty(); });
    for (auto& f : families_) {
      if (f.samples.capacity() > f.samples.size() + f.samples.size() / 2 + 1024) {
        f.samples.shrink_to_fit();
      }
    }
  }

  // LineTrace: a comment line, whole.
  void TraceComment(std::string_view line) {
    if (!traceable_) return;
    LineTrace::Line& l = trace_->lines.emplace_back();
    l.start = static_cast<uint32_t>(line.data() - body_.data());
    l.key_size = static_cast<uint32_t>(line.size());
  }

  // A sample line whose name and labels end at `key_end`; where it went is set when stored.
  void TraceSample(std::string_view line, size_t key_end) {
    if (!traceable_) return;
    LineTrace::Line& l = trace_->lines.emplace_back();
    l.start = static_cast<uint32_t>(line.data() - body_.data());
    l.key_size = static_cast<uint32_t>(key_end);
    l.kind = LineTrace::Kind::kSample;
  }

  // The line just traced was stored in family `idx`, sample stored_sample_, as `role`.
  void TraceStored(size_t idx, Role role) {
    if (!traceable_) return;
    LineTrace::Line& l = trace_->lines.back();
    l.family = static_cast<uint32_t>(idx);
    l.sample = static_cast<uint32_t>(stored_sample_);
    l.part = role;
    if (role == Role::kBucket) {
      // Its place among the buckets is known once Finish has sorted them: the bound for now.
      trace_bounds_.resize(trace_->lines.size());  // grows geometrically, as any vector
      trace_bounds_.back() = stored_bound_;
    } else if (role == Role::kQuantile) {
      l.index_in_sample = static_cast<uint32_t>(stored_k_);
    }
  }

  // After Finish: families renumbered without the empty ones, buckets placed by their bound.
  void FinishTrace() {
    if (trace_ == nullptr) return;
    if (!traceable_ || stats_.duplicates != 0) {
      trace_->lines.clear();
      return;
    }
    for (size_t n = 0; n < trace_->lines.size(); ++n) {
      LineTrace::Line& l = trace_->lines[n];
      if (l.kind != LineTrace::Kind::kSample) continue;
      l.family = kept_index_[l.family];
      if (l.part != CompactFamilies::Part::kBucket) continue;
      const auto& buckets = families_[l.family].samples[l.sample].buckets;
      const auto it = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& b) {
        return b.upper_bound == trace_bounds_[n];
      });
      if (it == buckets.end()) {  // cannot happen: a bound is stored once per series
        trace_->lines.clear();
        return;
      }
      l.index_in_sample = static_cast<uint32_t>(it - buckets.begin());
    }
    trace_->complete = true;
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
  // metric_relabel_configs given (and not empty); its scratch series, and the new names the
  // rules gave lines (string_views of them name families, like views of the body do).
  const bool relabel_ = opt_.relabel != nullptr && !opt_.relabel->empty();
  Sample relabel_sample_;
  std::unordered_set<std::string> relabeled_names_;
  std::vector<MetricFamily> families_;
  std::vector<FamilyState> states_;  // parallel to families_
  // An earlier result handed back for reuse, and per family what its samples lend.
  std::vector<MetricFamily> recycled_;
  struct LentParts {
    std::vector<lookout::Labels> labels;
    // Histograms' and summaries' only (a counter's are empty: not worth 48 bytes a series).
    std::vector<std::pair<std::vector<Bucket>, std::vector<Quantile>>> parts;
  };
  std::vector<LentParts> lent_;  // parallel to families_
  StringMap<std::pair<uint32_t, Role>> by_sample_;
  StringMap<size_t> by_comment_name_;
  // Per-line scratch, reused to avoid allocations.
  lookout::Labels labels_;  // the first nlabels_ are this line's; the rest are spare slots
  size_t nlabels_ = 0;
  std::string value_;
  std::vector<std::string> emptied_;  // names given an empty value on this line
  std::string le_;
  std::string quantile_;
  bool has_le_ = false;
  bool has_quantile_ = false;
  // LineTrace, when asked: whether the lines so far can be traced, and the last line's place.
  LineTrace* trace_ = nullptr;
  bool traceable_ = false;
  size_t stored_sample_ = 0;
  double stored_bound_ = 0;
  size_t stored_k_ = 0;
  std::vector<double> trace_bounds_;  // per traced line: a bucket's bound
  std::vector<uint32_t> kept_index_;  // per family before Finish: its index after
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
                                                  std::vector<MetricFamily> recycle,
                                                  LineTrace* trace) {
  Parser p(body, format, options, std::move(recycle), trace);
  return p.Run(stats);
}

}  // namespace lookout::app
