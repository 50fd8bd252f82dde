#pragma once
// The pure parts of the hwmon collector (node_exporter 1.5's collector/hwmon_linux.go): how a
// sysfs file name splits into sensor type, number and property, how names are cleaned, and which
// metric each (type, property) pair becomes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lookout/metrics/metric.h"

namespace lookout {

// A hwmon attribute file name ("temp1_crit_alarm") split by node_exporter's regular expression
// ^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$ : type "temp", number 1, property
// "crit_alarm". nullopt when it does not match or the number overflows Go's Atoi.
struct HwmonFileName {
  std::string type;
  int64_t number = 0;
  std::string property;
};
std::optional<HwmonFileName> ExplodeHwmonFileName(std::string_view file);

// The sensor types node_exporter reads (others, and every other file, are ignored).
bool IsHwmonSensorType(std::string_view type);

// node_exporter's cleanMetricName: lower-cased, every character outside [a-z0-9:_] replaced by
// "_" (one per character), then underscores trimmed from both ends ("acpi-tz 0\n" -> "acpi_tz_0").
std::string CleanHwmonName(std::string_view name);

// What one (sensor type, property) value becomes: the family, its help, its type and its unit
// conversion, value = raw * multiplier / divisor (node_exporter multiplies by 0.001 for milli-
// units but divides by 1000000.0 for micro-units; the two round differently, so both are kept).
// `has_bare_value`: the sensor also has a value without property ("pwm1" next to "pwm1_enable"),
// which makes its "input" property node_hwmon_<type>_input_*. nullopt: not exposed (labels).
// beep_enable, vrm and update_interval sensors are special cases the collector handles itself.
struct HwmonMetric {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  double multiplier = 1;
  double divisor = 1;
};
std::optional<HwmonMetric> HwmonMetricFor(std::string_view sensor_type, std::string_view property,
                                          bool has_bare_value);

}  // namespace lookout
