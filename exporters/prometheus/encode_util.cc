#include "exporters/prometheus/encode_util.h"

#include <charconv>
#include <cmath>

namespace lookout::prometheus::detail {

void AppendLabelValue(std::string& out, std::string_view v) {
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(v.substr(start, i - start));
    out += c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n";
    start = i + 1;
  }
  out.append(v.substr(start));
}

void AppendHelp(std::string& out, std::string_view help, bool escape_quote) {
  size_t start = 0;
  for (size_t i = 0; i < help.size(); ++i) {
    const char c = help[i];
    if (c != '\\' && c != '\n' && !(escape_quote && c == '"')) continue;
    out.append(help.substr(start, i - start));
    out += c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n";
    start = i + 1;
  }
  out.append(help.substr(start));
}

void AppendLabels(std::string& out, const Labels& labels, std::string_view extra_name,
                  std::string_view extra_value) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    AppendLabelValue(out, l.value);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace lookout::prometheus::detail
