#include "agent/common/host_port.h"

namespace lookout {

bool SplitHostPort(const std::string& addr, std::string* host, unsigned short* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = addr.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = addr.substr(colon + 1);
  if (p.empty() || p.size() > 5) return false;
  unsigned long n = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned long>(c - '0');
  }
  if (n > 65535) return false;
  *host = h.empty() ? "0.0.0.0" : h;
  *port = static_cast<unsigned short>(n);
  return true;
}

bool SplitPeerUri(std::string_view uri, std::string_view* ip, std::string_view* port) {
  if (uri.starts_with("ipv4:")) {
    uri.remove_prefix(5);
    const size_t colon = uri.rfind(':');
    if (colon == std::string_view::npos) return false;
    *ip = uri.substr(0, colon);
    *port = uri.substr(colon + 1);
    return true;
  }
  if (uri.starts_with("ipv6:[")) {
    uri.remove_prefix(6);
    const size_t close = uri.find("]:");
    if (close == std::string_view::npos) return false;
    *ip = uri.substr(0, close);
    *port = uri.substr(close + 2);
    if (ip->starts_with("::ffff:") && ip->find('.') != std::string_view::npos) {
      ip->remove_prefix(7);
    }
    return true;
  }
  return false;
}

}  // namespace lookout
