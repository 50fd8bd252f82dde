#pragma once
// Lexers for a sample line's label set, `{name="value",...}`, as Prometheus reads it: the text
// format 0.0.4 (promlex.l, PromParser.parseLVals) and OpenMetrics 1.0 (openmetricslex.l). They
// only find each label's name and its value as written; what a label means (limits, le and
// quantile, empty values, duplicates) is the exposition parser's. Kept apart so the two
// grammars, and how they differ, are read in one place rather than among the parser's rules.
//
// Use: construct one lexer per label set, just after its '{', and call Next() until it returns
// kEnd or kError. Next() runs for every label of every sample line, so it is always inlined
// (GCC 12 otherwise kept it out of line: a call per label, where the parser's loop had none);
// only the rare text value that runs over a newline is out of line (label_lexer.cc).
//
// Thread-safety: none; a lexer reads one label set on the parsing thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lookout::app::detail {

inline bool IsLabelStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }

// A label value as written (between its quotes) into `out`: \" \\ \n are unescaped, any other
// backslash stays (Prometheus's lvalReplacer). `out` is assigned, so it keeps its capacity.
inline void UnescapeLabelValue(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (c == '\\' && k + 1 < raw.size()) {
      const char e = raw[k + 1];
      if (e == 'n' || e == '\\' || e == '"') {
        out += e == 'n' ? '\n' : e;
        ++k;
        continue;
      }
    }
    out += c;
  }
}

// What both lexers hand back: after kLabel the label, after kError what was expected.
class LabelLexer {
 public:
  enum class Token : uint8_t { kLabel, kEnd, kError };

  std::string_view name() const { return name_; }
  // The value as written between the quotes; escaped(): it holds a backslash.
  std::string_view value() const { return value_; }
  bool escaped() const { return escaped_; }
  const char* error() const { return error_; }

 protected:
  Token Fail(const char* what) {
    error_ = what;
    return Token::kError;
  }

  std::string_view name_;
  std::string_view value_;
  bool escaped_ = false;
  const char* error_ = "";
};

// Text format: blanks are allowed around names, '=' and values; a comma between labels is
// optional and one may trail; a value may hold raw newlines.
class TextLabelLexer : public LabelLexer {
 public:
  // `line` is a line of `body` and `pos` the index just after its '{'. Next() moves `pos` past
  // what it read; a value that runs over newlines extends `line` to the line it ends on and
  // counts them in `line_no`.
  TextLabelLexer(std::string_view body, std::string_view& line, size_t& pos, size_t& line_no)
      : body_(body), line_(line), i_(pos), line_no_(line_no) {}

  [[gnu::always_inline]] Token Next() {
    std::string_view& line = line_;
    size_t& i = i_;
    SkipBlanks();
    if (i >= line.size()) return Fail("unterminated label set");
    if (line[i] == '}') {
      ++i;
      return Token::kEnd;
    }
    const size_t start = i;
    if (!IsLabelStart(line[i])) return Fail("expected a label name");
    while (i < line.size() && IsLabelChar(line[i])) ++i;
    name_ = line.substr(start, i - start);
    SkipBlanks();
    if (i >= line.size() || line[i] != '=') return Fail("expected '=' after label");
    ++i;
    SkipBlanks();
    if (i >= line.size() || line[i] != '"') return Fail("expected '\"'");
    ++i;
    const size_t vstart = i;
    escaped_ = false;
    while (true) {
      if (i >= line.size()) {
        if (!ExtendLine()) return Fail("unterminated label value");
        continue;  // the newline is part of the value
      }
      if (line[i] == '"') break;
      if (line[i] == '\\') {
        // "\\." in the lexer: any character but a newline may follow.
        if (i + 1 >= line.size()) return Fail("unterminated label value");
        escaped_ = true;
        i += 2;
        continue;
      }
      ++i;
    }
    value_ = line.substr(vstart, i - vstart);
    ++i;  // closing quote
    SkipBlanks();
    if (i < line.size() && line[i] == ',') ++i;
    return Token::kLabel;
  }

 private:
  void SkipBlanks() {
    while (i_ < line_.size() && (line_[i_] == ' ' || line_[i_] == '\t')) ++i_;
  }
  // The line up to the next newline of the body (or its end); false at the end of the body.
  bool ExtendLine();

  std::string_view body_;
  std::string_view& line_;
  size_t& i_;
  size_t& line_no_;
};

// OpenMetrics: name="value" pairs separated by single commas, nothing else (no blanks, no
// trailing comma).
class OpenMetricsLabelLexer : public LabelLexer {
 public:
  // `pos` is the index in `line` just after the '{'; Next() moves it past what it read.
  OpenMetricsLabelLexer(std::string_view line, size_t& pos) : line_(line), i_(pos) {}

  [[gnu::always_inline]] Token Next() {
    const std::string_view line = line_;
    size_t& i = i_;
    if (!started_) {
      started_ = true;
      if (i < line.size() && line[i] == '}') {
        ++i;
        return Token::kEnd;
      }
    } else if (i < line.size() && line[i] == ',') {
      ++i;
    } else if (i < line.size() && line[i] == '}') {
      ++i;
      return Token::kEnd;
    } else {
      return Fail("expected ',' or '}' in label set");
    }
    const size_t start = i;
    if (i >= line.size() || !IsLabelStart(line[i])) return Fail("expected label name");
    while (i < line.size() && IsLabelChar(line[i])) ++i;
    name_ = line.substr(start, i - start);
    if (i >= line.size() || line[i] != '=') return Fail("expected '=' after label");
    ++i;
    if (i >= line.size() || line[i] != '"') return Fail("expected '\"'");
    ++i;
    const size_t vstart = i;
    escaped_ = false;
    while (i < line.size() && line[i] != '"') {
      if (line[i] == '\\') {
        escaped_ = true;
        ++i;
      }
      ++i;
    }
    if (i >= line.size()) return Fail("unterminated label value");
    value_ = line.substr(vstart, i - vstart);
    ++i;
    return Token::kLabel;
  }

 private:
  const std::string_view line_;
  size_t& i_;
  bool started_ = false;  // the first Next() may find an empty set
};

}  // namespace lookout::app::detail
