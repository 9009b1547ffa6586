// fuzz/mime_walker_fuzzer.cpp: the attachment policy's MIME walker and its parameter decoders on arbitrary
// messages.
// SPDX-License-Identifier: MIT
// Input: byte 0 picks the chunk size (1..256), byte 1 the nesting limit (1..16); the rest is the message.
// Invariants: feeding in chunks gives exactly the report of feeding it whole; the report stays within its bounds
// (at most 16 archives, parts never past the limit + 1); a blocked part has why set; decoders never grow their
// input more than a bounded factor.
#include "filter/attachments.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::filter;

namespace {

bool same(const std::optional<attachment>& a, const std::optional<attachment>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->name == b->name && a->content_type == b->content_type && a->why == b->why;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0];
  const std::size_t depth = 1 + data[1] % 16;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  constexpr std::size_t k_parts = 50;

  mime_walker whole(default_blocked_extensions(), depth, k_parts);
  whole.feed(in);
  auto a = whole.finish();
  mime_walker pieces(default_blocked_extensions(), depth, k_parts);
  for (std::size_t i = 0; i < in.size(); i += chunk) pieces.feed(in.substr(i, chunk));
  auto b = pieces.finish();
  if (!same(a.blocked, b.blocked) || a.parts != b.parts || a.truncated != b.truncated ||
      a.archives.size() != b.archives.size())
    std::abort();
  if (a.archives.size() > 16 || a.parts > k_parts + 1) std::abort();
  if (a.blocked && a.blocked->why.empty()) std::abort();

  auto p = mime_parameter(in, "filename");
  if (p && p->size() > in.size()) std::abort();
  if (decode_encoded_words(in).size() > in.size()) std::abort();
  if (file_extension(in).size() > in.size()) std::abort();
  return 0;
}
