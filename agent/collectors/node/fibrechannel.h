#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/common/file_util.h"

namespace lookout {

// The attributes of /sys/class/fc_host/<host> procfs 0.8's parseFibreChannelHost reads, in its
// order, each with SysReadFile (at most 128 bytes, trimmed). All are required: procfs fails on
// the first that cannot be read, even node_name, which node_exporter 1.5 does not expose.
inline constexpr std::array<std::string_view, 11> kFcHostAttributes = {
    "speed",         "port_state",        "port_type",       "node_name",
    "port_id",       "port_name",         "fabric_name",     "dev_loss_tmo",
    "symbolic_name", "supported_classes", "supported_speeds"};

// What procfs keeps of node_name, port_id, port_name and fabric_name, which the kernel writes
// as "0x%llx" ("0x10000090fa8a1d2e", port_id "0x010e00"): the value without its first two
// bytes when it has more than two, whatever they are ("abc" -> "c"; "0x" stays "0x").
std::string_view FcHexAttribute(std::string_view value);

// A statistics/<file> node_exporter 1.5 exposes as the counter node_fibrechannel_<metric>
// {fc_host}, in the order it sends them.
struct FcStatistic {
  std::string_view file;
  std::string_view metric;
  std::string_view help;
};
inline constexpr std::array<FcStatistic, 14> kFcStatistics = {{
    {"dumped_frames", "dumped_frames_total", "Number of dumped frames"},
    {"error_frames", "error_frames_total", "Number of errors in frames"},
    {"invalid_crc_count", "invalid_crc_total", "Invalid Cyclic Redundancy Check count"},
    {"rx_frames", "rx_frames_total", "Number of frames received"},
    {"rx_words", "rx_words_total", "Number of words received by host port"},
    {"tx_frames", "tx_frames_total", "Number of frames transmitted by host port"},
    {"tx_words", "tx_words_total", "Number of words transmitted by host port"},
    {"seconds_since_last_reset", "seconds_since_last_reset_total",
     "Number of seconds since last host port reset"},
    {"invalid_tx_word_count", "invalid_tx_words_total",
     "Number of invalid words transmitted by host port"},
    {"link_failure_count", "link_failure_total", "Number of times the host port link has failed"},
    {"loss_of_sync_count", "loss_of_sync_total",
     "Number of failures on either bit or transmission word boundaries"},
    {"loss_of_signal_count", "loss_of_signal_total", "Number of times signal has been lost"},
    {"nos_count", "nos_total", "Number Not_Operational Primitive Sequence received by host port"},
    {"fcp_packet_aborts", "fcp_packet_aborts_total", "Number of aborted packets"},
}};

// The value the kernel prints (0xffffffffffffffff) for a statistic the driver does not count
// (lpfc's dumped_frames, qla2xxx's fcp_packet_aborts): node_exporter 1.5 leaves that series out.
inline constexpr uint64_t kFcNotCounted = UINT64_MAX;

// procfs 0.8's parseFibreChannelStatistics for one known statistics file read with
// SysReadFile: Go's strconv.ParseUint(s, 0, 64) of the kernel's "0x%llx" (decimal, "0o" and
// '_' forms parse too). 0, procfs's zero value, when the file is absent or its read fails with
// ENOENT (the kernel's answer when the driver has no statistics), EOPNOTSUPP or EINVAL.
// nullopt: any other read error (procfs fails the whole class) or a value that does not parse
// (procfs dereferences a nil pointer there and node_exporter 1.5 dies).
std::optional<uint64_t> ParseFcStatistic(const SysfsValue& file);

}  // namespace lookout
