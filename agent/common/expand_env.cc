#include "agent/common/expand_env.h"

#include <cstdlib>

namespace lookout {

std::string ExpandEnv(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const size_t open = s.find("${");
    if (open == std::string_view::npos) break;
    const size_t close = s.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(s.substr(0, open));
    std::string_view expr = s.substr(open + 2, close - open - 2);
    std::string_view fallback;
    if (const size_t dflt = expr.find(":-"); dflt != std::string_view::npos) {
      fallback = expr.substr(dflt + 2);
      expr = expr.substr(0, dflt);
    }
    const char* v = std::getenv(std::string(expr).c_str());
    if (v != nullptr && *v != '\0') {
      out.append(v);
    } else {
      out.append(fallback);
    }
    s.remove_prefix(close + 1);
  }
  out.append(s);
  return out;
}

}  // namespace lookout
