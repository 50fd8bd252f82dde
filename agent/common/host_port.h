#pragma once
// host:port listen addresses as the config writes them. Pure; thread-safe.

#include <string>

namespace lookout {

// Splits "host:port" / "[v6]:port" / ":port" (host defaults to 0.0.0.0). False if malformed.
bool SplitHostPort(const std::string& addr, std::string* host, unsigned short* port);

}  // namespace lookout
