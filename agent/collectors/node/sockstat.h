#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// ("sockets_used", 12), ("TCP_inuse", 5), ("TCP_mem", 1), ... in file order.
using SockstatValues = std::vector<std::pair<std::string, double>>;

Result<SockstatValues> ParseSockstat(std::string_view text);

}  // namespace lookout
