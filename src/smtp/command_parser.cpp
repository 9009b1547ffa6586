// smtp/command_parser.cpp: CRLF-only line splitting and verb recognition (see command_parser.hpp).
// SPDX-License-Identifier: MIT
#include "smtp/command_parser.hpp"

#include "common/ascii.hpp"

namespace mailfort::smtp {

line_reader::line_reader(std::size_t max_line, std::size_t max_discard)
    : max_line_(max_line < 3 ? 3 : max_line), max_discard_(max_discard) {}

void line_reader::reset() {
  line_.clear();
  complete_ = false;
  pending_cr_ = false;
  bad_ = false;
  discarding_ = false;
  discarded_ = 0;
}

line_reader::result line_reader::feed(std::string_view in) {
  if (complete_) {
    // The previous line was handed out; start a new one.
    line_.clear();
    complete_ = false;
    bad_ = false;
  }
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i++];
    if (discarding_) {
      // An over-long line is thrown away up to its CRLF (not a bare LF: that would let the tail of
      // a long line become a command).
      bool crlf = c == '\n' && pending_cr_;
      pending_cr_ = c == '\r';
      if (crlf) {
        discarding_ = false;
        discarded_ = 0;
        pending_cr_ = false;
        line_.clear();
        bad_ = false;
        continue;  // too_long was already reported when the limit was crossed
      }
      if (++discarded_ > max_discard_) {
        // The caller replies 421 and closes; start clean in case it does not.
        reset();
        return {line_status::overflow, i};
      }
      continue;
    }
    if (c == '\n') {
      bool crlf = pending_cr_;
      pending_cr_ = false;
      if (!crlf) {
        // A bare LF does not end a line (CRLF framing only): the line is poisoned and still ends at
        // the next CRLF, so "MAIL ...\nRCPT ...\r\n" is one bad line, never two commands.
        bad_ = true;
        line_.push_back('\n');
      } else {
        complete_ = true;
        if (bad_) {
          line_.clear();
          return {line_status::bad_line_ending, i};
        }
        return {line_status::line, i};
      }
    } else {
      if (pending_cr_) {
        // A CR not followed by LF: the line is poisoned but still ends only at CRLF.
        bad_ = true;
        line_.push_back('\r');
      }
      if (c == '\r') {
        pending_cr_ = true;
      } else {
        pending_cr_ = false;
        line_.push_back(c);
      }
    }
    // max_line_ counts the CRLF that must still come.
    if (line_.size() + 2 > max_line_) {
      discarding_ = true;
      discarded_ = 0;
      line_.clear();
      // pending_cr_ stays: the byte that crossed the limit may be a CR whose LF ends this line (found by
      // the reference-model fuzzer: clearing it here made the discard run on into the next command).
      bad_ = false;
      return {line_status::too_long, i};
    }
  }
  return {line_status::need_more, i};
}

namespace {
struct verb_entry {
  const char* name;
  verb v;
};
constexpr verb_entry k_verbs[] = {
    {"HELO", verb::helo},         {"EHLO", verb::ehlo},    {"MAIL", verb::mail},       {"RCPT", verb::rcpt},
    {"DATA", verb::data},         {"BDAT", verb::bdat},    {"RSET", verb::rset},       {"NOOP", verb::noop},
    {"QUIT", verb::quit},         {"HELP", verb::help},    {"VRFY", verb::vrfy},       {"EXPN", verb::expn},
    {"STARTTLS", verb::starttls}, {"AUTH", verb::auth},    {"XCLIENT", verb::xclient}, {"XFORWARD", verb::xclient},
    {"PROXY", verb::proxy},       {"GET", verb::http},     {"POST", verb::http},       {"HEAD", verb::http},
    {"PUT", verb::http},          {"CONNECT", verb::http}, {"OPTIONS", verb::http},    {"DELETE", verb::http},
    {"USER", verb::http},         {"PASS", verb::http},
};
}  // namespace

command parse_command(std::string_view line) {
  command c;
  if (line.empty()) return c;  // invalid
  for (char ch : line)
    if (ch == '\0') return c;  // never truncate at a NUL and act on the prefix
  std::size_t sp = line.find(' ');
  std::string_view name = line.substr(0, sp);
  c.name = name;
  c.args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  if (name.empty()) return c;
  for (char ch : name) {
    // Commands are ASCII (RFC 5321 2.4): control bytes, DEL and 8-bit bytes in the verb make the line
    // invalid. A tab is tolerated here only in the sense that it makes an unknown verb ("NOOP\tx").
    auto u = static_cast<unsigned char>(ch);
    if ((u < 0x20 && u != '\t') || u >= 0x7f) {
      c.verb = verb::invalid;
      return c;
    }
  }
  if (name.back() == ':') {  // "Host: x", "User-Agent: y": an HTTP request's header lines
    c.verb = verb::http;
    return c;
  }
  for (const auto& e : k_verbs) {
    if (common::iequals(name, e.name)) {
      c.verb = e.v;
      return c;
    }
  }
  c.verb = verb::unknown;
  return c;
}

const char* verb_name(verb v) {
  switch (v) {
    case verb::helo:
      return "HELO";
    case verb::ehlo:
      return "EHLO";
    case verb::mail:
      return "MAIL";
    case verb::rcpt:
      return "RCPT";
    case verb::data:
      return "DATA";
    case verb::bdat:
      return "BDAT";
    case verb::rset:
      return "RSET";
    case verb::noop:
      return "NOOP";
    case verb::quit:
      return "QUIT";
    case verb::help:
      return "HELP";
    case verb::vrfy:
      return "VRFY";
    case verb::expn:
      return "EXPN";
    case verb::starttls:
      return "STARTTLS";
    case verb::auth:
      return "AUTH";
    case verb::xclient:
      return "XCLIENT";
    case verb::proxy:
      return "PROXY";
    case verb::http:
      return "HTTP";
    case verb::unknown:
      return "UNKNOWN";
    case verb::invalid:
      return "INVALID";
  }
  return "INVALID";
}

}  // namespace mailfort::smtp
