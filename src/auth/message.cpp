// auth/message.cpp: [pure] RFC 5322 header-section splitter.
// SPDX-License-Identifier: MIT
#include "auth/message.hpp"

#include <algorithm>

namespace mailfort::auth {

namespace {

bool is_ftext(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }

// Returns the offset of the CRLF ending the line that starts at `pos`, or npos.
std::size_t line_end(std::string_view msg, std::size_t pos) {
  for (std::size_t i = pos; i < msg.size(); ++i) {
    if (msg[i] == '\n') return (i > pos && msg[i - 1] == '\r') ? i - 1 : std::string_view::npos;
  }
  return msg.size();  // last line without a line end
}

}  // namespace

bool name_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;
      continue;
    }
    out.push_back(value[i]);
  }
  const auto b = out.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = out.find_last_not_of(" \t");
  return out.substr(b, e - b + 1);
}

parse_result parse_message(std::string_view msg, std::size_t max_fields) {
  parse_result res;
  parsed_message m;
  std::size_t pos = 0;
  while (pos < msg.size()) {
    const std::size_t end = line_end(msg, pos);
    if (end == std::string_view::npos) return res;  // bare LF
    if (end == pos) {                               // the empty line
      m.has_separator = true;
      m.body_offset = std::min(msg.size(), end + 2);
      res.message = std::move(m);
      return res;
    }
    const char first = msg[pos];
    if (first == ' ' || first == '\t') return res;  // continuation with nothing to continue
    // Field name.
    std::size_t i = pos;
    while (i < end && is_ftext(static_cast<unsigned char>(msg[i]))) ++i;
    const std::size_t name_end = i;
    while (i < end && (msg[i] == ' ' || msg[i] == '\t')) ++i;  // obs-optional WSP before the colon
    if (name_end == pos || i >= end || msg[i] != ':' || name_end - pos > 998) return res;
    // Continuation lines.
    std::size_t field_end = end;
    std::size_t next = end + 2;
    while (next < msg.size() && (msg[next] == ' ' || msg[next] == '\t')) {
      const std::size_t e2 = line_end(msg, next);
      if (e2 == std::string_view::npos) return res;
      field_end = e2;
      next = e2 + 2;
    }
    if (m.fields.size() >= max_fields) {
      res.error = parse_error::too_many_fields;
      return res;
    }
    header_field f;
    f.name = msg.substr(pos, name_end - pos);
    f.value = msg.substr(i + 1, field_end - (i + 1));
    f.raw = msg.substr(pos, field_end - pos);
    f.offset = pos;
    m.fields.push_back(f);
    pos = std::min(next, msg.size());
  }
  // No empty line: a message that is all header (allowed; the body is empty).
  m.body_offset = msg.size();
  res.message = std::move(m);
  return res;
}

}  // namespace mailfort::auth
