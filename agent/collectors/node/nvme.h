#pragma once
#include <string>

#include "agent/common/file_util.h"
#include "lookout/result.h"

namespace lookout {

// One /sys/class/nvme/<device>, as procfs 0.8's parseNVMeDevice reads it: firmware_rev, model,
// serial and state, each one 128-byte read with white space trimmed; all four are required.
struct NvmeDeviceFiles {
  SysfsValue firmware_rev, model, serial, state;
};
struct NvmeDevice {
  std::string firmware_revision, model, serial, state;
};
Result<NvmeDevice> ParseNvmeDevice(const NvmeDeviceFiles& f);

}  // namespace lookout
