#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// ("TcpExt_SyncookiesSent", 0), ... : "<Protocol>_<Field>".
using NetstatValues = std::vector<std::pair<std::string, double>>;

// /proc/net/netstat and /proc/net/snmp: pairs of "Proto: names..." / "Proto: values..." lines.
Result<NetstatValues> ParseNetstatPairs(std::string_view text);
// /proc/net/snmp6: "Ip6InReceives  123" lines; the protocol ends at the first '6'.
Result<NetstatValues> ParseSnmp6(std::string_view text);

}  // namespace lookout
