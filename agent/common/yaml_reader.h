#pragma once
// Strict reading of YAML mappings for config-like files (the agent config, SLO specs): each
// getter marks its key as known and Done() rejects the rest; every error throws ConfigError
// with file:line:column and what was expected.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/config_error.h"
#include "agent/common/duration.h"
#include "agent/common/file_util.h"
#include "agent/common/pattern.h"
#include "lookout/metrics/metric_view.h"
#include "lookout/metrics/relabel.h"

namespace lookout {

inline std::string YamlWhere(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

inline std::string YamlDescribe(const YAML::Node& n) {
  if (!n.IsDefined()) return "nothing";  // also a const lookup's invalid node: no Type()
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

inline std::string YamlNumber(double d) {
  std::string s = std::to_string(d);
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
    const bool dot = s.back() == '.';
    s.pop_back();
    if (dot) break;
  }
  return s;
}

// Reads one YAML mapping strictly: each getter marks its key as known; Done() rejects the rest.
class YamlMapReader {
 public:
  YamlMapReader(const YAML::Node& node, std::string path, const std::string& file)
      : node_(node), path_(std::move(path)), file_(file) {
    if (!node_.IsDefined() || node_.IsNull()) return;  // absent or empty: keep the defaults
    if (!node_.IsMap()) Fail(node_, path_, "a mapping");
  }

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& key,
                         const std::string& expected) const {
    const YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    throw ConfigError(YamlWhere(file_, mark) + ": " + (key.empty() ? "<top>" : key) +
                      ": expected " + expected + ", got " + YamlDescribe(at));
  }

  std::string Key(std::string_view k) const {
    return path_.empty() ? std::string(k) : path_ + "." + std::string(k);
  }

  // Returns the value node for `key` (undefined if absent) and marks it known.
  YAML::Node Get(std::string_view key) {
    known_.insert(std::string(key));
    if (!node_.IsDefined() || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return node_[std::string(key)];
  }

  void Str(std::string_view key, std::string* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    if (!v.IsScalar()) Fail(v, Key(key), "a string");
    *out = v.Scalar();
  }

  void Bool(std::string_view key, bool* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (s == "true") {
      *out = true;
    } else if (s == "false") {
      *out = false;
    } else {
      Fail(v, Key(key), "true or false");
    }
  }

  template <typename T>
  void Int(std::string_view key, T* out, int64_t min, int64_t max) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    const auto n = v.IsScalar() ? ParseI64(v.Scalar()) : std::nullopt;
    if (!n || *n < min || *n > max) {
      Fail(v, Key(key), "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    *out = static_cast<T>(*n);
  }

  void Double(std::string_view key, double* out, double min, double max) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    const auto d = v.IsScalar() ? ParseDouble(v.Scalar()) : std::nullopt;
    if (!d || !(*d >= min && *d <= max)) {
      Fail(v, Key(key), "a number from " + YamlNumber(min) + " to " + YamlNumber(max));
    }
    *out = *d;
  }

  // A number strictly between `lo` and `hi` (an objective of 0 or 100% has no error budget).
  // The error says so: "a number greater than 0 and less than 100".
  void DoubleBetween(std::string_view key, double* out, double lo, double hi) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    const auto d = v.IsScalar() ? ParseDouble(v.Scalar()) : std::nullopt;
    if (!d || !(*d > lo && *d < hi)) {
      Fail(v, Key(key),
           "a number greater than " + YamlNumber(lo) + " and less than " + YamlNumber(hi));
    }
    *out = *d;
  }

  // A PromQL instant-vector selector (`metric{label="v"}`). False when the key is absent; an
  // empty string sets an empty Selector (callers decide whether that is allowed).
  bool SelectorValue(std::string_view key, Selector* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return false;
    if (!v.IsScalar()) Fail(v, Key(key), "a metric selector string");
    if (v.Scalar().empty()) {
      *out = Selector{};
      return true;
    }
    auto sel = ParseSelector(v.Scalar());
    if (!sel.ok()) Fail(v, Key(key), "a metric selector (" + sel.error().detail + ")");
    *out = std::move(sel).value();
    return true;
  }

  // A list of strings (a single string is accepted as a list of one).
  void StrList(std::string_view key, std::vector<std::string>* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) return;
    out->clear();
    if (v.IsScalar()) {
      out->push_back(v.Scalar());
      return;
    }
    if (!v.IsSequence()) Fail(v, Key(key), "a list of strings");
    for (const auto& item : v) {
      if (!item.IsScalar()) Fail(item, Key(key), "a list of strings");
      out->push_back(item.Scalar());
    }
  }

  // A mapping of strings to strings, in file order (headers, attributes).
  void StrMap(std::string_view key, std::vector<std::pair<std::string, std::string>>* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) return;
    if (!v.IsMap()) Fail(v, Key(key), "a mapping of strings to strings");
    out->clear();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it->first.IsScalar() || !it->second.IsScalar()) {
        Fail(it->first, Key(key), "a mapping of strings to strings");
      }
      out->emplace_back(it->first.Scalar(), it->second.Scalar());
    }
  }

  void Dur(std::string_view key, Duration* out, Duration min, Duration max) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    Duration d{};
    if (!v.IsScalar() || !ParseDuration(v.Scalar(), &d) || d < min || d > max) {
      Fail(v, Key(key),
           "a duration like \"5s\" or \"500ms\" from " + std::to_string(min.count()) + "ms to " +
               std::to_string(max.count()) + "ms");
    }
    *out = d;
  }

  void Regex(std::string_view key, Pattern* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined()) return;
    if (!v.IsScalar()) Fail(v, Key(key), "a regular expression string");
    try {
      *out = Pattern(v.Scalar());
    } catch (const std::invalid_argument& e) {
      Fail(v, Key(key), std::string("a valid regular expression (") + e.what() + ")");
    }
  }

  // A list of Prometheus `<relabel_config>`s (lookout/metrics/relabel.h), strictly: unknown
  // keys, a bad regex, an unknown action or a missing target_label fail at the rule's
  // file:line:column with Prometheus's wording.
  void RelabelConfigs(std::string_view key, Relabeler* out) {
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) return;
    if (!v.IsSequence()) Fail(v, Key(key), "a list of relabel configs");
    std::vector<RelabelConfig> configs;
    for (size_t i = 0; i < v.size(); ++i) {
      const YAML::Node item = v[i];
      const std::string where = Key(key) + "[" + std::to_string(i) + "]";
      if (!item.IsMap()) Fail(item, where, "a relabel config (a mapping)");
      YamlMapReader r(item, where, file_);
      RelabelConfig c;
      // As Prometheus's YAML reads them: a null is "" (or, for source_labels, not set), and
      // source_labels must be a list.
      auto str = [&](std::string_view k, std::string* out) {
        if (YAML::Node n = r.Get(k); n.IsDefined() && n.IsNull()) {
          out->clear();
        } else {
          r.Str(k, out);
        }
      };
      if (YAML::Node s = r.Get("source_labels"); s.IsDefined() && !s.IsNull()) {
        if (!s.IsSequence()) r.Fail(s, r.Key("source_labels"), "a list of label names");
        c.source_labels_set = true;
        for (const auto& item : s) {
          if (item.IsNull()) {
            c.source_labels.emplace_back();
          } else if (item.IsScalar()) {
            c.source_labels.push_back(item.Scalar());
          } else {
            r.Fail(item, r.Key("source_labels"), "a list of label names");
          }
        }
      }
      str("separator", &c.separator);
      if (YAML::Node re = r.Get("regex"); re.IsDefined()) {
        c.regex_set = true;
        if (re.IsNull()) {
          c.regex.clear();  // Prometheus: a null regex is ""
        } else {
          r.Str("regex", &c.regex);
        }
      }
      r.Int("modulus", &c.modulus, 0, INT64_MAX);
      str("target_label", &c.target_label);
      str("replacement", &c.replacement);
      if (YAML::Node a = r.Get("action"); a.IsDefined()) {
        const auto action = a.IsScalar() ? ParseRelabelAction(a.Scalar()) : std::nullopt;
        if (!action) {
          r.Fail(a, r.Key("action"),
                 "a relabel action (replace, keep, drop, keepequal, dropequal, hashmod, "
                 "labelmap, labeldrop, labelkeep, lowercase, uppercase)");
        }
        c.action = *action;
      }
      r.Done();
      auto one = Relabeler::Make({c});
      if (!one.ok()) {
        // Prometheus's message, without the index Make adds (the location says which rule).
        const std::string& d = one.error().detail;
        throw ConfigError(YamlWhere(file_, item.Mark()) + ": " + where + ": " +
                          d.substr(d.find(": ") + 2));
      }
      configs.push_back(std::move(c));
    }
    auto all = Relabeler::Make(std::move(configs));
    if (!all.ok()) Fail(v, Key(key), all.error().detail);
    *out = std::move(all).value();
  }

  void Done() const {
    if (!node_.IsDefined() || !node_.IsMap()) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (!known_.count(k)) {
        std::string expected = "one of:";
        for (const auto& kk : known_) expected += " " + kk;
        throw ConfigError(YamlWhere(file_, it->first.Mark()) + ": " + Key(k) +
                          ": unknown key (expected " + expected + ")");
      }
    }
  }

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> known_;
};

}  // namespace lookout
