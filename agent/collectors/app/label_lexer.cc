#include "agent/collectors/app/label_lexer.h"

namespace lookout::app::detail {

bool TextLabelLexer::ExtendLine() {
  const size_t line_start = static_cast<size_t>(line_.data() - body_.data());
  const size_t line_end = line_start + line_.size();
  if (line_end >= body_.size()) return false;
  size_t next = body_.find('\n', line_end + 1);
  if (next == std::string_view::npos) next = body_.size();
  line_ = std::string_view(line_.data(), next - line_start);
  ++line_no_;
  return true;
}

}  // namespace lookout::app::detail
