// queue/envelope.cpp: the queue file format (see envelope.hpp).
// SPDX-License-Identifier: MIT
//
// Layout (all lengths decimal, every value length-prefixed so any byte can appear in it):
//   "MAILFORT-QUEUE 2\n"            (version 1 files, without _ G J, are still read)
//   <tag><len>:<bytes>\n        repeated; tags: I S T Z C P H L A X B U F N W R Y (R = one recipient;
//                               F = Maildir folder, written only when set; Y = delivery history of the
//                               recipient just before it, "<attempts> <next_attempt> <last error>", written
//                               only when there is some; D = "1": a delay notice was sent for the recipient
//                               before it, written after its Y, only when true)
//   _<len>:<len spaces>\n        optional padding (at most once): a message whose body was streamed to disk
//                               first, at an offset, gets its envelope written in front of it in place
//   M<len>:\n                   length of the message that follows the checksums
//   G<len>:\n                   the message's first <len> bytes are its head part (our fields, header section)
//   J<64 hex>\n                 SHA-256 of the rest of the message (the body part, hashed as it arrived)
//   K<64 hex>\n                 SHA-256 over everything before "K" plus the head part
//   <message bytes>
#include "queue/envelope.hpp"

#include "common/ascii.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include <charconv>

namespace mailfort::queue {

namespace {

constexpr std::string_view k_magic = "MAILFORT-QUEUE 2\n";
constexpr std::string_view k_magic_v1 = "MAILFORT-QUEUE 1\n";
constexpr std::string_view k_magic_prefix = "MAILFORT-QUEUE ";
constexpr std::size_t k_max_field = 1u << 20;  // no envelope field is anywhere near 1 MiB
constexpr std::size_t k_max_recipients = 100000;

void put(std::string& out, char tag, std::string_view v) {
  out.push_back(tag);
  out += std::to_string(v.size());
  out.push_back(':');
  out.append(v);
  out.push_back('\n');
}

std::string sha256_hex(std::string_view a, std::string_view b) {
  sha256_stream h;
  h.update(a);
  h.update(b);
  return h.finish_hex();
}

std::size_t digits(std::size_t n) { return std::to_string(n).size(); }

// The envelope fields, without the magic, padding, lengths and checksums.
std::string fields(const envelope& env) {
  std::string h;
  put(h, 'I', env.id);
  put(h, 'S', env.sender);
  put(h, 'T', std::to_string(env.received_at));
  put(h, 'Z', env.session_id);
  put(h, 'C', env.client_ip);
  put(h, 'P', std::to_string(env.client_port));
  put(h, 'H', env.helo);
  put(h, 'L', env.listener);
  put(h, 'A', env.auth_user);
  put(h, 'X', env.tls);
  put(h, 'B', env.body_type);
  put(h, 'U', env.smtputf8 ? "1" : "0");
  if (!env.folder.empty()) put(h, 'F', env.folder);  // absent in files from before the field existed
  put(h, 'N', std::to_string(env.attempts));
  put(h, 'W', std::to_string(env.next_attempt));
  for (const auto& r : env.recipients) {
    std::string v;
    v.push_back(static_cast<char>('0' + static_cast<int>(r.status)));
    v += std::to_string(r.orcpt.size());
    v.push_back(':');
    v += r.orcpt;
    v += r.address;
    put(h, 'R', v);
    if (r.attempts != 0 || r.next_attempt != 0 || !r.last_error.empty())
      put(h, 'Y', std::to_string(r.attempts) + " " + std::to_string(r.next_attempt) + " " + r.last_error);
    if (r.delay_notified) put(h, 'D', "1");
  }
  return h;
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  // Canonical decimal only ("7", not "007" or "-0"): a valid file has exactly one encoding.
  std::string_view digits = s.front() == '-' ? s.substr(1) : s;
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') || s == "-0") return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
sha256_stream::~sha256_stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void sha256_stream::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string sha256_stream::finish_hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string r;
  for (unsigned i = 0; i < len; ++i) {
    r.push_back(hex[md[i] >> 4]);
    r.push_back(hex[md[i] & 15]);
  }
  return r;
}

std::optional<std::string> encode_prefix(const envelope& env, std::string_view head, std::uint64_t body_len,
                                         std::string_view body_sha256_hex, std::size_t pad_to) {
  std::string h(k_magic);
  h += fields(env);
  std::string tail = "M" + std::to_string(static_cast<std::uint64_t>(head.size()) + body_len) + ":\n";
  tail += "G" + std::to_string(head.size()) + ":\n";
  tail += "J" + std::string(body_sha256_hex) + "\n";
  const std::size_t natural = h.size() + tail.size() + 66 + head.size();
  if (pad_to != 0) {
    // One "_<len>:<len spaces>\n" field of exactly pad_to - natural bytes (3 + digits(len) + len), if one exists.
    if (pad_to < natural + 4) return std::nullopt;
    const std::size_t gap = pad_to - natural;
    std::optional<std::size_t> len;
    for (std::size_t d = 1; d <= 20 && !len; ++d)
      if (gap >= 3 + d && digits(gap - 3 - d) == d) len = gap - 3 - d;
    if (!len) return std::nullopt;
    h += "_" + std::to_string(*len) + ":" + std::string(*len, ' ') + "\n";
  }
  h += tail;
  std::string sum = sha256_hex(h, head);
  std::string out;
  out.reserve(h.size() + 66 + head.size());
  out += h;
  out += "K" + sum + "\n";
  out.append(head);
  return out;
}

std::string sha256_of(std::string_view data) { return sha256_hex(data, {}); }

std::string encode(const envelope& env, std::string_view message) {
  std::string out = *encode_prefix(env, message, 0, sha256_of({}), 0);
  return out;
}

decoded decode(std::string_view file) {
  decoded d;
  if (file.size() < k_magic.size()) {
    d.error = k_magic_prefix.substr(0, file.size()) == file.substr(0, k_magic_prefix.size()) ? decode_error::truncated
                                                                                             : decode_error::bad_magic;
    return d;
  }
  if (file.substr(0, k_magic_prefix.size()) != k_magic_prefix) {
    d.error = decode_error::bad_magic;
    return d;
  }
  const bool v1 = file.substr(0, k_magic_v1.size()) == k_magic_v1;
  if (!v1 && file.substr(0, k_magic.size()) != k_magic) {
    d.error = decode_error::bad_version;
    return d;
  }
  std::size_t pos = k_magic.size();
  std::size_t message_len = 0;
  bool have_m = false;
  bool padded = false;
  envelope& e = d.env;
  e.version = v1 ? 1 : 2;
  while (!have_m) {
    if (pos >= file.size()) {
      d.error = decode_error::truncated;
      return d;
    }
    char tag = file[pos++];
    std::size_t colon = file.find(':', pos);
    if (colon == std::string_view::npos || colon - pos > 20) {
      d.error = colon == std::string_view::npos ? decode_error::truncated : decode_error::malformed;
      return d;
    }
    std::size_t len = 0;
    if (!parse_int(file.substr(pos, colon - pos), len)) {
      d.error = decode_error::malformed;
      return d;
    }
    pos = colon + 1;
    if (tag == 'M') {
      if (pos >= file.size()) {
        d.error = decode_error::truncated;
        return d;
      }
      if (file[pos] != '\n') {
        d.error = decode_error::malformed;
        return d;
      }
      ++pos;
      message_len = len;
      have_m = true;
      break;
    }
    if (len > k_max_field) {
      d.error = decode_error::malformed;
      return d;
    }
    if (file.size() - pos < len + 1) {
      d.error = decode_error::truncated;
      return d;
    }
    std::string_view v = file.substr(pos, len);
    if (file[pos + len] != '\n') {
      d.error = decode_error::malformed;
      return d;
    }
    pos += len + 1;
    if (padded) {  // the padding comes last, just before M
      d.error = decode_error::malformed;
      return d;
    }
    bool ok = true;
    switch (tag) {
      case '_':
        ok = !v1 && std::all_of(v.begin(), v.end(), [](char ch) { return ch == ' '; });
        padded = true;
        break;
      case 'I':
        e.id = std::string(v);
        break;
      case 'S':
        e.sender = std::string(v);
        break;
      case 'T':
        ok = parse_int(v, e.received_at);
        break;
      case 'Z':
        e.session_id = std::string(v);
        break;
      case 'C':
        e.client_ip = std::string(v);
        break;
      case 'P':
        ok = parse_int(v, e.client_port);
        break;
      case 'H':
        e.helo = std::string(v);
        break;
      case 'L':
        e.listener = std::string(v);
        break;
      case 'A':
        e.auth_user = std::string(v);
        break;
      case 'X':
        e.tls = std::string(v);
        break;
      case 'B':
        e.body_type = std::string(v);
        break;
      case 'U':
        ok = v == "0" || v == "1";
        e.smtputf8 = v == "1";
        break;
      case 'F':
        // A folder name becomes a path component: letters and digits only, so no file can name "../x".
        ok = !v.empty() && v.size() <= 64 &&
             std::all_of(v.begin(), v.end(), [](char ch) { return common::is_alnum(ch); });
        e.folder = std::string(v);
        break;
      case 'N':
        ok = parse_int(v, e.attempts);
        break;
      case 'W':
        ok = parse_int(v, e.next_attempt);
        break;
      case 'R': {
        if (v.size() < 3 || v[0] < '0' || v[0] > '2' || e.recipients.size() >= k_max_recipients) {
          ok = false;
          break;
        }
        recipient r;
        r.status = static_cast<recipient::state>(v[0] - '0');
        std::size_t c2 = v.find(':', 1);
        std::size_t olen = 0;
        if (c2 == std::string_view::npos || !parse_int(v.substr(1, c2 - 1), olen) || v.size() - c2 - 1 < olen) {
          ok = false;
          break;
        }
        r.orcpt = std::string(v.substr(c2 + 1, olen));
        r.address = std::string(v.substr(c2 + 1 + olen));
        e.recipients.push_back(std::move(r));
        break;
      }
      case 'Y': {
        // Belongs to the recipient before it; "<attempts> <next_attempt> <text>".
        if (e.recipients.empty()) {
          ok = false;
          break;
        }
        auto sp1 = v.find(' ');
        auto sp2 = sp1 == std::string_view::npos ? sp1 : v.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos) {
          ok = false;
          break;
        }
        auto& r = e.recipients.back();
        // At most one per recipient, before its D, and never all-default (encode() leaves those out): one
        // encoding per file.
        if (r.attempts != 0 || r.next_attempt != 0 || !r.last_error.empty() || r.delay_notified) {
          ok = false;
          break;
        }
        ok = parse_int(v.substr(0, sp1), r.attempts) && parse_int(v.substr(sp1 + 1, sp2 - sp1 - 1), r.next_attempt);
        r.last_error = std::string(v.substr(sp2 + 1));
        ok = ok && (r.attempts != 0 || r.next_attempt != 0 || !r.last_error.empty());
        break;
      }
      case 'D': {
        // Belongs to the recipient before it: "1" once, or nothing (encode() writes only true).
        if (e.recipients.empty() || v != "1" || e.recipients.back().delay_notified) {
          ok = false;
          break;
        }
        e.recipients.back().delay_notified = true;
        break;
      }
      default:
        ok = false;
    }
    if (!ok) {
      d.error = decode_error::malformed;
      return d;
    }
  }
  std::size_t head_len = message_len;
  std::string_view body_sum;
  if (!v1) {
    // G<len>:\n then J<64 hex>\n
    if (pos >= file.size()) {
      d.error = decode_error::truncated;
      return d;
    }
    std::size_t colon = file.find(':', pos);
    if (file[pos] != 'G' || colon == std::string_view::npos || colon - pos > 21 ||
        !parse_int(file.substr(pos + 1, colon - pos - 1), head_len) || head_len > message_len) {
      d.error = colon == std::string_view::npos ? decode_error::truncated : decode_error::malformed;
      return d;
    }
    pos = colon + 1;
    if (file.size() - pos < 67) {
      d.error = decode_error::truncated;
      return d;
    }
    if (file[pos] != '\n' || file[pos + 1] != 'J' || file[pos + 66] != '\n') {
      d.error = decode_error::malformed;
      return d;
    }
    body_sum = file.substr(pos + 2, 64);
    pos += 67;
  }
  std::size_t header_end = pos;
  if (file.size() - pos < 66) {
    d.error = decode_error::truncated;
    return d;
  }
  if (file[pos] != 'K' || file[pos + 65] != '\n') {
    d.error = decode_error::malformed;
    return d;
  }
  std::string_view sum = file.substr(pos + 1, 64);
  pos += 66;
  if (file.size() - pos != message_len) {
    d.error = file.size() - pos < message_len ? decode_error::truncated : decode_error::malformed;
    return d;
  }
  d.message = file.substr(pos);
  d.head_len = head_len;
  d.prefix_size = pos;
  d.padded = padded;
  if (sha256_hex(file.substr(0, header_end), d.message.substr(0, head_len)) != sum ||
      (!v1 && sha256_hex(d.message.substr(head_len), {}) != body_sum)) {
    d.error = decode_error::bad_checksum;
    d.message = {};
    return d;
  }
  return d;
}

const char* decode_error_name(decode_error e) {
  switch (e) {
    case decode_error::ok:
      return "ok";
    case decode_error::truncated:
      return "truncated";
    case decode_error::bad_magic:
      return "bad_magic";
    case decode_error::bad_version:
      return "bad_version";
    case decode_error::bad_checksum:
      return "bad_checksum";
    case decode_error::malformed:
      return "malformed";
  }
  return "malformed";
}

}  // namespace mailfort::queue
