#pragma once
// Kernel attribute files a collector reads on every scrape, kept open between scrapes.
//
// Why: on a big machine a node scrape reads well over a thousand small sysfs files (per-CPU
// cpufreq, hwmon sensors, HCA and disk counters). Opening one costs a path walk and a file
// allocation, closing it another syscall; a pread(2) at offset 0 of a kept descriptor makes sysfs
// and procfs regenerate the content without either. node_exporter opens, reads and closes each.
//
// When a kept descriptor is stale: the files are grouped by their directory, and the first read
// of a directory in a scrape stats it once. A different device or inode (a sysfs device removed
// and another created under its name has a new inode), or a changed mtime or ctime (regular
// filesystems, as in test trees, update them when an entry is added or removed), closes what was
// kept for it. A read that fails on a kept descriptor the way a removed file fails (sysfs
// answers ENODEV once the attribute is gone) is retried once on a fresh open, so a vanished file
// gives the error an uncached read gives. On a regular filesystem, whose directory times have a
// clock tick's granularity, a kept file in a directory changed within the last two seconds is
// checked for a name left (fstat) on each read, and read afresh without one. A file found
// absent in a directory whose identity has held since an earlier scrape stays absent while it
// holds (a sysfs device's attributes come right after its directory, never later), except on
// procfs, where entries appear (/proc/net/ip_vs when the module loads) without the directory
// changing.
//
// The cost: a kept sysfs or procfs descriptor holds its seq_file buffer (a page) in the kernel
// between reads, charged to the agent's memory cgroup: 4.4 KiB per descriptor measured (43 MiB
// of slab for 10,000), against 0.5 KiB for one that was never read. Hence a limit well below the
// open-file limit, and no kept files for the pod collectors' thousands of cgroup files.
//
// Descriptors are bounded process-wide (SetKeptFileLimit): beyond the limit a file is read the
// plain way, opened and closed each time. Directories not read during a scrape give their
// descriptors back when the scrape ends.
//
// Thread-safety: reads run within a Scrape (Begin() locks the set), one thread at a time; the
// process-wide counters are atomic.
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/common/file_util.h"
#include "agent/common/hash.h"
#include "lookout/result.h"

namespace lookout {

// The most descriptors all KeptFiles together may hold (0: none kept). Until set (the agent sets
// it from node.max_kept_files at start-up, open_file_limit.h): a quarter of the soft
// RLIMIT_NOFILE when first used, at most 4096. Lowering it closes nothing already kept.
void SetKeptFileLimit(size_t limit);
size_t KeptFileLimit();
size_t KeptFilesOpen();  // descriptors held now, all KeptFiles together

// Whether two stats are of the same directory in the same state: device, inode, mtime and ctime.
bool SameFileIdentity(const struct stat& a, const struct stat& b);

// For a collector that keeps descriptors its own way (hwmon, netclass): takes `n` from the limit
// (false: not that many left, read the plain way) and gives them back when they are closed.
bool ReserveKeptFiles(size_t n);
void ReleaseKeptFiles(size_t n);
inline bool ReserveKeptFile() { return ReserveKeptFiles(1); }
inline void ReleaseKeptFile() { ReleaseKeptFiles(1); }

// The kept-file limit for `configured` (node.max_kept_files) under the soft open-file limit
// `soft`: at most a quarter of it, so listeners and clients keep the rest.
size_t KeptFileShare(size_t configured, rlim_t soft);

class KeptFiles {
  struct Dir;

 public:
  KeptFiles() = default;
  ~KeptFiles();
  KeptFiles(const KeptFiles&) = delete;
  KeptFiles& operator=(const KeptFiles&) = delete;

  // One collector run: locks this set; when it ends, directories the run did not read are
  // closed. Hold one while reading.
  class [[nodiscard]] Scrape {
   public:
    ~Scrape();
    Scrape(const Scrape&) = delete;
    Scrape& operator=(const Scrape&) = delete;
    Scrape(Scrape&&) = delete;

   private:
    friend class KeptFiles;
    explicit Scrape(KeptFiles& owner);
    KeptFiles& owner_;
    std::unique_lock<std::mutex> lock_;
  };
  Scrape Begin() { return Scrape(*this); }

  // The reads answer exactly as the file_util functions of the same name (same values, same
  // errno / error reasons); only the descriptors differ. Outside a Scrape they are those plain
  // functions.
  SysfsValue SysReadFile(const std::string& path);
  SysfsValue ReadSysfsWhole(const std::string& path, size_t max_bytes);
  Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

  // 0 when `dir` is a directory now, else the errno of its stat (ENOTDIR: not a directory).
  // Within a Scrape the stat is the identity check of the files read under `dir`, so it is free.
  int StatDir(const std::string& dir);

  size_t open_files() const { return open_; }  // for tests; call between scrapes

 private:
  static constexpr int kAbsent = -2;  // ENOENT while the directory kept its identity

  // What the directory's filesystem lets us assume.
  enum class Kind : uint8_t {
    kKernfs,   // sysfs, cgroupfs: a removed attribute fails its reads (ENODEV)
    kProcfs,   // entries appear without the directory changing; a short read is not the end
    kRegular,  // test trees: a deleted or replaced file still reads, so check its link count
  };
  struct Dir {
    bool exists = false;
    int stat_err = 0;
    Kind kind = Kind::kRegular;
    // The identity held since an earlier scrape: a file absent now is not one whose device is
    // still being registered (device_add creates the directory before the attributes).
    bool settled = false;
    // Changed less than kRecent before the check: a change in the same clock tick as that one
    // would leave the times as they are, so regular files' link counts are checked on each read.
    bool recent = false;
    struct stat id {};
    uint64_t visited = 0;  // scrape number of the last identity check
    // file name -> kept descriptor or kAbsent (a zfs pool directory holds one
    // objset file per dataset: thousands, hence a hash map)
    StringMap<int> files;
  };

  // A descriptor for `path` (>= 0, kept: do not close), or -1 with `err` set: the open failed,
  // or the limit is reached and `transient` >= 0 is to be closed by the caller after one read.
  struct Source;
  int Descriptor(const std::string& path, Source& s, int& transient);
  Dir& Visit(std::string_view dir_path);
  void Forget(const std::string& path);  // a read failed on the kept descriptor: close it
  void CloseFiles(Dir& d);
  void EndScrape();

  // Where one read of a path comes from: a kept descriptor, one to close after the read (over
  // the limit), or none (fd < 0: the open failed with err).
  struct Source {
    int fd = -1;
    bool kept = true;
    bool kept_before = false;  // opened in an earlier scrape, not by this read
    bool check_links = false;  // a regular file in a recently changed directory
    Kind kind = Kind::kRegular;
    int err = 0;
    bool short_read_is_eof() const { return kind != Kind::kProcfs; }
  };
  Source Acquire(const std::string& path);
  // Closes a transient descriptor. True says to read the path the plain way instead, closing
  // the kept descriptor first: its read failed the way a removed file fails (ENODEV, ESTALE;
  // EIO on procfs) on a descriptor kept from an earlier scrape, or, on a regular filesystem, the
  // file it reads has no name left (deleted or replaced). The next scrape opens and keeps the
  // file again. A driver's refusal (ENODATA, EINVAL, EIO on sysfs) is the answer, not retried.
  bool Release(const std::string& path, const Source& s, int read_errno);

  std::mutex mu_;
  bool in_scrape_ = false;  // guarded by mu_, as the rest
  uint64_t scrape_ = 0;
  size_t open_ = 0;
  StringMap<Dir> dirs_;
};

}  // namespace lookout
