// hwmon: hardware sensors from /sys/class/hwmon (temperatures, voltages, fans, power, current,
// energy, humidity, alarms), as node_exporter 1.5 exposes them: node_hwmon_<type>[_<property>]
// _<unit>{chip,sensor}, node_hwmon_chip_names{chip,chip_name} and
// node_hwmon_sensor_label{chip,sensor,label}.
//
// Which series exist, as node_exporter's: every class/hwmon entry that resolves to a directory is
// a chip, named from its device's path ("platform_coretemp_0"), else its name file, else the
// directory itself. Files of the chip directory and of its device/ directory whose names split
// into a known sensor type are read (one 128-byte read, newlines trimmed); a value that is not a
// Go float is not exposed (accuracy "95.0%", model numbers). Two chips with the same name and
// sensor: the first in directory order is kept, as node_exporter's registry does.
//
// Cost: what cannot change while a driver stays bound is read once per chip and kept: the chip's
// names, which files are sensors (names parsed once, directories and write-only files dropped),
// and the sensor labels. A scrape lists class/hwmon, checks each chip's identity (inode) and
// reads each value with openat(2) from the chip's directory descriptor, with no path walk. A chip
// that is replaced (driver rebound, hot-plug) is read afresh.
//
// Bad input: a sensor file that fails to read (EIO, ENODATA, EAGAIN from a broken driver) and an
// _input value that is not a number ("N/A") are left out with a partial error (reason "read" or
// "parse"), the rest kept; node_exporter leaves them out silently. A chip that vanishes
// mid-scrape is left out the same way. No hwmon class: no series and no failure.
#include "agent/collectors/node/hwmon.h"

#include <dirent.h>
#include <fcntl.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/node/registry_families.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"
#include "agent/common/kept_files.h"
#include "agent/common/pattern.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::optional<HwmonFileName> ExplodeHwmonFileName(std::string_view file) {
  // node_exporter's own regular expression, so odd names split as it splits them ("fan_1x":
  // type "fan", property "1x").
  static const RE2 kFormat(R"(^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$)",
                           GoRegexOptions());
  re2::StringPiece type, id, property;
  if (!RE2::FullMatch(re2::StringPiece(file.data(), file.size()), kFormat, &type, &id, nullptr,
                      &property)) {
    return std::nullopt;
  }
  HwmonFileName out{std::string(type.data(), type.size()), 0,
                    std::string(property.data(), property.size())};
  if (!id.empty()) {
    const auto n = ParseGoInt(std::string_view(id.data(), id.size()), 10);
    if (!n) return std::nullopt;  // Go's Atoi: out of range
    out.number = *n;
  }
  return out;
}

bool IsHwmonSensorType(std::string_view type) {
  static constexpr std::array<std::string_view, 13> kTypes = {
      "vrm",  "beep_enable", "update_interval", "in",     "cpu",      "fan",      "pwm",
      "temp", "curr",        "power",           "energy", "humidity", "intrusion"};
  return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

std::string CleanHwmonName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    const char c = name[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // One "_" per character (per byte that is not UTF-8), as the Go regexp replaces runes.
      const size_t len = Utf8SequenceLength(name, i);
      i += len == 0 ? 1 : len;
      out.push_back('_');
      continue;
    }
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ||
                      lower == ':' || lower == '_';
    out.push_back(keep ? lower : '_');
    ++i;
  }
  const size_t first = out.find_first_not_of('_');
  if (first == std::string::npos) return {};
  return out.substr(first, out.find_last_not_of('_') - first + 1);
}

std::optional<HwmonMetric> HwmonMetricFor(std::string_view type, std::string_view property,
                                          bool has_bare_value) {
  if (property == "label") return std::nullopt;
  const std::string t(type);
  const std::string p(property);
  std::string name = "node_hwmon_" + t;
  if (property == "input") {
    if (has_bare_value) name += "_input";
  } else if (!property.empty()) {
    // Appended in two steps: "_" + string trips GCC 12's -Wrestrict false positive at -O3.
    name += '_';
    name += CleanHwmonName(property);
  }
  constexpr double kMilli = 0.001;    // multiplied, as node_exporter does
  constexpr double kPerMicro = -1e6;  // divided by 1e6, as node_exporter does
  auto m = [](std::string n, std::string h, double scale, MetricType mt = MetricType::kGauge) {
    return scale < 0 ? HwmonMetric{std::move(n), std::move(h), mt, 1, -scale}
                     : HwmonMetric{std::move(n), std::move(h), mt, scale, 1};
  };
  if (property == "fault" || property == "alarm") {
    return m(name, "Hardware sensor " + p + " status (" + t + ")", 1);
  }
  if (property == "beep") {
    return m(name + "_enabled", "Hardware monitor sensor has beeping enabled", 1);
  }
  if (type == "in" || type == "cpu") {
    return m(name + "_volts", "Hardware monitor for voltage (" + p + ")", kMilli);
  }
  if (type == "temp" && property != "type") {
    return m(name + "_celsius",
             "Hardware monitor for temperature (" + (p.empty() ? std::string("input") : p) + ")",
             kMilli);
  }
  if (type == "curr") return m(name + "_amps", "Hardware monitor for current (" + p + ")", kMilli);
  if (type == "energy") {
    return m(name + "_joule_total", "Hardware monitor for joules used so far (" + p + ")",
             kPerMicro, MetricType::kCounter);
  }
  if (type == "power" && property == "accuracy") {
    return m(name, "Hardware monitor power meter accuracy, as a ratio", kPerMicro);
  }
  if (type == "power" && (property == "average_interval" || property == "average_interval_min" ||
                          property == "average_interval_max")) {
    return m(name + "_seconds", "Hardware monitor power usage update interval (" + p + ")", kMilli);
  }
  if (type == "power") {
    return m(name + "_watt", "Hardware monitor for power usage in watts (" + p + ")", kPerMicro);
  }
  if (type == "humidity") {
    return m(name,
             "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity "
             "as a percentage) (" +
                 p + ")",
             kPerMicro);
  }
  if (type == "fan" &&
      (property == "input" || property == "min" || property == "max" || property == "target")) {
    return m(name + "_rpm", "Hardware monitor for fan revolutions per minute (" + p + ")", 1);
  }
  return m(name, "Hardware monitor " + t + " element " + p, 1);
}

namespace {

// One value file of a sensor, relative to the chip directory ("temp1_input", "device/fan1_min").
struct SensorFile {
  std::string property;
  std::string relative_path;
  mutable int fd = -1;  // kept open between scrapes (ReadKept); the Chip closes it
};

struct Sensor {
  std::string key;   // "temp1": type and number, node_exporter's `sensor` label
  std::string type;  // "temp"
  std::vector<SensorFile> files;
  std::optional<std::string> label;  // the label file's text, read once
};

// What is kept of a chip between scrapes; rebuilt when its directory's identity changes.
struct Chip {
  // The chip directory and its device/ when loaded: another inode, mtime or ctime (an entry
  // added or removed; kept_files.h) reloads the chip and closes its kept files.
  struct stat id {};
  std::optional<struct stat> device_id;
  int dir_fd = -1;
  std::string name;                      // the `chip` label
  std::optional<std::string> chip_name;  // node_hwmon_chip_names's chip_name, if a name file
  std::vector<Sensor> sensors;           // sorted by key
  bool complete = true;  // every label was read: the chip may be kept for the next scrape
  Chip() = default;
  Chip(const Chip&) = delete;
  Chip& operator=(const Chip&) = delete;
  ~Chip() {
    if (dir_fd >= 0) close(dir_fd);
    for (const Sensor& s : sensors) {
      for (const SensorFile& f : s.files) {
        if (f.fd < 0) continue;
        close(f.fd);
        ReleaseKeptFile();
      }
    }
  }
};

// One read of at most 128 bytes from offset 0, as node_exporter's sysReadFile; the text with
// newlines trimmed from both ends (strings.Trim(s, "\n")).
SysfsValue ReadHwmonFd(int fd) {
  char buf[128];
  const ssize_t n = PreadOrRead(fd, buf, sizeof buf, 0);
  if (n < 0) return {errno, ""};
  std::string_view v(buf, static_cast<size_t>(n));
  while (!v.empty() && v.front() == '\n') v.remove_prefix(1);
  while (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return {0, std::string(v)};
}

// ReadHwmonFd of `rel` under `dir_fd`, opened and closed.
SysfsValue ReadAt(int dir_fd, const std::string& rel) {
  // O_NONBLOCK: a FIFO planted in sysfs's place must not hang the scrape (sysfs ignores it).
  const int fd = openat(dir_fd, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return {errno, ""};
  SysfsValue v = ReadHwmonFd(fd);
  close(fd);
  return v;
}

// ReadAt through a descriptor kept in `fd` between scrapes, within the process's kept-file limit
// (kept_files.h): a pread at offset 0 regenerates a sysfs attribute without a path walk. A kept
// descriptor whose attribute was removed (ENODEV) is closed and the file read afresh, and kept
// again on the next scrape; a driver's refusal (EIO, ENODATA) is the answer.
SysfsValue ReadKept(int dir_fd, const SensorFile& f) {
  if (f.fd >= 0) {
    SysfsValue v = ReadHwmonFd(f.fd);
    if (v.err != ENODEV && v.err != ESTALE) return v;
    close(f.fd);
    f.fd = -1;
    ReleaseKeptFile();
    return ReadAt(dir_fd, f.relative_path);
  }
  if (!ReserveKeptFile()) return ReadAt(dir_fd, f.relative_path);
  f.fd = openat(dir_fd, f.relative_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (f.fd < 0) {
    const int err = errno;
    ReleaseKeptFile();
    return {err, ""};
  }
  return ReadHwmonFd(f.fd);
}

// filepath.EvalSymlinks, for the names node_exporter derives from resolved paths.
std::optional<std::string> RealPath(const std::string& path) {
  char* p = realpath(path.c_str(), nullptr);
  if (p == nullptr) return std::nullopt;
  std::string out(p);
  free(p);  // NOLINT(cppcoreguidelines-no-malloc): realpath(3) allocates with malloc
  return out;
}

std::string Base(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string Dir(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

// node_exporter's hwmonName: the device's parent and own directory names, else the name file
// (`clean_name`: its text cleaned, "" when absent), else the resolved chip directory's name.
std::optional<std::string> ChipName(const std::string& dir, const std::string& clean_name) {
  if (auto device = RealPath(dir + "/device")) {
    const std::string dev_name = CleanHwmonName(Base(*device));
    const std::string dev_type = CleanHwmonName(Base(Dir(*device)));
    if (!dev_type.empty() && !dev_name.empty()) return dev_type + "_" + dev_name;
    if (!dev_name.empty()) return dev_name;
  }
  if (!clean_name.empty()) return clean_name;
  if (auto real = RealPath(dir)) {
    std::string clean = CleanHwmonName(Base(*real));
    if (!clean.empty()) return clean;
  }
  return std::nullopt;
}

// The sensor files of one directory (the chip's, or its device's with prefix "device/").
void ListSensorFiles(int dir_fd, const std::string& prefix,
                     std::map<std::string, Sensor>& sensors) {
  const int fd =
      openat(dir_fd, prefix.empty() ? "." : prefix.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) {
    if (e->d_type == DT_DIR) continue;  // power/, hwmon/: reading them fails in node_exporter too
    names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& file : names) {
    auto parts = ExplodeHwmonFileName(file);
    if (!parts || !IsHwmonSensorType(parts->type)) continue;
    const std::string rel = prefix.empty() ? file : prefix + "/" + file;
    struct stat st {};
    // Directories (through symlinks) and write-only attributes (reset_history) give no value.
    if (fstatat(dir_fd, rel.c_str(), &st, 0) != 0 || S_ISDIR(st.st_mode) ||
        (st.st_mode & 0444) == 0) {
      continue;
    }
    const std::string key = parts->type + std::to_string(parts->number);
    Sensor& s = sensors[key];
    s.key = key;
    s.type = parts->type;
    // The device's files come second and replace the chip's, as node_exporter's map does.
    auto same = std::find_if(s.files.begin(), s.files.end(),
                             [&](const SensorFile& f) { return f.property == parts->property; });
    if (same != s.files.end()) {
      same->relative_path = rel;
    } else {
      s.files.push_back({parts->property, rel});
    }
  }
}

// The stat of `dir`/device, if there is one.
std::optional<struct stat> DeviceIdentity(const std::string& dir) {
  struct stat st {};
  if (stat((dir + "/device").c_str(), &st) != 0) return std::nullopt;
  return st;
}

bool SameChip(const Chip& chip, const struct stat& st, const std::optional<struct stat>& device) {
  if (!SameFileIdentity(chip.id, st) || chip.device_id.has_value() != device.has_value()) {
    return false;
  }
  return !device || SameFileIdentity(*chip.device_id, *device);
}

std::unique_ptr<Chip> LoadChip(const std::string& dir, const struct stat& st,
                               const std::optional<struct stat>& device, size_t max_bytes) {
  auto chip = std::make_unique<Chip>();
  chip->id = st;
  chip->device_id = device;
  chip->dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (chip->dir_fd < 0) return nullptr;
  // The name file, read once: it names node_hwmon_chip_names's chip_name and, without a
  // device, the chip itself.
  auto raw = ReadFileLimited(dir + "/name", max_bytes);
  const std::string clean_name = raw.ok() ? CleanHwmonName(*raw) : std::string();
  if (!clean_name.empty()) chip->chip_name = clean_name;
  auto name = ChipName(dir, clean_name);
  if (!name) return nullptr;
  chip->name = *name;
  std::map<std::string, Sensor> sensors;
  ListSensorFiles(chip->dir_fd, "", sensors);
  struct stat dev {};
  if (fstatat(chip->dir_fd, "device", &dev, 0) == 0)
    ListSensorFiles(chip->dir_fd, "device", sensors);
  for (auto& [key, s] : sensors) {
    for (auto it = s.files.begin(); it != s.files.end();) {
      if (it->property == "label") {
        // Labels name a channel of the hardware: read once per chip, and again while one
        // fails to read (node_exporter reads them every scrape).
        const SysfsValue v = ReadAt(chip->dir_fd, it->relative_path);
        if (v.err == 0) {
          s.label = ToValidUtf8(v.text);
        } else {
          chip->complete = false;  // read the chip afresh next scrape, as node_exporter would
        }
        it = s.files.erase(it);
        continue;
      }
      ++it;
    }
    chip->sensors.push_back(std::move(s));
  }
  return chip;
}

class HwmonCollector final : public Collector {
 public:
  explicit HwmonCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes), dir_(GoJoinPath(cfg.paths.sysfs, "class/hwmon")) {}
  std::string_view Name() const override { return "hwmon"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    std::lock_guard lock(mu_);  // the chip cache; scrapes of hwmon take turns
    // os.ReadDir's order (sorted) decides which of two same-named chips is kept.
    const auto entries = ReadDirNames(dir_);
    if (!entries) {
      chips_.clear();
      return Ok{};  // no hwmon class: no series, no failure
    }

    RegistryFamilies families;
    SkippedEntries skipped;
    std::unordered_map<std::string, std::unique_ptr<Chip>> live;
    for (const std::string& entry : *entries) {
      const std::string path = dir_ + "/" + entry;
      struct stat st {};
      if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      const std::optional<struct stat> device = DeviceIdentity(path);
      auto cached = chips_.find(entry);
      std::unique_ptr<Chip> chip;
      if (cached != chips_.end() && SameChip(*cached->second, st, device)) {
        chip = std::move(cached->second);
      } else {
        chip = LoadChip(path, st, device, max_);
        if (!chip) {
          skipped.Add(MakeError("read", path + ": cannot name or open the chip"));
          continue;
        }
      }
      if (!ReadChip(*chip, families, skipped)) {
        skipped.Add(MakeError("read", path + ": the chip vanished during the scrape"));
        continue;  // not kept: read afresh next time
      }
      if (chip->complete) live.emplace(entry, std::move(chip));
    }
    chips_ = std::move(live);
    families.MoveTo(out);
    return skipped.ToStatus();
  }

 private:
  // False when the chip's directory is gone (every read says so).
  bool ReadChip(const Chip& chip, RegistryFamilies& families, SkippedEntries& skipped) {
    std::vector<std::pair<const Sensor*, std::vector<std::pair<std::string, std::string>>>> values;
    size_t reads = 0, vanished = 0;
    for (const Sensor& s : chip.sensors) {
      std::vector<std::pair<std::string, std::string>> props;
      for (const SensorFile& f : s.files) {
        const SysfsValue v = ReadKept(chip.dir_fd, f);
        ++reads;
        if (v.err == ENOENT || v.err == ENODEV) ++vanished;
        if (v.err != 0) {
          skipped.Add(
              MakeError("read", chip.name + "/" + f.relative_path + ": " + std::strerror(v.err)));
          continue;
        }
        props.emplace_back(f.property, v.text);
      }
      values.emplace_back(&s, std::move(props));
    }
    if (reads > 0 && vanished == reads) return false;

    const Labels chip_labels = {{"chip", chip.name}};
    if (chip.chip_name) {
      AddDup(families, skipped, "node_hwmon_chip_names",
             "Annotation metric for human-readable chip names", MetricType::kGauge, 1.0,
             {{"chip", chip.name}, {"chip_name", *chip.chip_name}});
    }
    for (const auto& [sensor, props] : values) {
      const Sensor& s = *sensor;
      if (s.label) {
        AddDup(families, skipped, "node_hwmon_sensor_label", "Label for given chip and sensor",
               MetricType::kGauge, 1.0,
               {{"chip", chip.name}, {"label", *s.label}, {"sensor", s.key}});
      }
      const Labels labels = {{"chip", chip.name}, {"sensor", s.key}};
      const std::string* bare = nullptr;
      for (const auto& [p, v] : props) {
        if (p.empty()) bare = &v;
      }
      if (s.type == "beep_enable") {
        // Only when its file was read: node_exporter has no sensor without data.
        if (bare == nullptr && props.empty()) continue;
        AddDup(families, skipped, "node_hwmon_beep_enabled", "Hardware beep enabled",
               MetricType::kGauge, bare != nullptr && *bare == "1" ? 1.0 : 0.0, labels);
        continue;
      }
      if (s.type == "vrm" || s.type == "update_interval") {
        const auto v = bare ? ParseGoFloat(*bare) : std::nullopt;
        if (!v) continue;
        if (s.type == "vrm") {
          AddDup(families, skipped, "node_hwmon_voltage_regulator_version",
                 "Hardware voltage regulator", MetricType::kGauge, *v, labels);
        } else {
          AddDup(families, skipped, "node_hwmon_update_interval_seconds",
                 "Hardware monitor update interval", MetricType::kGauge, *v * 0.001, labels);
        }
        continue;
      }
      for (const auto& [p, text] : props) {
        auto metric = HwmonMetricFor(s.type, p, bare != nullptr);
        if (!metric) continue;
        const auto v = ParseGoFloat(text);
        if (!v) {
          // Text attributes (a meter's accuracy "95.0%", a model number) are not metrics, as in
          // node_exporter; a measured value that is not a number is a sensor fault to count.
          if (p == "input" || p.empty()) {
            skipped.Add(MakeError("parse", chip.name + "/" + s.key + "_" + p + ": \"" +
                                               ToValidUtf8(text) + "\" is not a number"));
          }
          continue;
        }
        AddDup(families, skipped, metric->name, metric->help, metric->type,
               *v * metric->multiplier / metric->divisor, labels);
      }
    }
    return true;
  }

  // The chip label names the entry in a dropped series' error: "in1" and "in2_input" give
  // node_hwmon_in_volts two help texts ("()" and "(input)"); two chips may share a name.
  static void AddDup(RegistryFamilies& families, SkippedEntries& skipped, const std::string& name,
                     const std::string& help, MetricType type, double value, Labels labels) {
    const std::string what = "chip " + labels[0].value;
    families.Add(name, help, type, value, std::move(labels), skipped, what);
  }

  const size_t max_;
  const std::string dir_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Chip>> chips_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Collector> NewHwmonCollector(const NodeOptions& cfg) {
  return std::make_unique<HwmonCollector>(cfg);
}

}  // namespace lookout
