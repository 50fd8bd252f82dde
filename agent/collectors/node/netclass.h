#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace lookout {

// The /sys/class/net/<iface> attribute files netclass reads, in this order.
inline constexpr std::array<std::string_view, 22> kNetClassAttrs = {"addr_assign_type",
                                                                    "address",
                                                                    "broadcast",
                                                                    "carrier",
                                                                    "carrier_changes",
                                                                    "carrier_up_count",
                                                                    "carrier_down_count",
                                                                    "dev_id",
                                                                    "dormant",
                                                                    "duplex",
                                                                    "flags",
                                                                    "ifalias",
                                                                    "ifindex",
                                                                    "iflink",
                                                                    "link_mode",
                                                                    "mtu",
                                                                    "name_assign_type",
                                                                    "netdev_group",
                                                                    "operstate",
                                                                    "speed",
                                                                    "tx_queue_len",
                                                                    "type"};

// One interface as node_exporter 1.5 (procfs sysfs.NetClassIface) holds it: a number is absent
// when its file is absent or unreadable in one of the ways procfs skips; a string is "" then.
struct NetClassIface {
  std::string name;
  std::string address, broadcast, duplex, ifalias, operstate;
  std::optional<int64_t> addr_assign_type, carrier, carrier_changes, carrier_up_count,
      carrier_down_count, dev_id, dormant, flags, ifindex, iflink, link_mode, mtu, name_assign_type,
      netdev_group, speed, tx_queue_len, type;
};

// raw[i]: what the read of kNetClassAttrs[i] returned (at most 128 bytes, as procfs reads), or
// nullopt when skipped. Values are trimmed of white space; numbers are parsed as Go's
// strconv.ParseInt(s, 0, 64) (so "0x1003" is 4099). Error ("parse") on a number that does not
// parse: procfs fails the whole class then, and so does the collector.
using NetClassRaw = std::array<std::optional<std::string_view>, kNetClassAttrs.size()>;
Result<NetClassIface> ParseNetClassIface(std::string_view name, const NetClassRaw& raw);

// node_exporter 1.5's families for these interfaces: node_network_up, node_network_info and one
// gauge/counter per numeric attribute, a series only where the attribute was read. speed is in
// bytes per second (Mbit/s * 1000 * 1000 / 8, integer division); a negative speed (-1: unknown)
// is kept unless `ignore_invalid_speed`. Families without series are left out.
std::vector<MetricFamily> NetClassFamilies(const std::vector<NetClassIface>& ifaces,
                                           bool ignore_invalid_speed);

// The read path for one attribute file, with the errno rules of procfs: kAbsent for a file that
// is missing (ENOENT), not permitted (EACCES, EPERM), not supported (EOPNOTSUPP) or invalid in
// the device's state (EINVAL: speed/duplex of a down or virtual NIC, carrier of a down one), or
// not a regular file (procfs lists regular files only); kGone when the device was removed while
// it was read (ENODEV). Other errors are errors ("read"), as procfs fails on them.
enum class SysfsAttr { kValue, kAbsent, kGone };
SysfsAttr ClassifySysfsErrno(int err);
using PreadFn = ssize_t (*)(int fd, void* buf, size_t count, off_t offset);
// One read of at most 128 bytes at offset 0 of an open attribute file, as procfs's SysReadFile
// reads (offset 0 makes sysfs regenerate a file kept open); `pread_fn` is for tests.
Result<SysfsAttr> ReadSysfsFd(int fd, std::string& value, PreadFn pread_fn = nullptr);
// The same for `name` relative to a directory: opened (O_NOFOLLOW), read, closed.
Result<SysfsAttr> ReadSysfsAttr(int dirfd, const char* name, std::string& value,
                                PreadFn pread_fn = nullptr);

}  // namespace lookout
