#include "agent/slo/state_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "agent/slo/state_codec.h"

namespace lookout::slo {
namespace {

constexpr std::string_view kMagic = "lookout-slo-state\n";
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr size_t kHeaderBytes = kMagic.size() + 4 + 4 + 8 + 4;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!data.empty()) {  // zlib takes uInt lengths
    const uInt n = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

StateDirectory::StateDirectory(std::string directory)
    : directory_(std::move(directory)), path_(directory_ + "/slo-state") {}

StateDirectory::~StateDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<StateDirectory>> StateDirectory::Open(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return MakeError("io", "create " + directory + ": " + ec.message());
  std::unique_ptr<StateDirectory> d(new StateDirectory(directory));
  const std::string lock_path = directory + "/lock";
  d->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (d->lock_fd_ < 0) return MakeError("io", Errno("open " + lock_path));
  if (::flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return MakeError("locked", directory + " is used by another process");
  }
  return d;
}

Result<std::string> StateDirectory::Load(size_t max_bytes) const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return MakeError("io", Errno("open " + path_));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return MakeError("io", Errno("stat " + path_));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return MakeError("too_large", fmt::format("{} is {} bytes, over slo.state.max_bytes ({})",
                                              path_, st.st_size, max_bytes));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  if (data.empty()) return MakeError("truncated", path_ + " is empty");
  if (data.size() < kHeaderBytes || data.compare(0, kMagic.size(), kMagic) != 0) {
    return MakeError(data.size() < kHeaderBytes && kMagic.starts_with(data.substr(0, kMagic.size()))
                         ? "truncated"
                         : "corrupt",
                     path_ + " is not a lookout SLO state file");
  }
  StateReader r(std::string_view(data).substr(kMagic.size()));
  uint32_t version = 0, bom = 0, crc = 0;
  uint64_t length = 0;
  (void)(r.Get(&version) && r.Get(&bom) && r.Get(&length) && r.Get(&crc));
  if (bom != kByteOrderMark) return MakeError("corrupt", path_ + ": another byte order");
  if (version != kFormatVersion) {
    return MakeError("version", fmt::format("{} has format version {}, this lookout reads {}",
                                            path_, version, kFormatVersion));
  }
  const std::string_view payload = std::string_view(data).substr(kHeaderBytes);
  if (payload.size() < length) {
    return MakeError("truncated",
                     fmt::format("{}: {} of {} payload bytes", path_, payload.size(), length));
  }
  if (payload.size() > length) return MakeError("corrupt", path_ + ": bytes after the payload");
  if (Crc32(payload) != crc) return MakeError("corrupt", path_ + ": CRC mismatch");
  return std::string(payload);
}

namespace {

std::string EncodeHeader(std::string_view payload) {
  StateWriter header;
  header.PutBytes(kMagic.data(), kMagic.size());
  header.Put<uint32_t>(StateDirectory::kFormatVersion);
  header.Put<uint32_t>(kByteOrderMark);
  header.Put<uint64_t>(payload.size());
  header.Put<uint32_t>(Crc32(payload));
  return std::move(header.bytes());
}

}  // namespace

std::string StateDirectory::EncodeFile(std::string_view payload) {
  return EncodeHeader(payload) + std::string(payload);
}

Result<size_t> StateDirectory::Save(std::string_view payload) {
  const std::string header = EncodeHeader(payload);
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError("io", Errno("open " + tmp));
  const bool written = WriteAll(fd, header) && WriteAll(fd, payload);
  const int saved_errno = errno;
  if (!written || ::fdatasync(fd) != 0) {
    errno = written ? errno : saved_errno;
    const std::string err = Errno("write " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return MakeError("io", err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string err = Errno("rename " + tmp);
    ::unlink(tmp.c_str());
    return MakeError("io", err);
  }
  // The rename is durable once the directory is.
  const int dfd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return header.size() + payload.size();
}

}  // namespace lookout::slo
