// fuzz/srs_fuzzer.cpp: SRS reversal of untrusted RCPT addresses (address/srs.hpp), and forwarding of any sender.
// SPDX-License-Identifier: MIT
// Invariants: reverse() never throws and gives an address only when it says ok; nothing but what forward() made
// with our secret reverses (a hash of 4 base64 characters can be guessed by a fuzzer only by chance, so a
// reversed address must be one forward() reproduces from it); forward() of any sender reverses to that sender.
#include "address/srs.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::address;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  srs::settings s;
  s.secret = "fuzz secret of sufficient length";
  s.domain = "fwd.example";
  const std::int64_t now = 1'780'000'000;
  auto r = srs::reverse(in, s, now);
  if (r.error != srs::reverse_error::ok && !r.address.empty()) std::abort();
  if (r.error == srs::reverse_error::ok && r.address.empty()) std::abort();
  if (r.error == srs::reverse_error::ok && !srs::looks_like_srs(in)) std::abort();
  // Forward whatever came in as a sender (with a domain of its own): it must come back unchanged.
  const std::string sender = in.find('@') == std::string::npos ? in + "@orig.example" : in;
  auto f = srs::forward(sender, s, now);
  if (f) {
    auto back = srs::reverse(*f, s, now);
    if (back.error != srs::reverse_error::ok) std::abort();
    const auto at = sender.rfind('@');
    const std::string local = sender.substr(0, at);
    // An SRS sender becomes SRS1 and reverses to the SRS0 form naming the previous hop; a plain one to itself
    // (domain lower-cased by nobody: compare as is).
    if (!srs::looks_like_srs(local) && back.address != sender) std::abort();
  }
  return 0;
}
