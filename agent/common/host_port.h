#pragma once
// host:port listen addresses as the config writes them, and peers as gRPC names them. Pure;
// thread-safe.

#include <string>
#include <string_view>

namespace lookout {

// Splits "host:port" / "[v6]:port" / ":port" (host defaults to 0.0.0.0). False if malformed.
bool SplitHostPort(const std::string& addr, std::string* host, unsigned short* port);

// gRPC's peer URI, "ipv4:10.1.2.3:5678" or "ipv6:[::1]:5678", split into address and port
// (strings as sent). An IPv4-mapped IPv6 address ("::ffff:10.1.2.3") comes back as the IPv4
// one, as pods are indexed. False for anything else ("unix:", "fd:", malformed).
bool SplitPeerUri(std::string_view uri, std::string_view* ip, std::string_view* port);

}  // namespace lookout
