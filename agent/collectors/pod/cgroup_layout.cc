#include "agent/collectors/pod/cgroup_layout.h"

#include <dirent.h>
#include <sys/stat.h>

#include <functional>

namespace lookout {
namespace {

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size() + 1);
  out.append(a.data(), a.size());
  if (!out.empty() && out.back() == '/' && !b.empty() && b.front() == '/') b.remove_prefix(1);
  if (!out.empty() && out.back() != '/' && !b.empty() && b.front() != '/') out.push_back('/');
  out.append(b.data(), b.size());
  return out;
}

// Calls fn(name) for each subdirectory of `dir`.
void ForEachSubdir(const std::string& dir, const std::function<void(std::string_view)>& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) is_dir = IsDir(JoinPath(dir, name));
    if (is_dir) fn(name);
  }
  ::closedir(d);
}

bool IsHex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A pod UID: a UUID from the API server, or a 32-hex hash for static pods.
bool LooksLikeUid(std::string_view s) {
  if (s.size() < 16 || s.size() > 64) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

bool IsQosCgroup(std::string_view name) {
  return name == "burstable" || name == "besteffort" || name.ends_with("-burstable.slice") ||
         name.ends_with("-besteffort.slice");
}

// v1: a controller is mounted at <root>/<name>, or in a co-mounted dir like "cpu,cpuacct".
std::string FindController(const std::string& root, std::string_view controller) {
  std::string direct = JoinPath(root, controller);
  if (IsDir(direct)) return direct;
  std::string found;
  ForEachSubdir(root, [&](std::string_view name) {
    if (!found.empty()) return;
    size_t start = 0;
    while (start <= name.size()) {
      const size_t comma = name.find(',', start);
      const std::string_view part = name.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (part == controller) {
        found = JoinPath(root, name);
        return;
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  });
  return found;
}

}  // namespace

const std::string& CgroupLayout::WalkRoot() const {
  if (v2) return unified;
  return !memory.empty() ? memory : cpu;
}

CgroupDirs CgroupLayout::DirsFor(std::string_view rel) const {
  CgroupDirs d;
  d.v2 = v2;
  const auto at = [&](const std::string& mount) {
    return mount.empty() ? CgroupDir() : CgroupDir(JoinPath(mount, rel));
  };
  if (v2) {
    d.unified = at(unified);
  } else {
    d.cpu = at(cpu);
    d.cpuacct = at(cpuacct);
    d.memory = at(memory);
    d.blkio = at(blkio);
    d.pids = at(pids);
  }
  return d;
}

Result<CgroupLayout> DetectCgroupLayout(const std::string& cgroupfs) {
  CgroupLayout layout;
  if (Exists(JoinPath(cgroupfs, "cgroup.controllers"))) {
    layout.v2 = true;
    layout.unified = cgroupfs;
    return layout;
  }
  layout.cpu = FindController(cgroupfs, "cpu");
  layout.cpuacct = FindController(cgroupfs, "cpuacct");
  layout.memory = FindController(cgroupfs, "memory");
  layout.blkio = FindController(cgroupfs, "blkio");
  layout.pids = FindController(cgroupfs, "pids");
  if (layout.cpu.empty() && layout.memory.empty() && layout.cpuacct.empty()) {
    return MakeError("no_cgroupfs", cgroupfs + ": neither cgroup v2 nor v1 cpu/memory controllers");
  }
  return layout;
}

Result<CgroupLayout> CachedCgroupLayout::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!layout_) {
    auto l = DetectCgroupLayout(cgroupfs_);
    if (!l.ok()) return l.error();
    layout_ = std::move(l.value());
  }
  return *layout_;
}

std::vector<std::string> FindKubepodsCgroups(const CgroupLayout& layout,
                                             const std::vector<std::string>& configured) {
  static const std::vector<std::string> kDefaults = {"/kubepods.slice", "/kubepods",
                                                     "/kubelet.slice/kubelet-kubepods.slice"};
  const auto& candidates = configured.empty() ? kDefaults : configured;
  std::vector<std::string> found;
  const std::string& root = layout.WalkRoot();
  if (root.empty()) return found;
  for (const auto& c : candidates) {
    if (IsDir(JoinPath(root, c))) found.push_back(c.front() == '/' ? c : "/" + c);
  }
  return found;
}

std::optional<std::string> PodUidFromCgroupName(std::string_view name) {
  if (name.ends_with(".slice")) {
    const size_t at = name.rfind("-pod");
    if (at == std::string_view::npos) return std::nullopt;
    std::string uid(name.substr(at + 4, name.size() - at - 4 - 6));
    for (char& c : uid) {
      if (c == '_') c = '-';
    }
    if (!LooksLikeUid(uid)) return std::nullopt;
    return uid;
  }
  if (!name.starts_with("pod")) return std::nullopt;
  const std::string_view uid = name.substr(3);
  if (!LooksLikeUid(uid)) return std::nullopt;
  return std::string(uid);
}

std::optional<std::string_view> ContainerIdFromCgroupName(std::string_view name) {
  if (name.ends_with(".scope")) name.remove_suffix(6);
  if (name.starts_with("crio-conmon-")) return std::nullopt;
  const size_t dash = name.rfind('-');
  if (dash != std::string_view::npos) name.remove_prefix(dash + 1);
  if (name.size() < 12 || name.size() > 64 || !IsHex(name)) return std::nullopt;
  return name;
}

std::vector<PodCgroup> ListPodCgroups(const CgroupLayout& layout,
                                      const std::vector<std::string>& kubepods) {
  std::vector<PodCgroup> pods;
  const std::string& root = layout.WalkRoot();
  const auto add_pod = [&](const std::string& rel, std::string uid) {
    PodCgroup pod;
    pod.uid = std::move(uid);
    pod.rel = rel;
    ForEachSubdir(JoinPath(root, rel), [&](std::string_view child) {
      if (auto id = ContainerIdFromCgroupName(child)) {
        pod.containers.push_back(ContainerCgroup{std::string(*id), JoinPath(rel, child)});
      }
    });
    pods.push_back(std::move(pod));
  };
  for (const auto& base : kubepods) {
    ForEachSubdir(JoinPath(root, base), [&](std::string_view name) {
      if (auto uid = PodUidFromCgroupName(name)) {
        add_pod(JoinPath(base, name), std::move(*uid));
      } else if (IsQosCgroup(name)) {
        const std::string qos = JoinPath(base, name);
        ForEachSubdir(JoinPath(root, qos), [&](std::string_view pod_name) {
          if (auto uid = PodUidFromCgroupName(pod_name)) {
            add_pod(JoinPath(qos, pod_name), std::move(*uid));
          }
        });
      }
    });
  }
  return pods;
}

}  // namespace lookout
