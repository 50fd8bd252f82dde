#pragma once
// gzip (RFC 1952) compression for HTTP responses.

#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout::prometheus {

// Level 1 by default: /metrics bodies compress ~10x even at the fastest level, and the scrape's
// CPU budget matters more than the last few percent of size.
Result<std::string> Gzip(std::string_view in, int level = 1);

}  // namespace lookout::prometheus
