// fuzz/dkim_canon_fuzzer.cpp: the DKIM canonicalisers (auth/dkim_canon) against plain reference models.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks the l= limit, bytes 1..8 the chunk sizes (cycled), the rest is the body or
// header field. The streaming body canonicaliser has a fixed 4 KiB output buffer and a bulk path for runs
// of plain bytes (it once wrote one byte past the buffer when a run filled it exactly: issue 14); the
// reference below is the RFC 6376 3.4.3/3.4.4 text written out on whole strings, with no buffer, no
// streaming and no fast path. Invariants: for both canonicalisations and any chunking, the streaming output
// equals the reference byte for byte; body_hasher's digest is the digest of the reference's first l bytes
// and its canonical length the reference's length; header canonicalisation equals its reference too.
// A long body is made by repeating the input, so the 4 KiB buffer is crossed at an alignment the input picks.
#include "auth/dkim_canon.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mailfort;
using dkim::canonicalization;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

// The models are left out of coverage instrumentation: coverage should steer the fuzzer through the code
// under test, and the per-byte callbacks in a model would only slow every run down.
#define MODEL __attribute__((no_sanitize("coverage")))

MODEL bool wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 6376 3.4.3 / 3.4.4 on a whole body. Lines end at CRLF or at a bare LF (the project's rule, see
// dkim_canon.hpp); a bare CR is content; an unterminated last line counts as a line.
MODEL std::string ref_body(bool relaxed, std::string_view b) {
  std::vector<std::string> lines;
  std::string cur;
  bool open = false;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '\r' && i + 1 < b.size() && b[i + 1] == '\n') {
      lines.push_back(cur);
      cur.clear();
      open = false;
      ++i;
    } else if (b[i] == '\n') {
      lines.push_back(cur);
      cur.clear();
      open = false;
    } else {
      cur.push_back(b[i]);
      open = true;
    }
  }
  if (open) lines.push_back(cur);
  if (relaxed) {
    for (auto& l : lines) {
      std::string r;
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (!wsp(l[i])) {
          r.push_back(l[i]);
        } else if (i == 0 || !wsp(l[i - 1])) {
          r.push_back(' ');  // a WSP run becomes one SP
        }
      }
      while (!r.empty() && r.back() == ' ') r.pop_back();  // no WSP at the end of a line
      l = r;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // no empty lines at the end
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  if (!relaxed && out.empty()) out = "\r\n";
  return out;
}

// RFC 6376 3.4.1 / 3.4.2 on one field as message.hpp hands it out (no final CRLF).
MODEL std::string ref_header(bool relaxed, std::string_view raw) {
  if (!relaxed) return std::string(raw) + "\r\n";
  const std::size_t colon = raw.find(':');
  std::string name(raw.substr(0, colon));
  while (!name.empty() && wsp(name.back())) name.pop_back();
  for (auto& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::string value;
  if (colon != std::string_view::npos) {
    std::string unfolded;
    for (char c : raw.substr(colon + 1))
      if (c != '\r' && c != '\n') unfolded.push_back(c);
    for (std::size_t i = 0; i < unfolded.size(); ++i) {
      if (!wsp(unfolded[i])) {
        value.push_back(unfolded[i]);
      } else if (i == 0 || !wsp(unfolded[i - 1])) {
        value.push_back(' ');
      }
    }
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && value.back() == ' ') value.pop_back();
  }
  return name + ":" + value + "\r\n";
}

std::string streamed(canonicalization c, std::string_view in, const std::uint8_t* sizes, std::size_t min_chunk) {
  dkim::body_canonicalizer bc(c);
  std::string out;
  auto sink = [&out](std::string_view s) {
    check(!s.empty() && s.size() <= 1 << 20);
    out.append(s);
  };
  std::size_t pos = 0;
  for (unsigned k = 0; pos < in.size(); ++k) {
    // Chunk sizes from min_chunk to 4K more: small ones split CR from LF, large ones cross the buffer in one update.
    const std::size_t n = min_chunk + static_cast<std::size_t>(sizes[k % 8]) * 17;
    bc.update(in.substr(pos, n), sink);
    pos += n;
  }
  bc.finish(sink);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  const std::uint64_t limit = static_cast<std::uint64_t>(data[0]) * 37;
  const std::uint8_t* sizes = data + 1;
  const std::string_view text(reinterpret_cast<const char*>(data) + 9, size - 9);

  // Bodies: the input, and the input repeated until it passes 5 KiB (past the 4 KiB buffer at an offset the
  // input's length picks).
  std::string longer(text);
  while (!text.empty() && longer.size() < 5 * 1024) longer.append(text);
  // The short body goes in chunks from 1 byte up, the long one from 61 bytes up (fast enough to fuzz).
  for (std::string_view body : {text, std::string_view(longer)}) {
    const std::size_t min_chunk = body.size() == text.size() ? 1 : 61;
    for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
      const std::string want = ref_body(c == canonicalization::relaxed, body);
      check(dkim::canon_body(c, body) == want);
      check(streamed(c, body, sizes, min_chunk) == want);
      dkim::body_hasher h(c, dkim::hash_alg::sha256, limit);
      std::size_t pos = 0;
      for (unsigned k = 0; pos < body.size(); ++k) {
        const std::size_t n = min_chunk + static_cast<std::size_t>(sizes[(k + 3) % 8]) * 31;
        h.update(body.substr(pos, n));
        pos += n;
      }
      const std::string digest = h.finish();
      check(h.canonical_length() == want.size());
      check(digest == dkim::digest(dkim::hash_alg::sha256, std::string_view(want).substr(0, limit)));
    }
  }
  for (auto c : {canonicalization::simple, canonicalization::relaxed})
    check(dkim::canon_header(c, text) == ref_header(c == canonicalization::relaxed, text));
  return 0;
}
