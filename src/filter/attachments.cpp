// filter/attachments.cpp: [pure] the streaming MIME walker of the attachment policy (see attachments.hpp).
// SPDX-License-Identifier: MIT
#include "filter/attachments.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace mailfort::filter {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lowered(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = lower(c);
  return o;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Lenient base64 (skips what is not in the alphabet, stops at '=').
std::string base64_decode(std::string_view s) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    int v = b64_value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// %XX decoding of an RFC 2231 extended value.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The header field `name` in a part's header section (lines joined by '\n', already unfolded).
std::optional<std::string_view> field(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    std::string_view l = header.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    auto colon = l.find(':');
    if (colon != std::string_view::npos && iequals(trim(l.substr(0, colon)), name)) return l.substr(colon + 1);
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

const std::array<const char*, 10> k_blocked_types = {"application/x-msdownload",
                                                     "application/x-msdos-program",
                                                     "application/x-dosexec",
                                                     "application/x-ms-shortcut",
                                                     "application/java-archive",
                                                     "application/x-java-archive",
                                                     "application/x-iso9660-image",
                                                     "application/vnd.ms-word.document.macroenabled.12",
                                                     "application/vnd.ms-excel.sheet.macroenabled.12",
                                                     "application/hta"};

const std::array<const char*, 14> k_archive_exts = {"zip", "rar", "7z",  "gz", "tgz", "tar", "bz2",
                                                    "xz",  "cab", "arj", "lz", "lzh", "ace", "zipx"};
const std::array<const char*, 9> k_archive_types = {"application/zip",
                                                    "application/x-zip-compressed",
                                                    "application/x-rar-compressed",
                                                    "application/vnd.rar",
                                                    "application/x-7z-compressed",
                                                    "application/gzip",
                                                    "application/x-gzip",
                                                    "application/x-tar",
                                                    "application/x-bzip2"};

}  // namespace

std::vector<std::string> default_blocked_extensions() {
  return {"exe", "scr", "js", "vbs", "bat", "cmd", "com", "pif", "jar", "lnk", "iso", "docm", "xlsm"};
}

std::string decode_encoded_words(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  std::size_t ws_start = std::string::npos;  // whitespace after an encoded word (dropped if another follows)
  while (i < s.size()) {
    if (s.compare(i, 2, "=?") == 0) {
      // =?charset?enc?text?=
      auto q1 = s.find('?', i + 2);
      auto q2 = q1 == std::string_view::npos ? q1 : s.find('?', q1 + 1);
      auto end = q2 == std::string_view::npos ? q2 : s.find("?=", q2 + 1);
      if (end != std::string_view::npos && q2 == q1 + 2 && end - i <= 1024) {
        const char enc = lower(s[q1 + 1]);
        std::string_view text = s.substr(q2 + 1, end - q2 - 1);
        std::string decoded;
        if (enc == 'b') {
          decoded = base64_decode(text);
        } else if (enc == 'q') {
          for (std::size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '_') {
              decoded.push_back(' ');
            } else if (text[k] == '=' && k + 2 < text.size() && hex_value(text[k + 1]) >= 0 &&
                       hex_value(text[k + 2]) >= 0) {
              decoded.push_back(static_cast<char>(hex_value(text[k + 1]) * 16 + hex_value(text[k + 2])));
              k += 2;
            } else {
              decoded.push_back(text[k]);
            }
          }
        } else {
          goto literal;
        }
        if (last_was_word && ws_start != std::string::npos) out.resize(ws_start);  // RFC 2047 6.2
        out += decoded;
        i = end + 2;
        last_was_word = true;
        ws_start = std::string::npos;
        continue;
      }
    }
  literal:
    if (is_wsp(s[i]) && last_was_word) {
      if (ws_start == std::string::npos) ws_start = out.size();
    } else if (!is_wsp(s[i])) {
      last_was_word = false;
      ws_start = std::string::npos;
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

std::optional<std::string> mime_parameter(std::string_view v, std::string_view name) {
  auto semi = v.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  v.remove_prefix(semi + 1);
  std::optional<std::string> plain, extended;
  std::map<unsigned, std::pair<std::string, bool>> pieces;  // continuation number -> (value, extended)
  const std::string want = lowered(name);
  while (!v.empty()) {
    while (!v.empty() && (is_wsp(v.front()) || v.front() == ';' || v.front() == '\r' || v.front() == '\n'))
      v.remove_prefix(1);
    auto eq = v.find('=');
    if (eq == std::string_view::npos) break;
    std::string attr = lowered(trim(v.substr(0, eq)));
    v.remove_prefix(eq + 1);
    while (!v.empty() && is_wsp(v.front())) v.remove_prefix(1);
    std::string value;
    if (!v.empty() && v.front() == '"') {
      std::size_t k = 1;
      for (; k < v.size() && v[k] != '"'; ++k) {
        if (v[k] == '\\' && k + 1 < v.size()) ++k;
        value.push_back(v[k]);
      }
      v.remove_prefix(std::min(v.size(), k + 1));
    } else {
      auto stop = v.find(';');
      value = std::string(trim(v.substr(0, stop)));
      v.remove_prefix(stop == std::string_view::npos ? v.size() : stop);
    }
    if (attr.compare(0, want.size(), want) != 0) continue;
    std::string_view rest = std::string_view(attr).substr(want.size());
    if (rest.empty()) {
      if (!plain) plain = value;
    } else if (rest == "*") {
      if (!extended) extended = value;
    } else if (rest[0] == '*') {
      rest.remove_prefix(1);
      bool ext = !rest.empty() && rest.back() == '*';
      if (ext) rest.remove_suffix(1);
      if (rest.empty() || rest.size() > 3 ||
          !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      unsigned n = 0;
      for (char c : rest) n = n * 10 + static_cast<unsigned>(c - '0');
      if (pieces.size() < 100 && !pieces.count(n)) pieces[n] = {value, ext};
    }
  }
  auto strip_charset = [](std::string_view s) -> std::string_view {
    // charset'language'value
    auto a = s.find('\'');
    if (a == std::string_view::npos) return s;
    auto b = s.find('\'', a + 1);
    if (b == std::string_view::npos) return s;
    return s.substr(b + 1);
  };
  if (extended) return percent_decode(strip_charset(*extended));
  if (!pieces.empty()) {
    std::string out;
    unsigned expect = 0;
    for (const auto& [n, p] : pieces) {
      if (n != expect) break;  // RFC 2231 4.1: continuations are numbered from 0 without gaps
      ++expect;
      std::string_view val = p.first;
      if (p.second) {
        if (n == 0) val = strip_charset(val);
        out += percent_decode(val);
      } else {
        out += val;
      }
    }
    return decode_encoded_words(out);
  }
  if (plain) return decode_encoded_words(*plain);
  return std::nullopt;
}

std::string file_extension(std::string_view name) {
  // Windows ignores trailing dots and spaces ("invoice.exe. " runs as invoice.exe).
  while (!name.empty() && (name.back() == '.' || name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  return lowered(name.substr(dot + 1));
}

mime_walker::mime_walker(const std::vector<std::string>& blocked_extensions, std::size_t max_depth,
                         std::size_t max_parts)
    : max_depth_(max_depth), max_parts_(max_parts) {
  for (const auto& e : blocked_extensions) {
    std::string_view v(e);
    while (!v.empty() && v.front() == '.') v.remove_prefix(1);
    blocked_.push_back(lowered(v));
  }
}

bool mime_walker::blocked_extension(const std::string& ext) const {
  return !ext.empty() && std::find(blocked_.begin(), blocked_.end(), ext) != blocked_.end();
}

void mime_walker::feed(std::string_view bytes) {
  while (!bytes.empty() && !stopped_) {
    auto nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (skipping_) {
      if (nl != std::string_view::npos) skipping_ = false;
    } else {
      const std::size_t room = k_max_line - partial_.size();
      partial_.append(piece.substr(0, room));
      if (piece.size() > room) {
        // Over-long line: look at its start, skip the rest.
        std::string l = std::move(partial_);
        partial_.clear();
        line(l);
        skipping_ = nl == std::string_view::npos;
      } else if (nl != std::string_view::npos) {
        std::string_view l(partial_);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        line(l);
        partial_.clear();
      }
    }
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);
  }
}

attachment_report mime_walker::finish() {
  if (!stopped_ && !partial_.empty()) {
    std::string l = std::move(partial_);
    partial_.clear();
    line(l);
  }
  if (!stopped_ && in_header_) end_of_part_header();  // a part cut off in its header section
  return std::move(report_);
}

void mime_walker::line(std::string_view l) {
  if (stopped_) return;
  // A boundary of any enclosing multipart (innermost first) ends the current part, in a header or a body.
  if (l.size() >= 2 && l[0] == '-' && l[1] == '-' && !stack_.empty()) {
    for (std::size_t i = stack_.size(); i-- > 0;) {
      const auto& b = stack_[i].boundary;
      if (l.size() < 2 + b.size() || l.compare(2, b.size(), b) != 0) continue;
      std::string_view rest = l.substr(2 + b.size());
      const bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
      if (!close && !trim(rest).empty()) continue;
      if (in_header_) end_of_part_header();  // a part with no body (its header was cut by the boundary)
      if (stopped_) return;
      first_body_line_ = false;
      if (close) {
        stack_.resize(i);  // the parent's epilogue follows: body text of no interest
        in_header_ = false;
      } else {
        stack_.resize(i + 1);
        in_header_ = true;
        header_.clear();
        header_over_ = false;
      }
      return;
    }
  }
  if (in_header_) {
    if (l.empty()) {
      end_of_part_header();
      return;
    }
    if (header_over_ || header_.size() + l.size() + 1 > k_max_part_header) {
      header_over_ = true;
      return;
    }
    if (is_wsp(l[0]) && !header_.empty()) {
      header_.push_back(' ');
      header_.append(trim(l));
    } else {
      if (!header_.empty()) header_.push_back('\n');
      header_.append(l);
    }
    return;
  }
  if (first_body_line_) {
    first_body_line_ = false;
    if (body_is_base64_) {
      auto head = base64_decode(l.substr(0, 8));
      if (head.size() >= 2 && head[0] == 'M' && head[1] == 'Z') {
        attachment a;
        a.name = pending_name_;
        a.content_type = pending_type_;
        a.extension = file_extension(pending_name_);
        a.blocked = true;
        a.why = "executable content";
        if (!report_.blocked) report_.blocked = std::move(a);
      }
    }
  }
}

void mime_walker::end_of_part_header() {
  in_header_ = false;
  std::string header = std::move(header_);
  header_.clear();
  header_over_ = false;
  if (++report_.parts > max_parts_) {
    report_.truncated = true;
    stopped_ = true;
    return;
  }
  std::string type = "text/plain";
  std::optional<std::string_view> ct = field(header, "content-type");
  if (ct) {
    auto t = lowered(trim(ct->substr(0, ct->find(';'))));
    if (!t.empty()) type = std::move(t);
  }
  std::optional<std::string> name;
  if (auto cd = field(header, "content-disposition")) name = mime_parameter(*cd, "filename");
  if (!name && ct) name = mime_parameter(*ct, "name");
  auto cte = field(header, "content-transfer-encoding");
  body_is_base64_ = cte && lowered(trim(*cte)) == "base64";

  attachment a;
  a.name = name.value_or("");
  a.content_type = type;
  a.extension = file_extension(a.name);
  if (blocked_extension(a.extension)) {
    a.blocked = true;
    a.why = "extension";
  } else if (std::any_of(k_blocked_types.begin(), k_blocked_types.end(), [&](const char* t) { return type == t; })) {
    a.blocked = true;
    a.why = "type";
  }
  a.archive =
      std::any_of(k_archive_exts.begin(), k_archive_exts.end(), [&](const char* e) { return a.extension == e; }) ||
      std::any_of(k_archive_types.begin(), k_archive_types.end(), [&](const char* t) { return type == t; });
  if (a.blocked && !report_.blocked) report_.blocked = a;
  if (a.archive && report_.archives.size() < 16) report_.archives.push_back(a);

  if (type.compare(0, 10, "multipart/") == 0) {
    auto boundary = ct ? mime_parameter(*ct, "boundary") : std::nullopt;
    if (boundary && !boundary->empty() && boundary->size() <= 200) {
      if (stack_.size() >= max_depth_) {
        report_.truncated = true;
        stopped_ = true;
        return;
      }
      stack_.push_back(level{std::move(*boundary)});
    }
    return;  // the preamble follows
  }
  if (type == "message/rfc822" && !body_is_base64_) {
    in_header_ = true;  // an attached message: its own header section starts now
    return;
  }
  pending_name_ = a.name;
  pending_type_ = type;
  first_body_line_ = true;
}

}  // namespace mailfort::filter
