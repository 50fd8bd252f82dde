#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// ("TcpExt_SyncookiesSent", 0), ... : "<Protocol>_<Field>".
using NetstatValues = std::vector<std::pair<std::string, double>>;

class Pattern;

// /proc/net/netstat and /proc/net/snmp: pairs of "Proto: names..." / "Proto: values..." lines.
// With `keep`, only fields whose "<Proto>_<Field>" matches are returned (the rest are still
// validated); filtering here avoids building a string for each of the ~300 kernel fields.
Result<NetstatValues> ParseNetstatPairs(std::string_view text, const Pattern* keep = nullptr);
// /proc/net/snmp6: "Ip6InReceives  123" lines; the protocol ends at the first '6'.
Result<NetstatValues> ParseSnmp6(std::string_view text, const Pattern* keep = nullptr);

}  // namespace lookout
