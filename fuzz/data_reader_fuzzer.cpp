// fuzz/data_reader_fuzzer.cpp: the DATA reader with random chunking.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks max_bytes and the chunk size, byte 1 max_line, the rest is the client's stream.
// Invariants: stored bytes <= max_bytes and <= content_bytes(); consumed <= input size; done exactly at the
// first real <CRLF>.<CRLF> (or "." CRLF at the very start) and nowhere else, so nothing behind a fake
// terminator is ever handed back as commands; an error-free content holds no bare CR or LF and no NUL and does not
// begin with SP or HTAB;
// chunking never changes anything; after an error, the content is a prefix of the error-free reading; and
// the reader (with its bulk-copy fast path) agrees with a plain byte-at-a-time model of the same rules.
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

// The reference: the reader's rules one byte at a time, with no fast path (the reader before its bulk copy).
outcome model(std::string_view in, data_limits lim) {
  outcome o;
  enum { start, line, cr, dot, dot_cr } st = start;
  std::size_t line_len = 0, header_bytes = 0;
  bool in_header = true;
  std::string name;
  auto fail = [&](data_error e) {
    if (o.error == data_error::none) o.error = e;
  };
  auto store = [&](char c) {
    if (o.content_bytes >= lim.max_bytes)
      fail(data_error::too_large);
    else if (o.error == data_error::none)
      o.content.push_back(c);
    ++o.content_bytes;
  };
  auto byte = [&](char c) {
    if (c == '\0') fail(data_error::nul);
    if (o.content_bytes == 0 && (c == ' ' || c == '\t')) fail(data_error::leading_whitespace);
    ++line_len;
    if (in_header) {
      ++header_bytes;
      if (line_len + 2 > 1000 || header_bytes > lim.max_header) fail(data_error::header_too_large);
      if (name.size() < 16) name.push_back(c);
    }
    if (line_len + 2 > lim.max_line) fail(data_error::line_too_long);
    store(c);
  };
  auto eol = [&] {
    if (in_header) {
      if (line_len == 0) {
        in_header = false;
      } else {
        header_bytes += 2;
        if (header_bytes > lim.max_header) fail(data_error::header_too_large);
        std::string lower;
        for (char c : name) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
        auto colon = lower.find(':');
        bool rec =
            lower.rfind("received", 0) == 0 && colon != std::string::npos && lower.find_first_not_of(" \t", 8) == colon;
        if (rec && ++o.received >= lim.max_hops) fail(data_error::too_many_hops);
      }
    }
    line_len = 0;
    name.clear();
  };
  for (std::size_t i = 0; i < in.size();) {
    char c = in[i++];
    if (st == start || st == dot) {
      if (st == start && c == '.') {
        ++line_len;
        st = dot;
      } else if (c == '\r') {
        st = st == dot ? dot_cr : cr;
      } else if (c == '\n') {
        fail(data_error::bare_lf);
        st = line;
      } else {
        byte(c);
        st = line;
      }
    } else if (st == line) {
      if (c == '\r')
        st = cr;
      else if (c == '\n')
        fail(data_error::bare_lf);
      else
        byte(c);
    } else if (c == '\n') {
      if (st == dot_cr) {
        o.done = true;
        o.consumed = i;
        return o;
      }
      store('\r');
      store('\n');
      eol();
      st = start;
    } else {
      fail(data_error::bare_cr);
      st = line;
      --i;
    }
  }
  o.consumed = in.size();
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
  check(a == model(in, lim));
  check(a.consumed <= in.size());
  check(a.content.size() <= lim.max_bytes && a.content.size() <= a.content_bytes);

  auto end = expected_end(in);
  check(a.done == (end != std::string_view::npos));
  if (a.done) check(a.consumed == end);

  if (a.error == data_error::none) {
    check(a.content.size() == a.content_bytes);
    check(a.content.empty() || (a.content[0] != ' ' && a.content[0] != '\t'));  // nothing folds into Received:
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
