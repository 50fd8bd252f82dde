#include "agent/common/base64.h"

#include <openssl/evp.h>

namespace lookout {

std::string Base64(std::string_view in) {
  // EVP_EncodeBlock takes an int length (so at most a chunk at a time, a multiple of 3 bytes:
  // chunks then join without padding between them) and writes a NUL after its output.
  constexpr size_t kChunk = size_t{3} << 28;
  std::string out;
  for (size_t at = 0; at < in.size(); at += kChunk) {
    const std::string_view part = in.substr(at, kChunk);
    const size_t start = out.size();
    out.resize(start + 4 * ((part.size() + 2) / 3) + 1);
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start),
                                  reinterpret_cast<const unsigned char*>(part.data()),
                                  static_cast<int>(part.size()));
    out.resize(start + static_cast<size_t>(n));
  }
  return out;
}

}  // namespace lookout
