#pragma once
// One declarative table per component: each row is one config option with its key, type,
// default, range and doc, and reads that option into the component's own Options struct. The
// same rows parse the YAML (strictly, through YamlMapReader), are checked against the embedded
// default config, and print the README's configuration reference, so an option is declared in
// one place. In the spirit of Fluent Bit's config_map.
//
// Keys are relative to the component's section and may be dotted ("disk.max_bytes"): the
// reader descends into nested mappings and rejects unknown keys at every level.
// Not thread-safe to build; a built table is immutable and read from one thread at start-up.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/common/host_port.h"
#include "agent/common/yaml_reader.h"

namespace lookout {

template <class O>
struct Option {
  std::string key;            // relative, dotted for nesting
  std::string default_value;  // as written in the default config (YAML text)
  std::string range;          // "1–64", "100ms–1h", "grpc | http", "" when any value goes
  std::string doc;            // Markdown, one paragraph
  // Reads the option from `r` (the mapping that holds its last key segment) into `o`.
  std::function<void(YamlMapReader& r, std::string_view leaf, O& o)> read;
};

template <class O>
struct OptionTable {
  OptionTable() = default;
  // A constructor, not aggregate initialisation: clang's -Wmissing-field-initializers would
  // flag every table without a check.
  explicit OptionTable(std::vector<Option<O>> rows,
                       std::function<void(YamlMapReader& r, O& o)> check_fn = nullptr)
      : options(std::move(rows)), check(std::move(check_fn)) {}

  std::vector<Option<O>> options;
  // Checks across options once the whole section is read (e.g. timeout <= interval); `r` is
  // the section's reader, for error locations. May be empty.
  std::function<void(YamlMapReader& r, O& o)> check;
};

namespace detail {

// "a or b", "one of a, b or c": how the errors have always listed allowed values.
inline std::string SpokenChoices(const std::vector<std::string>& values) {
  if (values.size() == 2) return values[0] + " or " + values[1];
  std::string out = "one of ";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i];
  }
  return out;
}

}  // namespace detail

namespace option {

template <class O, class T>
Option<O> Int(std::string key, T O::*member, int64_t min, int64_t max, std::string dflt,
              std::string doc) {
  std::string range = std::to_string(min) + "–" + std::to_string(max);
  return {std::move(key), std::move(dflt), std::move(range), std::move(doc),
          [member, min, max](YamlMapReader& r, std::string_view k, O& o) {
            r.Int(k, &(o.*member), min, max);
          }};
}

template <class O>
Option<O> Dur(std::string key, Duration O::*member, Duration min, Duration max, std::string dflt,
              std::string doc) {
  std::string range = FormatDuration(min) + "–" + FormatDuration(max);
  return {std::move(key), std::move(dflt), std::move(range), std::move(doc),
          [member, min, max](YamlMapReader& r, std::string_view k, O& o) {
            r.Dur(k, &(o.*member), min, max);
          }};
}

template <class O>
Option<O> Bool(std::string key, bool O::*member, std::string dflt, std::string doc) {
  return {std::move(key), std::move(dflt), "", std::move(doc),
          [member](YamlMapReader& r, std::string_view k, O& o) { r.Bool(k, &(o.*member)); }};
}

template <class O>
Option<O> Str(std::string key, std::string O::*member, std::string dflt, std::string doc) {
  return {std::move(key), std::move(dflt), "", std::move(doc),
          [member](YamlMapReader& r, std::string_view k, O& o) { r.Str(k, &(o.*member)); }};
}

template <class O>
Option<O> Regex(std::string key, Pattern O::*member, std::string dflt, std::string doc) {
  return {std::move(key), std::move(dflt), "RE2 regex", std::move(doc),
          [member](YamlMapReader& r, std::string_view k, O& o) { r.Regex(k, &(o.*member)); }};
}

template <class O>
Option<O> Double(std::string key, double O::*member, double min, double max, std::string dflt,
                 std::string doc) {
  std::string range = YamlNumber(min) + "–" + YamlNumber(max);
  return {std::move(key), std::move(dflt), std::move(range), std::move(doc),
          [member, min, max](YamlMapReader& r, std::string_view k, O& o) {
            r.Double(k, &(o.*member), min, max);
          }};
}

template <class O>
Option<O> StrList(std::string key, std::vector<std::string> O::*member, std::string dflt,
                  std::string doc) {
  return {std::move(key), std::move(dflt), "list of strings", std::move(doc),
          [member](YamlMapReader& r, std::string_view k, O& o) { r.StrList(k, &(o.*member)); }};
}

template <class O>
Option<O> StrMap(std::string key, std::vector<std::pair<std::string, std::string>> O::*member,
                 std::string dflt, std::string doc) {
  return {std::move(key), std::move(dflt), "map of strings", std::move(doc),
          [member](YamlMapReader& r, std::string_view k, O& o) { r.StrMap(k, &(o.*member)); }};
}

// A string that must be one of `values`; `to` stores the chosen one (enums are parsed here, at
// config time, never by the component).
template <class O, class T>
Option<O> Enum(std::string key, T O::*member,
               const std::vector<std::pair<std::string_view, T>>& values, std::string dflt,
               std::string doc) {
  std::string range;
  std::vector<std::string> names;
  // The reader owns its names: callers may pass views of temporaries.
  std::vector<std::pair<std::string, T>> owned;
  for (const auto& [name, value] : values) {
    range += (range.empty() ? "" : " | ") + std::string(name);
    names.emplace_back(name);
    owned.emplace_back(std::string(name), value);
  }
  return {std::move(key), std::move(dflt), range, std::move(doc),
          [member, owned = std::move(owned), spoken = detail::SpokenChoices(names)](
              YamlMapReader& r, std::string_view k, O& o) {
            YAML::Node v = r.Get(k);
            if (!v.IsDefined()) return;
            if (v.IsScalar()) {
              for (const auto& [name, value] : owned) {
                if (v.Scalar() == name) {
                  o.*member = value;
                  return;
                }
              }
            }
            r.Fail(v, r.Key(k), spoken);
          }};
}

// `collectors.<name>.enabled`: one collector's switch in a name -> on/off map.
template <class O>
Option<O> CollectorSwitch(std::map<std::string, bool, std::less<>> O::*member,
                          std::string_view name, bool default_enabled,
                          std::string_view description) {
  return {"collectors." + std::string(name) + ".enabled", default_enabled ? "true" : "false", "",
          std::string(description),
          [member, name = std::string(name)](YamlMapReader& r, std::string_view k, O& o) {
            bool on = (o.*member)[name];
            r.Bool(k, &on);
            (o.*member)[name] = on;
          }};
}

// Anything the typed rows cannot say (lists of targets, selectors, bucket lists): the row
// documents it and `read` does the work.
template <class O>
Option<O> Custom(std::string key, std::string dflt, std::string range, std::string doc,
                 std::function<void(YamlMapReader&, std::string_view, O&)> read) {
  return {std::move(key), std::move(dflt), std::move(range), std::move(doc), std::move(read)};
}

// The rows of a sub-struct's table, reached through `member` and placed under `prefix`.
template <class O, class S>
std::vector<Option<O>> Nest(std::string_view prefix, S O::*member, const OptionTable<S>& inner) {
  std::vector<Option<O>> out;
  for (const auto& opt : inner.options) {
    auto read = opt.read;
    out.push_back(
        {prefix.empty() ? opt.key : std::string(prefix) + "." + opt.key, opt.default_value,
         opt.range, opt.doc,
         [read, member](YamlMapReader& r, std::string_view k, O& o) { read(r, k, o.*member); }});
  }
  return out;
}

// A `listen_address` row: host:port, checked with SplitHostPort; `example` goes in the error.
template <class O>
Option<O> ListenAddress(std::string key, std::string O::*member, std::string dflt,
                        std::string doc) {
  std::string example = dflt;
  return Custom<O>(std::move(key), std::move(dflt), "host:port", std::move(doc),
                   [member, example](YamlMapReader& r, std::string_view k, O& o) {
                     r.Str(k, &(o.*member));
                     std::string host;
                     unsigned short port = 0;
                     if (!SplitHostPort(o.*member, &host, &port)) {
                       r.Fail(r.Get(k), r.Key(k), "host:port, e.g. \"" + example + "\"");
                     }
                   });
}

}  // namespace option

// Appends rows (e.g. option::Nest's) to a table.
template <class O>
void AppendOptions(OptionTable<O>& table, std::vector<Option<O>> rows) {
  for (auto& row : rows) table.options.push_back(std::move(row));
}

namespace detail {

template <class O>
void ReadLevel(const std::vector<std::pair<std::string_view, const Option<O>*>>& rows,
               YamlMapReader& r, const std::string& file, O& o) {
  // Rows whose key has no dot are read here; the others are grouped by their first segment, in
  // table order, and read from that nested mapping.
  std::vector<std::string_view> groups;
  for (const auto& [key, opt] : rows) {
    const size_t dot = key.find('.');
    if (dot == std::string_view::npos) {
      opt->read(r, key, o);
      continue;
    }
    const std::string_view head = key.substr(0, dot);
    bool seen = false;
    for (const auto g : groups) seen = seen || g == head;
    if (!seen) groups.push_back(head);
  }
  for (const auto head : groups) {
    std::vector<std::pair<std::string_view, const Option<O>*>> inner;
    for (const auto& [key, opt] : rows) {
      if (key.size() > head.size() && key.starts_with(head) && key[head.size()] == '.') {
        inner.emplace_back(key.substr(head.size() + 1), opt);
      }
    }
    YamlMapReader sub(r.Get(head), r.Key(head), file);
    ReadLevel(inner, sub, file, o);
    sub.Done();
  }
}

}  // namespace detail

// Reads every option of `table` from the mapping `r` into `o`, rejects unknown keys at every
// level, then runs the table's check. Throws ConfigError with file:line:column.
template <class O>
void ReadOptions(const OptionTable<O>& table, YamlMapReader& r, const std::string& file, O& o) {
  std::vector<std::pair<std::string_view, const Option<O>*>> rows;
  rows.reserve(table.options.size());
  for (const auto& opt : table.options) rows.emplace_back(opt.key, &opt);
  detail::ReadLevel(rows, r, file, o);
  r.Done();
  if (table.check) table.check(r, o);
}

// One row of the configuration reference: a full key with its default, range and doc.
struct OptionDoc {
  std::string key;
  std::string default_value;
  std::string range;
  std::string doc;
};

template <class O>
void AppendOptionDocs(std::string_view section, const OptionTable<O>& table,
                      std::vector<OptionDoc>& out) {
  for (const auto& opt : table.options) {
    out.push_back({std::string(section) + "." + opt.key, opt.default_value, opt.range, opt.doc});
  }
}

}  // namespace lookout
