// fuzz/header_fold_fuzzer.cpp: the header-section splitter and unfolding (auth/message) against a model.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks max_fields (1..64), the rest is the message. auth::parse_message walks the
// header section with hand-kept offsets (line ends, continuation lines, the name/colon split) and returns
// views into the message; the model below splits the same text into lines with find() first and groups
// them afterwards. Invariants: the splitter and the model agree on success, error, every field's name,
// value, raw text and offset, the separator and the body offset; the fields, their CRLFs, the empty line
// and the body put back together are the message byte for byte; unfold() equals "remove every CRLF, trim
// SP/HTAB at both ends" done piece by piece.
#include "auth/message.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace mailfort;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

struct mline {
  std::size_t start, end;  // content [start, end)
  bool crlf;               // ends with CRLF (false: the last line, cut by the end of the message)
};

// The line starting at pos: nullopt for a bare LF (a LF not preceded by a CR inside the line).
std::optional<mline> model_line(std::string_view msg, std::size_t pos) {
  const std::size_t nl = msg.find('\n', pos);
  if (nl == std::string_view::npos) return mline{pos, msg.size(), false};
  if (nl == pos || msg[nl - 1] != '\r') return std::nullopt;
  return mline{pos, nl - 1, true};
}

bool ftext(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

struct mfield {
  std::size_t offset, name_len, value_start, end;
};
struct model_result {
  bool ok = false;
  bool too_many = false;
  std::vector<mfield> fields;
  std::size_t body_offset = 0;
  bool separator = false;
};

model_result model_parse(std::string_view msg, std::size_t max_fields) {
  model_result r;
  std::size_t pos = 0;
  while (pos < msg.size()) {
    auto l = model_line(msg, pos);
    if (!l) return r;
    if (l->start == l->end && l->crlf) {
      r.separator = true;
      r.body_offset = l->end + 2;
      r.ok = true;
      return r;
    }
    const std::string_view text = msg.substr(l->start, l->end - l->start);
    if (text.front() == ' ' || text.front() == '\t') return r;
    std::size_t n = 0;
    while (n < text.size() && ftext(text[n])) ++n;
    std::size_t colon = n;
    while (colon < text.size() && (text[colon] == ' ' || text[colon] == '\t')) ++colon;
    if (n == 0 || n > 998 || colon >= text.size() || text[colon] != ':') return r;
    std::size_t end = l->end;
    std::size_t next = l->crlf ? l->end + 2 : msg.size();
    while (next < msg.size() && (msg[next] == ' ' || msg[next] == '\t')) {
      auto c = model_line(msg, next);
      if (!c) return r;
      end = c->end;
      next = c->crlf ? c->end + 2 : msg.size();
    }
    if (r.fields.size() == max_fields) {
      r.too_many = true;
      return r;
    }
    r.fields.push_back(mfield{pos, n, pos + colon + 1, end});
    pos = next;
  }
  r.body_offset = msg.size();
  r.ok = true;
  return r;
}

std::string model_unfold(std::string_view v) {
  std::string joined;
  std::size_t from = 0;
  for (std::size_t at; (at = v.find("\r\n", from)) != std::string_view::npos; from = at + 2)
    joined.append(v.substr(from, at - from));
  joined.append(v.substr(from));
  std::size_t b = 0, e = joined.size();
  while (b < e && (joined[b] == ' ' || joined[b] == '\t')) ++b;
  while (e > b && (joined[e - 1] == ' ' || joined[e - 1] == '\t')) --e;
  return joined.substr(b, e - b);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t max_fields = 1 + data[0] % 64;
  const std::string_view msg(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto got = auth::parse_message(msg, max_fields);
  const auto want = model_parse(msg, max_fields);

  check(got.message.has_value() == want.ok);
  check(!want.ok ? (got.error == auth::parse_error::too_many_fields) == want.too_many : true);
  check(auth::unfold(msg) == model_unfold(msg));
  if (!got.message) return 0;
  const auto& m = *got.message;
  check(m.fields.size() == want.fields.size());
  check(m.body_offset == want.body_offset && m.has_separator == want.separator);
  std::string rebuilt;
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const auto& f = m.fields[i];
    const auto& w = want.fields[i];
    check(f.offset == w.offset);
    check(f.raw.data() == msg.data() + w.offset && f.raw.size() == w.end - w.offset);
    check(f.name.data() == f.raw.data() && f.name.size() == w.name_len);
    check(f.value.data() == msg.data() + w.value_start && f.value.data() + f.value.size() == msg.data() + w.end);
    check(auth::unfold(f.value) == model_unfold(f.value));
    if (i != 0) rebuilt += "\r\n";
    rebuilt.append(f.raw);
  }
  if (m.has_separator) {
    if (!m.fields.empty()) rebuilt += "\r\n";
    rebuilt += "\r\n";
    rebuilt.append(msg.substr(m.body_offset));
    check(rebuilt == msg);
  } else {
    // All header: the fields end at the message's end, the last one with or without its CRLF.
    check(rebuilt == msg || rebuilt + "\r\n" == msg);
  }
  return 0;
}
