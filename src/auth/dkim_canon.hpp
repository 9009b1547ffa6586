// auth/dkim_canon.hpp: [pure] DKIM canonicalisation (RFC 6376 3.4): header fields and a streaming body.
// SPDX-License-Identifier: MIT
// Untrusted input: header fields and body of any received message. Linear time, constant extra memory
// for the body (a fixed 4 KiB output buffer; held-back empty lines are a counter, not text), so a body
// of any size or shape costs one pass. The body canonicaliser takes chunks split anywhere (even between
// CR and LF) and produces the same bytes as for the whole body.
// Line ends: CRLF ends a line. A bare LF also ends a line (as go-msgauth does; the spool never holds one,
// and treating it as a line end keeps signer and verifier in agreement); a bare CR is ordinary content.
#pragma once
#include "auth/dkim_signature.hpp"
#include "auth/message.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dkim {

// One header field as message.hpp returns it in `raw` (name, colon, value with folding, no final CRLF)
// -> its canonical form followed by CRLF (RFC 6376 3.4.1 simple, 3.4.2 relaxed), appended to out.
void canon_header(canonicalization c, std::string_view raw_field, std::string& out);
std::string canon_header(canonicalization c, std::string_view raw_field);

// Streaming body canonicaliser (RFC 6376 3.4.3 simple, 3.4.4 relaxed). `out` is called with chunks of
// canonical body, in order; their concatenation is the canonical body.
class body_canonicalizer {
 public:
  explicit body_canonicalizer(canonicalization c) : relaxed_(c == canonicalization::relaxed) {}

  template <typename Sink>
  void update(std::string_view in, Sink&& out) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      const char ch = in[i];
      if (!cr_pending_ && plain(ch)) {
        // Fast path: a run of bytes that canonicalisation leaves alone is copied in one piece.
        // A single SP between two such bytes is also unchanged by relaxed canonicalisation.
        std::size_t j = i + 1;
        while (j < in.size()) {
          if (plain(in[j])) {
            ++j;
          } else if (relaxed_ && in[j] == ' ' && j + 1 < in.size() && plain(in[j + 1])) {
            j += 2;
          } else {
            break;
          }
        }
        content_run(in.substr(i, j - i), out);
        i = j - 1;
        continue;
      }
      if (cr_pending_) {
        cr_pending_ = false;
        if (ch == '\n') {
          end_line(out);
          continue;
        }
        content('\r', out);
      }
      if (ch == '\r') {
        cr_pending_ = true;
      } else if (ch == '\n') {
        end_line(out);
      } else if (relaxed_ && (ch == ' ' || ch == '\t')) {
        wsp_pending_ = true;
      } else {
        content(ch, out);
      }
    }
    flush(out);
  }

  template <typename Sink>
  void finish(Sink&& out) {
    if (cr_pending_) {
      cr_pending_ = false;
      content('\r', out);
    }
    wsp_pending_ = false;  // trailing WSP of an unterminated last line goes, like any trailing WSP
    if (line_content_) {
      put('\r', out);
      put('\n', out);
      line_content_ = false;
    }
    // Simple: an empty body is one CRLF. Relaxed: an empty body stays empty.
    if (!relaxed_ && !any_output_) {
      put('\r', out);
      put('\n', out);
    }
    empty_lines_ = 0;
    flush(out);
  }

 private:
  // Invariant between calls: n_ < buf_.size() (a full buffer is flushed before anything returns), so a
  // put always has room. Every writer of buf_ (put, content_run) keeps it.
  template <typename Sink>
  void put(char c, Sink& out) {
    any_output_ = true;
    buf_[n_++] = c;
    if (n_ == buf_.size()) flush(out);
  }
  template <typename Sink>
  void flush(Sink& out) {
    if (n_ != 0) out(std::string_view(buf_.data(), n_));
    n_ = 0;
  }
  bool plain(char c) const { return c != '\r' && c != '\n' && (!relaxed_ || (c != ' ' && c != '\t')); }

  template <typename Sink>
  void content_run(std::string_view run, Sink& out) {
    content(run.front(), out);
    run.remove_prefix(1);
    // Strictly less: a run that would exactly fill the buffer goes out directly, so n_ never reaches
    // buf_.size() here (it did once, and the next put wrote one byte past the buffer: issue 14).
    if (run.size() < buf_.size() - n_) {
      std::copy(run.begin(), run.end(), buf_.begin() + static_cast<std::ptrdiff_t>(n_));
      n_ += run.size();
    } else {
      flush(out);
      out(run);
    }
  }

  template <typename Sink>
  void content(char c, Sink& out) {
    // Empty lines are held back until content follows them: trailing empty lines are dropped.
    for (; empty_lines_ != 0; --empty_lines_) {
      put('\r', out);
      put('\n', out);
    }
    if (wsp_pending_) put(' ', out);  // relaxed: a WSP run becomes one SP (kept only if content follows)
    wsp_pending_ = false;
    put(c, out);
    line_content_ = true;
  }
  template <typename Sink>
  void end_line(Sink& out) {
    wsp_pending_ = false;  // relaxed: WSP at the end of a line is removed
    if (line_content_) {
      put('\r', out);
      put('\n', out);
      line_content_ = false;
    } else {
      ++empty_lines_;
    }
  }

  bool relaxed_;
  bool cr_pending_ = false;
  bool wsp_pending_ = false;
  bool line_content_ = false;
  bool any_output_ = false;
  std::uint64_t empty_lines_ = 0;
  std::array<char, 4096> buf_{};
  std::size_t n_ = 0;
};

std::string canon_body(canonicalization c, std::string_view body);

// RFC 6376 5.4.2: for each name in h= (in order), the last not-yet-used field of that name counting from
// the bottom, canonicalised, appended to out; a name with no field left adds nothing (oversigning).
void append_signed_headers(canonicalization c, const std::vector<auth::header_field>& fields,
                           const std::vector<std::string>& names, std::string& out);

enum class hash_alg { sha256, sha1 };
hash_alg hash_of(algorithm a);

// Body hash with the l= limit: hashes the first `limit` canonical bytes (all when nullopt) and counts the
// whole canonical length, so the verifier can tell when unsigned content follows the signed part.
class body_hasher {
 public:
  body_hasher(canonicalization c, hash_alg h, std::optional<std::uint64_t> limit);
  ~body_hasher();
  body_hasher(const body_hasher&) = delete;
  body_hasher& operator=(const body_hasher&) = delete;
  void update(std::string_view chunk);
  // The digest (raw bytes). Call once.
  std::string finish();
  std::uint64_t canonical_length() const { return total_; }

 private:
  void consume(std::string_view canonical);
  body_canonicalizer canon_;
  struct md_ctx;
  std::unique_ptr<md_ctx> md_;
  std::optional<std::uint64_t> limit_;
  std::uint64_t total_ = 0;
};

// One-shot digest helper (SHA-256 or SHA-1) used for header hashes too.
std::string digest(hash_alg h, std::string_view data);

}  // namespace mailfort::dkim
