#pragma once
#include <cstdint>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// Parsers for the bcache sysfs files node_exporter 1.5 reads through procfs 0.8's bcache
// package (bcache/get.go). The kernel (drivers/md/bcache/sysfs.c) prints most values either
// as plain decimals ("412\n") or with bch_hprint ("45.5M\n", "-24.0M\n", "0.2k\n": an integer,
// a dot, ONE digit that is tenths of 1024 rounded down, and a unit among k M G T P E Z Y);
// procfs reads both with its dehumanize. Every error below has reason "parse"; node_exporter
// fails the whole collector on each of them (README, NOTES-bcache.md).

// procfs's parsePseudoFloat: `s` split on '.'; the part before the first '.' is a Go
// strconv.ParseFloat, the part after it (up to a second '.', the rest ignored) another one
// divided by 10.24 and added ("1.5" is 1.48828125, "1.10" is 1.9765625: procfs's reading of the
// kernel's tenths, kept as it is). nullopt when either part does not parse (including "" as in
// "1." or ".5").
Result<double> ParseBcachePseudoFloat(std::string_view s);

// procfs's dehumanize of one value, without the trailing newline: empty is an error ("zero-length
// reply"); when the last byte is above '9' it is a unit (k 2^10, M 2^20, ... Y 2^80; any other
// byte above '9', such as 'm' or 'x', multiplies by 0 so "12x" is 0) and the rest is read by
// ParseBcachePseudoFloat; otherwise the whole of `s` is a Go ParseFloat ("3.75" is 3, "1e3"
// 1000, "0x1p4" 16, "+7" 7, "1_000" 1000; "0x10", "5 ", "N/A", "garbage" fail). The product is
// converted by GoFloatToUint64 ("-1.5M" wraps, "Infk" and "999.9Y" give 2^63).
Result<uint64_t> BcacheDehumanize(std::string_view s);

// procfs's dehumanizeSigned: one leading '-' removed, the rest dehumanized, then negated in
// two's complement (uint64 wrap, then int64): "-24.0M" is -25165824.
Result<int64_t> BcacheDehumanizeSigned(std::string_view s);

// procfs 0.8's readValue on a whole file's content: its last byte is dropped (the kernel's
// '\n'; a file without one loses its last digit: "412" reads 41) and the rest dehumanized
// ("\n" alone fails: zero-length reply). An empty file is an error here; node_exporter 1.5
// panics on it (slice bounds out of range) and the process dies. An absent file is not this
// function's business: procfs reads it as 0 (the collector does the same).
Result<uint64_t> ParseBcacheValue(std::string_view content);

// /sys/block/<dev>/bcache/writeback_rate_debug of a backing device, as
//   rate:\t\t4.0M/sec\ndirty:\t\t2.1G\ntarget:\t\t10.0G\nproportional:\t-24.0M\n
//   integral:\t146.4M\nchange:\t\t-49.1k/sec\nnext io:\t27ms\n
// Bytes (per second for rate and change). A line counts when it starts with one of the seven
// labels (so " rate:" does not); its value is the last Go field: rate and change without a
// "/sec" suffix, through BcacheDehumanize (rate, dirty, target) or BcacheDehumanizeSigned
// (proportional, integral, change); next io without "ms", a decimal Go ParseInt. A label with
// no value ("target:") reads the label itself and fails. Absent lines leave 0 (an empty file
// is all zeros). Lines as Go's bufio.Scanner (a line over 64 KiB is an error).
struct BcacheWritebackRateDebug {
  uint64_t rate = 0;
  uint64_t dirty = 0;
  uint64_t target = 0;
  int64_t proportional = 0;
  int64_t integral = 0;
  int64_t change = 0;
  int64_t next_io_ms = 0;
};
Result<BcacheWritebackRateDebug> ParseBcacheWritebackRateDebug(std::string_view text);

// /sys/block/<dev>/bcache/priority_stats of a cache device ("Unused:\t\t12%\nClean:\t\t70%\n
// Dirty:\t\t15%\nMetadata:\t3%\nAverage:\t88\nSectors per Q:\t...\nQuantiles:\t[...]\n"):
// procfs's parsePriorityStats keeps the lines starting "Unused:" and "Metadata:", whose last
// Go field without one trailing '%' must be a decimal u64 ("12.5%", "3 %" and "Unused:" alone
// fail; "7" without '%' is 7). Other lines are ignored; absent ones leave 0. Percent.
struct BcachePriorityStats {
  uint64_t unused_percent = 0;
  uint64_t metadata_percent = 0;
};
Result<BcachePriorityStats> ParseBcachePriorityStats(std::string_view text);

// The entries procfs takes: cache sets by Go's Glob "fs/bcache/*-*" (a '-' anywhere in the
// name, so register, register_quiet and pendings_cleanup are not sets), backing and cache
// device links in a set by "bdev[0-9]*" and "cache[0-9]*" (the prefix, then a digit, then
// anything: "bdev10", "bdev0x").
bool IsBcacheSetName(std::string_view name);
bool IsBcacheDeviceLink(std::string_view name, std::string_view prefix);

}  // namespace lookout
