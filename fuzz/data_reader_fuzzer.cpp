// fuzz/data_reader_fuzzer.cpp: the DATA reader with random chunking.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks max_bytes and the chunk size, byte 1 max_line, the rest is the client's stream.
// Invariants: stored bytes <= max_bytes and <= content_bytes(); consumed <= input size; done exactly at the
// first real <CRLF>.<CRLF> (or "." CRLF at the very start) and nowhere else, so nothing behind a fake
// terminator is ever handed back as commands; an error-free content holds no bare CR or LF and no NUL;
// chunking never changes anything; after an error, the content is a prefix of the error-free reading.
#include "smtp/data_reader.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::smtp;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

struct outcome {
  bool done = false;
  std::size_t consumed = 0;
  data_error error = data_error::none;
  std::string content;
  std::size_t content_bytes = 0;
  std::size_t received = 0;
  bool operator==(const outcome&) const = default;
};

outcome run(std::string_view in, std::size_t chunk, data_limits lim) {
  data_reader r(lim);
  outcome o;
  std::size_t pos = 0;
  while (pos < in.size() && !o.done) {
    auto piece = in.substr(pos, chunk);
    auto res = r.feed(piece, o.content);
    check(res.consumed <= piece.size());
    pos += res.consumed;
    o.done = res.status == data_status::done;
    check(o.done || res.consumed == piece.size());
    check(o.content.size() <= lim.max_bytes);
  }
  o.consumed = pos;
  o.error = r.error();
  o.content_bytes = r.content_bytes();
  o.received = r.received_count();
  return o;
}

// Where the real end of data must be: every CRLF in the stream is a real line end (a bare CR before it is
// its own error), so the first "\r\n.\r\n", or ".\r\n" at the start, is the terminator.
std::size_t expected_end(std::string_view in) {
  if (in.substr(0, 3) == ".\r\n") return 3;
  auto p = in.find("\r\n.\r\n");
  return p == std::string_view::npos ? std::string_view::npos : p + 5;
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
  check(a == b);
  check(a.consumed <= in.size());
  check(a.content.size() <= lim.max_bytes && a.content.size() <= a.content_bytes);

  auto end = expected_end(in);
  check(a.done == (end != std::string_view::npos));
  if (a.done) check(a.consumed == end);

  if (a.error == data_error::none) {
    check(a.content.size() == a.content_bytes);
    for (std::size_t i = 0; i < a.content.size(); ++i) {
      check(a.content[i] != '\0');
      if (a.content[i] == '\n') check(i > 0 && a.content[i - 1] == '\r');
      if (a.content[i] == '\r') check(i + 1 < a.content.size() && a.content[i + 1] == '\n');
    }
  }

  // With limits out of the way the reader ends at the same place, and the limited content is a prefix.
  data_limits big{1 << 20, 1 << 20, 1 << 20, 1 << 20};
  auto u = run(in, in.size() + 1, big);
  check(u.done == a.done && u.consumed == a.consumed && u.content_bytes == a.content_bytes);
  check(u.content.compare(0, a.content.size(), a.content) == 0);
  return 0;
}
