#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// One value node_exporter 1.5 exposes from an OpenZFS kstat file: the row's (or column's) name
// as the kernel printed it, and its value.
struct ZfsKstatValue {
  std::string name;  // "hits", "erpt-dropped", "nread"
  uint64_t value = 0;
};

// A "named" kstat file of /proc/spl/kstat/zfs (arcstats, zil, ...), as node_exporter 1.5's
// zfsCollector.parseProcfsFile reads it: lines are skipped up to the first whose fields are
// exactly "name type data"; after it, every line of at least 3 fields whose type (2nd field) is
// "4" (KSTAT_DATA_UINT64) gives its 1st field and its 3rd field as Go's strconv.ParseUint(s, 10,
// 64); other types (including "3", KSTAT_DATA_INT64, which 1.5 leaves out), shorter lines and
// extra fields are ignored. Errors ("parse"), where node_exporter fails the collector too: no
// "name type data" line, a type-4 value that does not parse (a sign, garbage, above 2^64-1), a
// line longer than 64 KiB (bufio.Scanner's limit, whose error 1.5 checks here).
Result<std::vector<ZfsKstatValue>> ParseZfsKstat(std::string_view text);

// One value of a pool's objset-0x<id> file (one dataset); `named` says whether a dataset_name
// row came before it: node_exporter labels the rows before it (or all of them, without one)
// with zpool="" and dataset="".
struct ZfsObjsetValue {
  bool named = false;
  std::string dataset;  // the dataset_name row's 3rd field (1.5 cuts a name at its first space)
  std::string name;
  uint64_t value = 0;
};

// /proc/spl/kstat/zfs/<pool>/objset-0x<id> as zfsCollector.parsePoolObjsetFile (1.5) reads it:
// as ParseZfsKstat (same header, same type-4 rows, same errors), plus the dataset_name row
// (type 7), which names the dataset of the rows after it.
Result<std::vector<ZfsObjsetValue>> ParseZfsObjset(std::string_view text);

// /proc/spl/kstat/zfs/<pool>/io (a KSTAT_TYPE_IO kstat; OpenZFS 2.1 no longer has it), as
// zfsCollector.parsePoolProcfsFile reads it: lines are skipped up to the first of at least 12
// fields starting with "nread"; each later line gives, for every header column, the value in
// the same column (ParseUint base 10); extra values are ignored. A second data line repeats the
// names (node_exporter's registry keeps the first; the collector does the same). Errors
// ("parse"): a data line with fewer values than the header has columns (node_exporter panics:
// index out of range), a value that does not parse, a line longer than 64 KiB. No header: no
// values, no error.
Result<std::vector<ZfsKstatValue>> ParseZfsPoolIo(std::string_view text);

// The pool states node_exporter 1.5 reports, in its order (no "suspended": a SUSPENDED pool
// gets 0 for all six).
inline constexpr std::string_view kZfsPoolStates[] = {"online",  "degraded", "faulted",
                                                      "offline", "removed",  "unavail"};

// /proc/spl/kstat/zfs/<pool>/state ("ONLINE\n") as zfsCollector.parsePoolStateFile reads it:
// the first line (without "\n" or "\r\n"), lowered to ASCII lower case (Go's strings.ToLower;
// no other character lowers to one of the state names), "" for an empty file. Not trimmed:
// " ONLINE" matches no state. Error ("parse"): a first line longer than 64 KiB.
Result<std::string> ParseZfsPoolState(std::string_view text);

// node_exporter's zfsSysctl.metricName: the part after the last '.', '-' replaced by '_'
// ("erpt-dropped" -> "erpt_dropped", "foo.bar" -> "bar").
std::string ZfsMetricName(std::string_view kstat_name);

// Whether `name` is a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). node_exporter 1.5
// panics (the whole process) on a kstat name that gives an invalid one ("a/b", non-ASCII).
bool ValidZfsMetricName(std::string_view name);

}  // namespace lookout
