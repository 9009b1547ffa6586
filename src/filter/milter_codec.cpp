// filter/milter_codec.cpp: [pure] milter v6 framing, commands, replies and header edits (see milter_codec.hpp).
// SPDX-License-Identifier: MIT
#include "filter/milter_codec.hpp"

#include <algorithm>

namespace mailfort::filter::milter {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xFF));
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}

std::uint32_t get_u32(std::string_view s) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[3]));
}

// Reads one NUL-terminated string from `s`; false when there is no NUL.
bool take_string(std::string_view& s, std::string_view& out) {
  auto nul = s.find('\0');
  if (nul == std::string_view::npos) return false;
  out = s.substr(0, nul);
  s.remove_prefix(nul + 1);
  return true;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// A header name: 1..998 printable US-ASCII characters except ':' (RFC 5322 2.2).
bool valid_header_name(std::string_view n) {
  if (n.empty() || n.size() > 998) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F && c != ':';
  });
}

// A header value from a milter: line breaks (LF or CRLF) only as folds, i.e. followed by SP or HTAB; no other
// controls than HTAB. 8-bit bytes pass (RFC 6532 headers).
bool valid_header_value(std::string_view v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto u = static_cast<unsigned char>(v[i]);
    if (v[i] == '\r') {
      if (i + 1 >= v.size() || v[i + 1] != '\n') return false;
      continue;
    }
    if (v[i] == '\n') {
      if (i + 1 >= v.size() || !is_wsp(v[i + 1])) return false;
      continue;
    }
    if ((u < 0x20 && v[i] != '\t') || u == 0x7F) return false;
  }
  return true;
}

// Strips one pair of angle brackets.
std::string_view strip_brackets(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') return a.substr(1, a.size() - 2);
  return a;
}

bool printable_text(std::string_view t) {
  return std::all_of(t.begin(), t.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u != 0x7F) || c == '\t';
  });
}

parse_result fail(const char* why) {
  parse_result r;
  r.error = parse_error::malformed;
  r.why = why;
  return r;
}

parse_result ok(reply r) {
  parse_result p;
  p.value = std::move(r);
  return p;
}

// name\0value\0, validated.
parse_result header_reply(reply_kind k, std::string_view d, bool indexed) {
  reply r;
  r.kind = k;
  if (indexed) {
    if (d.size() < 4) return fail("header index missing");
    r.index = get_u32(d);
    d.remove_prefix(4);
  }
  std::string_view name, value;
  if (!take_string(d, name) || !take_string(d, value)) return fail("header name or value not NUL-terminated");
  if (!d.empty()) return fail("bytes after the header value");
  if (!valid_header_name(name)) return fail("invalid header name");
  if (!valid_header_value(value)) return fail("invalid header value");
  r.name = name;
  r.value = value;
  return ok(std::move(r));
}

// addr\0 [args\0]
parse_result address_reply(reply_kind k, std::string_view d, bool args_allowed) {
  reply r;
  r.kind = k;
  std::string_view addr;
  if (!take_string(d, addr)) return fail("address not NUL-terminated");
  if (!d.empty()) {
    std::string_view args;
    if (!args_allowed || !take_string(d, args) || !d.empty()) return fail("bytes after the address");
    if (!printable_text(args) || args.size() > 1000) return fail("invalid ESMTP arguments");
    r.args = args;
  }
  addr = strip_brackets(addr);
  // The null sender is a valid new sender; never a recipient.
  if (!(k == reply_kind::change_from && addr.empty()) && !valid_envelope_address(addr)) return fail("invalid address");
  r.address = addr;
  return ok(std::move(r));
}

}  // namespace

char stage_command(stage s) {
  switch (s) {
    case stage::connect:
      return cmd::connect;
    case stage::helo:
      return cmd::helo;
    case stage::mail:
      return cmd::mail;
    case stage::rcpt:
      return cmd::rcpt;
    case stage::data:
      return cmd::data;
    case stage::eom:
      return cmd::eob;
    case stage::eoh:
      return cmd::eoh;
  }
  return cmd::connect;
}

std::string encode(char command, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  put_u32(out, static_cast<std::uint32_t>(data.size() + 1));
  out.push_back(command);
  out.append(data);
  return out;
}

void packet_reader::feed(std::string_view bytes) {
  if (error_) return;
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

packet_reader::status packet_reader::next(packet& out) {
  if (error_) return status::error;
  std::string_view b(buf_);
  b.remove_prefix(pos_);
  if (b.size() < 4) return status::need_more;
  const std::uint32_t len = get_u32(b);
  if (len == 0 || len > max_) {
    error_ = true;
    return status::error;
  }
  if (b.size() - 4 < len) return status::need_more;
  out.command = b[4];
  out.data.assign(b.substr(5, len - 1));
  pos_ += 4 + len;
  return status::packet;
}

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol) {
  std::string d;
  put_u32(d, version);
  put_u32(d, actions);
  put_u32(d, protocol);
  return encode(cmd::optneg, d);
}

std::string encode_macros(char command, const macro_list& macros) {
  std::string d(1, command);
  for (const auto& [k, v] : macros) {
    d.append(k);
    d.push_back('\0');
    d.append(v);
    d.push_back('\0');
  }
  return encode(cmd::macro, d);
}

std::string encode_connect(std::string_view hostname, char family, std::uint16_t port, std::string_view address) {
  std::string d(hostname);
  d.push_back('\0');
  d.push_back(family);
  if (family != 'L') {
    if (family != 'U') {
      d.push_back(static_cast<char>((port >> 8) & 0xFF));
      d.push_back(static_cast<char>(port & 0xFF));
    }
    d.append(address);
    d.push_back('\0');
  }
  return encode(cmd::connect, d);
}

std::string encode_strings(char command, const std::vector<std::string_view>& strings) {
  std::string d;
  for (auto s : strings) {
    d.append(s);
    d.push_back('\0');
  }
  return encode(command, d);
}

const char* reply_name(reply_kind k) {
  switch (k) {
    case reply_kind::negotiate:
      return "negotiate";
    case reply_kind::continue_:
      return "continue";
    case reply_kind::accept:
      return "accept";
    case reply_kind::reject:
      return "reject";
    case reply_kind::tempfail:
      return "tempfail";
    case reply_kind::reply_code:
      return "replycode";
    case reply_kind::discard:
      return "discard";
    case reply_kind::shutdown:
      return "shutdown";
    case reply_kind::connfail:
      return "connfail";
    case reply_kind::progress:
      return "progress";
    case reply_kind::skip:
      return "skip";
    case reply_kind::quarantine:
      return "quarantine";
    case reply_kind::add_header:
      return "addheader";
    case reply_kind::insert_header:
      return "insheader";
    case reply_kind::change_header:
      return "chgheader";
    case reply_kind::change_from:
      return "chgfrom";
    case reply_kind::add_rcpt:
      return "addrcpt";
    case reply_kind::add_rcpt_par:
      return "addrcpt_par";
    case reply_kind::del_rcpt:
      return "delrcpt";
    case reply_kind::replace_body:
      return "replbody";
  }
  return "?";
}

bool is_modification(reply_kind k) {
  switch (k) {
    case reply_kind::quarantine:
    case reply_kind::add_header:
    case reply_kind::insert_header:
    case reply_kind::change_header:
    case reply_kind::change_from:
    case reply_kind::add_rcpt:
    case reply_kind::add_rcpt_par:
    case reply_kind::del_rcpt:
    case reply_kind::replace_body:
      return true;
    default:
      return false;
  }
}

bool valid_envelope_address(std::string_view a) {
  if (a.empty() || a.size() > 512) return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7F && c != '<' && c != '>';
  });
}

parse_result parse_reply(const packet& p) {
  std::string_view d(p.data);
  auto bare = [&](reply_kind k) -> parse_result {
    reply r;
    r.kind = k;
    return ok(std::move(r));  // trailing bytes after a bare reply are tolerated, as libmilter ignores them
  };
  switch (p.command) {
    case 'O': {
      if (d.size() < 12) return fail("negotiation reply shorter than 12 bytes");
      reply r;
      r.kind = reply_kind::negotiate;
      r.version = get_u32(d);
      r.actions = get_u32(d.substr(4));
      r.protocol = get_u32(d.substr(8));
      d.remove_prefix(12);
      // Optional symbol lists: u32 stage, then a NUL-terminated, space-separated list of macro names.
      while (!d.empty()) {
        if (d.size() < 4) return fail("truncated macro list");
        const std::uint32_t st = get_u32(d);
        d.remove_prefix(4);
        std::string_view names;
        if (!take_string(d, names)) return fail("macro list not NUL-terminated");
        if (st >= k_stages) return fail("macro list for an unknown stage");
        std::vector<std::string> list;
        while (!names.empty()) {
          auto sp = names.find(' ');
          auto n = names.substr(0, sp);
          if (!n.empty()) {
            if (n.size() > 64 || !printable_text(n)) return fail("invalid macro name");
            if (list.size() >= 64) return fail("too many macros");
            list.emplace_back(n);
          }
          if (sp == std::string_view::npos) break;
          names.remove_prefix(sp + 1);
        }
        r.macros[st] = std::move(list);
      }
      return ok(std::move(r));
    }
    case 'c':
      return bare(reply_kind::continue_);
    case 'a':
      return bare(reply_kind::accept);
    case 'r':
      return bare(reply_kind::reject);
    case 't':
      return bare(reply_kind::tempfail);
    case 'd':
      return bare(reply_kind::discard);
    case '4':
      return bare(reply_kind::shutdown);
    case 'f':
      return bare(reply_kind::connfail);
    case 'p':
      return bare(reply_kind::progress);
    case 's':
      return bare(reply_kind::skip);
    case 'y': {
      std::string_view text;
      if (!take_string(d, text) || !d.empty()) return fail("reply code not one NUL-terminated string");
      reply r;
      r.kind = reply_kind::reply_code;
      r.text = text;
      return ok(std::move(r));
    }
    case 'q': {
      std::string_view text;
      if (!take_string(d, text) || !d.empty()) return fail("quarantine reason not one NUL-terminated string");
      if (!printable_text(text) || text.size() > 1000) return fail("invalid quarantine reason");
      reply r;
      r.kind = reply_kind::quarantine;
      r.text = text;
      return ok(std::move(r));
    }
    case 'h':
      return header_reply(reply_kind::add_header, d, false);
    case 'i':
      return header_reply(reply_kind::insert_header, d, true);
    case 'm': {
      // chgheader: an empty value (delete) is valid; the name is still checked.
      return header_reply(reply_kind::change_header, d, true);
    }
    case 'e':
      return address_reply(reply_kind::change_from, d, true);
    case '+':
      return address_reply(reply_kind::add_rcpt, d, false);
    case '2':
      return address_reply(reply_kind::add_rcpt_par, d, true);
    case '-':
      return address_reply(reply_kind::del_rcpt, d, false);
    case 'b': {
      reply r;
      r.kind = reply_kind::replace_body;
      r.text = d;
      return ok(std::move(r));
    }
    default:
      break;
  }
  parse_result r;
  r.error = parse_error::unknown_command;
  r.why = "unknown reply command";
  return r;
}

std::optional<smtp::reply> parse_custom_reply(std::string_view text) {
  if (text.size() < 3 || text.size() > 8192) return std::nullopt;
  smtp::reply out;
  out.code = 0;
  bool last = false;
  while (!text.empty()) {
    if (last) return std::nullopt;  // text after a final line
    auto eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 2);
    if (line.size() < 3 || line.size() > 512) return std::nullopt;
    for (int i = 0; i < 3; ++i)
      if (line[i] < '0' || line[i] > '9') return std::nullopt;
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line[0] != '4' && line[0] != '5') return std::nullopt;
    if (out.code != 0 && code != out.code) return std::nullopt;
    out.code = code;
    std::string_view rest = line.substr(3);
    if (rest.empty()) {
      last = true;
    } else if (rest[0] == '-') {
      if (text.empty()) return std::nullopt;  // a continuation line must be followed by another
      rest.remove_prefix(1);
    } else if (rest[0] == ' ') {
      last = true;
      rest.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    // An optional enhanced code x.y.z whose class is the reply's.
    std::string enhanced;
    {
      auto sp = rest.find(' ');
      std::string_view tok = rest.substr(0, sp);
      bool looks = !tok.empty() && tok[0] >= '2' && tok[0] <= '5' && tok.size() >= 5 && tok[1] == '.';
      if (looks) {
        int dots = 0;
        bool digits_ok = true;
        std::size_t run = 0;
        for (char c : tok) {
          if (c == '.') {
            if (run == 0 || run > 3) digits_ok = false;
            ++dots;
            run = 0;
          } else if (c >= '0' && c <= '9') {
            ++run;
          } else {
            digits_ok = false;
          }
        }
        if (run == 0 || run > 3) digits_ok = false;
        if (dots == 2 && digits_ok) {
          if (tok[0] != line[0]) return std::nullopt;
          enhanced = tok;
          rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        }
      }
    }
    if (out.enhanced.empty()) out.enhanced = enhanced;
    if (!printable_text(rest)) return std::nullopt;
    std::string t;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      t.push_back(rest[i]);
      if (rest[i] == '%' && i + 1 < rest.size() && rest[i + 1] == '%') ++i;  // "%%" -> "%"
    }
    if (out.lines.size() >= 32) return std::nullopt;
    out.lines.push_back(std::move(t));
  }
  if (out.lines.empty()) return std::nullopt;
  if (out.enhanced.empty()) out.enhanced = out.code >= 500 ? "5.7.1" : "4.7.1";
  return out;
}

split_head split(std::string_view head, std::size_t max_fields) {
  split_head s;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    const std::size_t line_end = eol == std::string_view::npos ? head.size() : eol;
    const std::size_t next = eol == std::string_view::npos ? head.size() : eol + 2;
    std::string_view line = head.substr(pos, line_end - pos);
    if (line.empty()) {  // the empty line: the body follows it
      s.fields_end = pos;
      s.body_start = next;
      return s;
    }
    if (is_wsp(line[0]) && !s.fields.empty()) {
      // A continuation: the field's value grows to the end of this line.
      auto& f = s.fields.back();
      const char* vbegin = f.value.data();
      f.value = std::string_view(vbegin, static_cast<std::size_t>(head.data() + line_end - vbegin));
      pos = next;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || s.fields.size() >= max_fields) break;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (!valid_header_name(name)) break;
    s.fields.push_back(head_field{name, line.substr(colon + 1)});
    pos = next;
  }
  // No empty line: the field lines end here and what follows (if anything) is body.
  s.fields_end = pos;
  s.body_start = pos;
  return s;
}

std::string value_for_milter(std::string_view value, bool leadspc) {
  if (!leadspc && !value.empty() && value[0] == ' ') value.remove_prefix(1);
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out.push_back(value[i]);
  }
  return out;
}

std::optional<std::string> apply_header_edits(std::string_view head, const std::vector<header_edit>& edits,
                                              bool leadspc) {
  auto sh = split(head);
  struct line {
    std::string name;  // for matching
    std::string text;  // the whole field without its final CRLF
    bool received;     // present in the message as received (change indexes count only these)
  };
  std::vector<line> lines;
  lines.reserve(sh.fields.size() + edits.size());
  for (const auto& f : sh.fields) {
    const char* b = f.name.data();
    lines.push_back(
        line{std::string(f.name), std::string(b, static_cast<std::size_t>(f.value.data() + f.value.size() - b)), true});
  }
  auto make = [leadspc](const header_edit& e) -> std::optional<std::string> {
    if (!valid_header_name(e.name) || !valid_header_value(e.value)) return std::nullopt;
    std::string t = e.name + ":";
    if (!leadspc) t.push_back(' ');
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      if (e.value[i] == '\r') continue;  // CRLF or LF both become CRLF
      if (e.value[i] == '\n')
        t += "\r\n";
      else
        t.push_back(e.value[i]);
    }
    return t;
  };
  auto same_name = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             auto lx = static_cast<char>((x >= 'A' && x <= 'Z') ? x + 32 : x);
             auto ly = static_cast<char>((y >= 'A' && y <= 'Z') ? y + 32 : y);
             return lx == ly;
           });
  };
  for (const auto& e : edits) {
    auto t = make(e);
    if (!t) return std::nullopt;
    switch (e.kind) {
      case header_edit::op::add:
        lines.push_back(line{e.name, std::move(*t), false});
        break;
      case header_edit::op::insert: {
        const std::size_t at = std::min<std::size_t>(e.index, lines.size());
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line{e.name, std::move(*t), false});
        break;
      }
      case header_edit::op::change: {
        std::uint32_t seen = 0;
        bool done = false;
        for (std::size_t i = 0; i < lines.size(); ++i) {
          if (!lines[i].received || !same_name(lines[i].name, e.name)) continue;
          if (++seen != e.index) continue;
          if (e.value.empty())
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
          else
            lines[i].text = std::move(*t);
          done = true;
          break;
        }
        // Past the last occurrence (or index 0): libmilter's documented behaviour is to add the field.
        if (!done && !e.value.empty()) lines.push_back(line{e.name, std::move(*t), false});
        break;
      }
    }
  }
  std::string out;
  out.reserve(head.size() + 256);
  for (const auto& l : lines) {
    out += l.text;
    out += "\r\n";
  }
  out.append(head.substr(sh.fields_end));
  return out;
}

void normalize_body_chunk(std::string_view in, std::string& out, bool& pending_cr) {
  for (char c : in) {
    if (pending_cr) {
      pending_cr = false;
      out += "\r\n";
      if (c == '\n') continue;
    }
    if (c == '\r') {
      pending_cr = true;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
}

std::optional<address> parse_address(std::string_view s) {
  address a;
  auto port_of = [](std::string_view p) -> std::optional<std::uint16_t> {
    if (p.empty() || p.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
  };
  auto host_ok = [](std::string_view h) {
    return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
             c == ':';
    });
  };
  if (s.rfind("unix:", 0) == 0 || s.rfind("local:", 0) == 0) {
    a.unix_socket = true;
    a.path = s.substr(s.find(':') + 1);
    // sockaddr_un holds 107 bytes and a NUL.
    if (a.path.empty() || a.path.front() != '/' || a.path.size() > 107 || a.path.find('\0') != std::string::npos)
      return std::nullopt;
    return a;
  }
  std::string_view rest;
  if (s.rfind("inet:", 0) == 0)
    rest = s.substr(5);
  else if (s.rfind("inet6:", 0) == 0)
    rest = s.substr(6);
  else
    return std::nullopt;
  std::string_view host, port;
  if (auto at = rest.find('@'); at != std::string_view::npos) {  // Sendmail: port@host
    port = rest.substr(0, at);
    host = rest.substr(at + 1);
  } else if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto p = port_of(port);
  if (!p || !host_ok(host)) return std::nullopt;
  a.host = host;
  a.port = *p;
  return a;
}

}  // namespace mailfort::filter::milter
