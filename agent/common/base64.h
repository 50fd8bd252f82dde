#pragma once
// Standard base64 with padding (RFC 4648 section 4), through OpenSSL's EVP_EncodeBlock: OTLP
// bytes attribute values, OTLP/JSON IDs for protobuf's parser, HTTP basic auth. Pure;
// thread-safe.

#include <string>
#include <string_view>

namespace lookout {

std::string Base64(std::string_view bytes);

}  // namespace lookout
