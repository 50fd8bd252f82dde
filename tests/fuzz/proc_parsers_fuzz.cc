// Fuzzes every /proc, /sys and /etc parser of the node collectors. The first byte picks the
// parser, the rest is the file content. Parsers must return a value or an error, never crash,
// hang or read out of bounds (ASan/UBSan run with it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/collectors/node/cpu.h"
#include "agent/collectors/node/diskstats.h"
#include "agent/collectors/node/filesystem.h"
#include "agent/collectors/node/loadavg.h"
#include "agent/collectors/node/meminfo.h"
#include "agent/collectors/node/netdev.h"
#include "agent/collectors/node/netstat.h"
#include "agent/collectors/node/os_release.h"
#include "agent/collectors/node/pressure.h"
#include "agent/collectors/node/sockstat.h"
#include "agent/collectors/node/stat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace lookout;
  switch (data[0] % 13) {
    case 0:
      (void)ParseProcStatCpus(in, 100);
      break;
    case 1:
      (void)ParseProcStat(in);
      break;
    case 2:
      (void)ParseMeminfo(in);
      break;
    case 3:
      (void)ParseLoadavg(in);
      break;
    case 4:
      (void)ParseDiskstats(in);
      break;
    case 5:
      (void)ParseUdevData(in);
      break;
    case 6:
      (void)ParseMounts(in);
      break;
    case 7:
      (void)ParseNetDev(in);
      break;
    case 8:
      (void)ParsePressure(in);
      break;
    case 9:
      (void)ParseSockstat(in);
      break;
    case 10:
      (void)ParseNetstatPairs(in);
      break;
    case 11:
      (void)ParseSnmp6(in);
      break;
    case 12:
      (void)ParseOsRelease(in);
      break;
  }
  return 0;
}
