// fuzz/data_reader_fuzzer.cpp: the DATA reader with random chunking.
// SPDX-License-Identifier: MIT
// Invariants: stored bytes <= max_bytes; done only right after CRLF.CRLF (or "." CRLF at the start);
// content with no error never holds a bare CR or LF; chunking never changes the result.
#include "smtp/data_reader.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::smtp;

namespace {
struct outcome {
  bool done = false;
  std::size_t consumed = 0;
  data_error error = data_error::none;
  std::string content;
};

outcome run(std::string_view in, std::size_t chunk, data_limits lim) {
  data_reader r(lim);
  outcome o;
  std::size_t pos = 0;
  while (pos < in.size() && !o.done) {
    auto piece = in.substr(pos, chunk);
    auto res = r.feed(piece, o.content);
    if (res.consumed > piece.size()) std::abort();
    pos += res.consumed;
    o.done = res.status == data_status::done;
    if (!o.done && res.consumed != piece.size()) std::abort();
  }
  o.consumed = pos;
  o.error = r.error();
  return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  data_limits lim;
  lim.max_bytes = 1 + data[0] * 16;
  lim.max_line = 20 + data[1];
  lim.max_header = 512;
  lim.max_hops = 3;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  auto a = run(in, in.size() + 1, lim);
  auto b = run(in, 1 + data[0] % 7, lim);
  if (a.done != b.done || a.consumed != b.consumed || a.error != b.error || a.content != b.content) std::abort();
  if (a.content.size() > lim.max_bytes) std::abort();
  if (a.done) {
    std::string_view seen = in.substr(0, a.consumed);
    bool at_start = seen == ".\r\n";
    if (!at_start && (seen.size() < 5 || seen.substr(seen.size() - 5) != "\r\n.\r\n")) std::abort();
  }
  if (a.error == data_error::none) {
    for (std::size_t i = 0; i < a.content.size(); ++i) {
      if (a.content[i] == '\n' && (i == 0 || a.content[i - 1] != '\r')) std::abort();
      if (a.content[i] == '\r' && (i + 1 >= a.content.size() || a.content[i + 1] != '\n')) std::abort();
    }
  }
  return 0;
}
