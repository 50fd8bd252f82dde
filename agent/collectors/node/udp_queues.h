#pragma once
#include <cstdint>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// The sums node_exporter 1.5 exposes from /proc/net/udp or /proc/net/udp6, in bytes.
struct UdpQueues {
  uint64_t tx_queue = 0;
  uint64_t rx_queue = 0;
};

// /proc/net/udp{,6} as procfs 0.8's NetUDPSummary reads it: the first line is a header; every
// other line is a socket with at least 10 fields whose sl, addresses (4 or 16 bytes of hex, as
// the kernel prints them), ports, state, tx_queue:rx_queue, uid and inode must all parse, or the
// whole file fails. A line over 64 KiB fails too (bufio.Scanner's limit, whose error procfs
// checks here).
Result<UdpQueues> ParseUdpQueues(std::string_view text);

}  // namespace lookout
