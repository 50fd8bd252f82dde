#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "agent/common/file_util.h"
#include "lookout/result.h"

namespace lookout {

// /sys/class/thermal/thermal_zoneN, as procfs 0.8's parseClassThermalZone judges it: type, policy
// and temp (millidegrees Celsius, signed) are required; mode (read, not exposed) and passive
// (unsigned, not exposed) may be absent or unreadable but must not fail otherwise.
struct ThermalZoneFiles {
  SysfsValue type, policy, temp, mode, passive;
};
struct ThermalZone {
  std::string type;
  int64_t temp_millicelsius = 0;
};
Result<ThermalZone> ParseThermalZone(const ThermalZoneFiles& f);

// /sys/class/thermal/cooling_deviceN: type, max_state and cur_state are required; both states
// are signed decimal (intel_powerclamp reports cur_state -1).
struct CoolingDeviceFiles {
  SysfsValue type, max_state, cur_state;
};
struct CoolingDevice {
  std::string type;
  int64_t max_state = 0;
  int64_t cur_state = 0;
};
Result<CoolingDevice> ParseCoolingDevice(const CoolingDeviceFiles& f);

}  // namespace lookout
