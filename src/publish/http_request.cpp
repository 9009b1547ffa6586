// publish/http_request.cpp: the bounded request reader and the policy listener's decision.
// SPDX-License-Identifier: MIT
#include "publish/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace mailfort::publish {
namespace {

bool tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string http_lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http_parse_result bad(std::string why) {
  http_parse_result r;
  r.status = http_parse_status::bad;
  r.error = std::move(why);
  return r;
}

// Host header value -> lower-case name without port; empty when it is not a plausible host.
std::string host_of(std::string_view v) {
  if (v.empty() || v.size() > 255) return {};
  auto port_ok = [](std::string_view port) {
    return !port.empty() && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (v.front() == '[') {  // IP literal: never one of our names, but well-formed
    auto close = v.find(']');
    if (close == std::string_view::npos || close == 1) return {};
    auto inside = v.substr(1, close - 1);
    if (!std::all_of(inside.begin(), inside.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; }))
      return {};
    auto rest = v.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !port_ok(rest.substr(1)))) return {};
    return http_lower(v.substr(0, close + 1));
  }
  auto colon = v.find(':');
  if (colon != std::string_view::npos) {
    if (!port_ok(v.substr(colon + 1))) return {};
    v = v.substr(0, colon);
  }
  if (!v.empty() && v.back() == '.') v.remove_suffix(1);
  if (v.empty()) return {};
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return {};
  return http_lower(v);
}

}  // namespace

http_parse_result parse_http_request(std::string_view buf, std::size_t max_head) {
  // Find the end of the head: an empty line (CRLF CRLF or LF LF, or a mix).
  std::size_t end = std::string_view::npos, body_at = 0;
  for (std::size_t i = 0; i < buf.size() && i < max_head; ++i) {
    if (buf[i] != '\n') continue;
    std::size_t j = i + 1;
    if (j < buf.size() && buf[j] == '\r') ++j;
    if (j < buf.size() && buf[j] == '\n') {
      end = i;
      body_at = j + 1;
      break;
    }
  }
  if (end == std::string_view::npos) {
    http_parse_result r;
    r.status = buf.size() >= max_head ? http_parse_status::too_large : http_parse_status::incomplete;
    return r;
  }
  if (body_at > max_head) {
    http_parse_result r;
    r.status = http_parse_status::too_large;
    return r;
  }
  std::string_view head = buf.substr(0, end);
  // Split into lines (LF, an optional CR before it).
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (lines.size() > http_max_header_lines + 1) return bad("too many header lines");
  for (auto l : lines)
    for (char c : l)
      if (c == '\r' || c == '\0') return bad("bare CR or NUL in the head");
  // Request line.
  std::string_view rl = lines[0];
  auto sp1 = rl.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos)
    return bad("malformed request line");
  http_parse_result r;
  r.request.method = std::string(rl.substr(0, sp1));
  r.request.target = std::string(rl.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = rl.substr(sp2 + 1);
  if (r.request.method.empty() || !std::all_of(r.request.method.begin(), r.request.method.end(), tchar))
    return bad("malformed method");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad("not HTTP/1.0 or 1.1");
  if (r.request.target.empty() || r.request.target.size() > 2048) return bad("malformed target");
  for (char c : r.request.target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return bad("malformed target");
  int hosts = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.empty()) return bad("empty header line");
    if (l.front() == ' ' || l.front() == '\t') return bad("obsolete line folding");
    auto colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("header line without a name");
    std::string_view name = l.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), tchar)) return bad("malformed header name");
    std::string_view value = trim(l.substr(colon + 1));
    const std::string n = http_lower(name);
    if (n == "host") {
      if (++hosts > 1) return bad("more than one Host");
      r.request.host = host_of(value);
      if (r.request.host.empty()) return bad("malformed Host");
    } else if (n == "transfer-encoding") {
      return bad("a request body (Transfer-Encoding)");
    } else if (n == "content-length") {
      if (value != "0") return bad("a request body (Content-Length)");
    }
  }
  if (hosts == 0) {
    if (version == "HTTP/1.1") return bad("no Host");
  }
  r.status = http_parse_status::ok;
  return r;
}

http_response respond(const http_request& req, const std::vector<std::string>& domains, const std::string& policy) {
  http_response out;
  if (req.method != "GET" && req.method != "HEAD") {
    out.status = 405;
    out.body = "method not allowed\n";
    return out;
  }
  out.head_only = req.method == "HEAD";
  bool ours = false;
  for (const auto& d : domains) {
    std::string l = http_lower(d);
    while (!l.empty() && l.back() == '.') l.pop_back();
    if (!l.empty() && req.host == "mta-sts." + l) ours = true;
  }
  if (!ours || req.target != "/.well-known/mta-sts.txt") {
    out.status = 404;
    out.body = "not found\n";
    return out;
  }
  out.status = 200;
  out.body = policy;
  return out;
}

http_response respond_error(http_parse_status st) {
  http_response out;
  out.status = st == http_parse_status::too_large ? 431 : 400;
  out.body = st == http_parse_status::too_large ? "request header fields too large\n" : "bad request\n";
  return out;
}

std::string serialize(const http_response& r) {
  const char* reason = r.status == 200   ? "OK"
                       : r.status == 400 ? "Bad Request"
                       : r.status == 404 ? "Not Found"
                       : r.status == 405 ? "Method Not Allowed"
                       : r.status == 431 ? "Request Header Fields Too Large"
                                         : "Error";
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
  if (!r.head_only) out += r.body;
  return out;
}

}  // namespace mailfort::publish
