// fuzz/envelope_fuzzer.cpp: the queue file decoder, and encode/decode round trips.
// SPDX-License-Identifier: MIT
#include "queue/envelope.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = decode(in);
  if (d.error == decode_error::ok) {
    if (d.env.version == 2) {
      // A valid file has exactly one encoding (given its head/body split and its padded size).
      auto again = encode_prefix(d.env, d.message.substr(0, d.head_len), d.message.size() - d.head_len,
                                 sha256_of(d.message.substr(d.head_len)), d.padded ? d.prefix_size + d.head_len : 0);
      if (!again || *again + std::string(d.message.substr(d.head_len)) != in) std::abort();
    } else {
      // Version 1 is read, never written: it must become an equivalent version 2 file.
      auto r = decode(encode(d.env, d.message));
      if (r.error != decode_error::ok || r.message != d.message || r.env.sender != d.env.sender) std::abort();
    }
  }
  // Arbitrary bytes in every field must round-trip.
  envelope env;
  std::size_t third = size / 3;
  env.id = std::string(in.substr(0, third));
  env.sender = std::string(in.substr(third, third));
  env.helo = std::string(in.substr(0, third / 2));
  env.recipients.push_back({std::string(in.substr(third, third / 2)), std::string(in.substr(0, 3)), {}});
  auto file = encode(env, in.substr(2 * third));
  auto r = decode(file);
  if (r.error != decode_error::ok || r.env.sender != env.sender || r.env.helo != env.helo ||
      r.env.recipients.size() != 1 || r.env.recipients[0].address != env.recipients[0].address ||
      r.env.recipients[0].orcpt != env.recipients[0].orcpt || r.message != in.substr(2 * third))
    std::abort();
  return 0;
}
