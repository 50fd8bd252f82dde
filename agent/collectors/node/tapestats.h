#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/common/file_util.h"

namespace lookout {

// The statistics files of /sys/class/scsi_tape/st<N>/stats (the kernel's st driver), in this
// order: in_flight, io_ns, other_cnt, read_byte_cnt, read_cnt, read_ns, resid_cnt,
// write_byte_cnt, write_cnt, write_ns.
inline constexpr std::array<std::string_view, 10> kTapeStatFiles = {
    "in_flight", "io_ns",     "other_cnt",      "read_byte_cnt", "read_cnt",
    "read_ns",   "resid_cnt", "write_byte_cnt", "write_cnt",     "write_ns"};

// procfs 0.8's parseSCSITapeStatistics over those files' contents: each present value is Go's
// strconv.ParseUint(s, 0, 64) of the trimmed text; an absent file (ENOENT) counts 0, as the
// zero value procfs leaves. nullopt on a read error or a value that does not parse (procfs then
// hands node_exporter a nil pointer, which panics: README).
std::optional<std::array<uint64_t, 10>> ParseTapeStats(const std::array<SysfsValue, 10>& files);

// The tape devices procfs reads: ^st[0-9]+$ (not the st0l/st0m/st0a/nst0 nodes of the same tape).
bool IsTapeStatsDevice(std::string_view name);

}  // namespace lookout
