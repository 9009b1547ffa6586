// outbound/reply_parser.cpp: [pure] SMTP reply parsing for the client side and EHLO keyword decoding.
// SPDX-License-Identifier: MIT
#include "outbound/reply_parser.hpp"

#include <algorithm>
#include <charconv>

namespace mailfort::outbound {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = upper(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

// 1..3 digits at s[pos]; advances pos.
std::optional<std::uint16_t> small_number(std::string_view s, std::size_t& pos) {
  std::size_t start = pos;
  unsigned v = 0;
  while (pos < s.size() && is_digit(s[pos]) && pos - start < 3) {
    v = v * 10 + static_cast<unsigned>(s[pos] - '0');
    ++pos;
  }
  if (pos == start || (pos < s.size() && is_digit(s[pos]))) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// RFC 3463 status-code at the start of text, followed by SP or the end of the text.
std::optional<enhanced_status> parse_enhanced(std::string_view text, int code) {
  if (text.size() < 5 || !is_digit(text[0]) || text[1] != '.') return std::nullopt;
  int klass = text[0] - '0';
  if (klass != code / 100) return std::nullopt;
  std::size_t pos = 2;
  auto subject = small_number(text, pos);
  if (!subject || pos >= text.size() || text[pos] != '.') return std::nullopt;
  ++pos;
  auto detail = small_number(text, pos);
  if (!detail || (pos < text.size() && text[pos] != ' ')) return std::nullopt;
  return enhanced_status{static_cast<std::uint8_t>(klass), *subject, *detail};
}

// Splits on runs of spaces (and tabs, which some servers emit).
std::vector<std::string_view> words(std::string_view s, std::size_t max_words) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < max_words) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

constexpr std::size_t max_auth = 64;
constexpr std::size_t max_unknown = 64;

void add_auth(ehlo_capabilities& caps, std::string_view mech) {
  if (mech.empty() || mech.size() > 20 || caps.auth.size() >= max_auth) return;  // RFC 4422: names are 1..20 chars
  std::string m = to_upper(mech);
  if (std::find(caps.auth.begin(), caps.auth.end(), m) == caps.auth.end()) caps.auth.push_back(std::move(m));
}

}  // namespace

std::string to_string(const enhanced_status& e) {
  return std::to_string(e.klass) + "." + std::to_string(e.subject) + "." + std::to_string(e.detail);
}

const char* to_string(reply_error e) {
  switch (e) {
    case reply_error::none:
      return "none";
    case reply_error::short_line:
      return "short_line";
    case reply_error::bad_code:
      return "bad_code";
    case reply_error::bad_separator:
      return "bad_separator";
    case reply_error::mixed_codes:
      return "mixed_codes";
    case reply_error::line_too_long:
      return "line_too_long";
    case reply_error::too_many_lines:
      return "too_many_lines";
  }
  return "unknown";
}

reply_parser::reply_parser(reply_limits limits) : limits_(limits) {
  // Degenerate limits would make every reply an error; keep at least one line of a bare code.
  limits_.max_line = std::max<std::size_t>(limits_.max_line, 5);
  limits_.max_lines = std::max<std::size_t>(limits_.max_lines, 1);
}

void reply_parser::reset() {
  line_.clear();
  current_ = server_reply{};
  done_ = server_reply{};
  error_ = reply_error::none;
}

reply_parser::result reply_parser::feed(std::string_view in) {
  if (error_ != reply_error::none) return {reply_status::error, 0};
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\n') {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (!finish_line()) return {reply_status::error, i + 1};
      line_.clear();
      if (done_.code != 0) return {reply_status::reply, i + 1};  // finish_line() sets done_ only on a final line
      continue;
    }
    // The LF still to come counts towards max_line; fail as soon as the bound is passed, so a server that
    // streams megabytes without a line end costs no more than max_line bytes of buffer.
    if (line_.size() + 2 > limits_.max_line) {
      error_ = reply_error::line_too_long;
      line_.clear();
      return {reply_status::error, i + 1};
    }
    line_.push_back(c);
  }
  return {reply_status::need_more, in.size()};
}

bool reply_parser::finish_line() {
  done_ = server_reply{};
  auto fail = [this](reply_error e) {
    error_ = e;
    line_.clear();
    current_ = server_reply{};
    return false;
  };
  std::string_view l = line_;
  if (l.size() < 3) return fail(reply_error::short_line);
  if (!is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) return fail(reply_error::bad_code);
  int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  if (code < 200 || code > 599) return fail(reply_error::bad_code);
  bool last = true;
  if (l.size() > 3) {
    if (l[3] == '-')
      last = false;
    else if (l[3] != ' ')
      return fail(reply_error::bad_separator);
  }
  if (!current_.lines.empty() && code != current_.code) return fail(reply_error::mixed_codes);
  if (!last && current_.lines.size() + 1 >= limits_.max_lines) return fail(reply_error::too_many_lines);
  current_.code = code;
  current_.lines.emplace_back(l.size() > 4 ? l.substr(4) : std::string_view{});
  if (last) {
    current_.enhanced = parse_enhanced(current_.lines.front(), code);
    done_ = std::move(current_);
    current_ = server_reply{};
  }
  return true;
}

std::optional<server_reply> parse_reply(std::string_view wire, reply_limits limits) {
  reply_parser p(limits);
  auto r = p.feed(wire);
  if (r.status != reply_status::reply || r.consumed != wire.size()) return std::nullopt;
  return p.get();
}

std::string printable(std::string_view text, std::size_t max_len) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), max_len) + 8);
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    char buf[4];
    std::size_t n = 0;
    if (u == '\\') {
      buf[0] = '\\';
      buf[1] = '\\';
      n = 2;
    } else if (u >= 0x20 && u < 0x7f) {
      buf[0] = ch;
      n = 1;
    } else {
      buf[0] = '\\';
      buf[1] = 'x';
      buf[2] = hex[u >> 4];
      buf[3] = hex[u & 0xf];
      n = 4;
    }
    if (out.size() + n > max_len) {
      out += "...";
      return out;
    }
    out.append(buf, n);
  }
  return out;
}

bool ehlo_capabilities::has_auth(std::string_view mechanism) const {
  return std::any_of(auth.begin(), auth.end(), [&](const std::string& m) { return iequals(m, mechanism); });
}

std::optional<ehlo_capabilities> parse_ehlo(const server_reply& r) {
  if (r.code != 250 || r.lines.empty()) return std::nullopt;
  ehlo_capabilities caps;
  auto first = words(r.lines.front(), 1);
  if (!first.empty()) caps.server_name = std::string(first.front());
  for (std::size_t i = 1; i < r.lines.size(); ++i) {
    const std::string& line = r.lines[i];
    auto w = words(line, 128);
    if (w.empty()) continue;
    std::string_view kw = w.front();
    // Old servers (pre-RFC 4954 Outlook clients' era) announce "AUTH=LOGIN PLAIN"; treat it like AUTH.
    if (kw.size() > 5 && iequals(kw.substr(0, 5), "AUTH=")) {
      add_auth(caps, kw.substr(5));
      for (std::size_t k = 1; k < w.size(); ++k) add_auth(caps, w[k]);
      continue;
    }
    if (iequals(kw, "PIPELINING"))
      caps.pipelining = true;
    else if (iequals(kw, "8BITMIME"))
      caps.eightbitmime = true;
    else if (iequals(kw, "SMTPUTF8"))
      caps.smtputf8 = true;
    else if (iequals(kw, "STARTTLS"))
      caps.starttls = true;
    else if (iequals(kw, "CHUNKING"))
      caps.chunking = true;
    else if (iequals(kw, "BINARYMIME"))
      caps.binarymime = true;
    else if (iequals(kw, "ENHANCEDSTATUSCODES"))
      caps.enhancedstatuscodes = true;
    else if (iequals(kw, "DSN"))
      caps.dsn = true;
    else if (iequals(kw, "REQUIRETLS"))
      caps.requiretls = true;
    else if (iequals(kw, "SIZE")) {
      caps.size = true;
      caps.size_limit = 0;
      if (w.size() >= 2) {
        std::uint64_t v = 0;
        auto p = w[1];
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec == std::errc{} && ptr == p.data() + p.size()) caps.size_limit = v;
      }
    } else if (iequals(kw, "AUTH")) {
      for (std::size_t k = 1; k < w.size(); ++k) add_auth(caps, w[k]);
    } else if (caps.unknown.size() < max_unknown) {
      caps.unknown.push_back(line);
    }
  }
  return caps;
}

}  // namespace mailfort::outbound
