// auth/dkim_signature.cpp: [pure] DKIM tag-list, DKIM-Signature and key-record parsing (see the header).
// SPDX-License-Identifier: MIT
#include "auth/dkim_signature.hpp"

#include "common/ascii.hpp"

#include <array>

namespace mailfort::dkim {

namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_tag_name(std::string_view n) {
  if (n.empty() || !common::is_alpha(n[0])) return false;
  for (char c : n)
    if (!common::is_alnum(c) && c != '_') return false;
  return true;
}

// Colon-separated list with FWS dropped and empty entries skipped (": :" in the wild), at most `limit`.
std::optional<std::vector<std::string>> split_list(std::string_view v, std::size_t limit) {
  const std::string s = strip_fws(v);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) {
      if (out.size() >= limit) return std::nullopt;
      out.push_back(s.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

// Unsigned decimal with at most max_digits digits (which keeps it far from overflow).
template <typename T>
std::optional<T> parse_number(std::string_view v, std::size_t max_digits) {
  const std::string s = strip_fws(v);
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  T n = 0;
  for (char c : s) {
    if (!common::is_digit(c)) return std::nullopt;
    n = static_cast<T>(n * 10 + static_cast<T>(c - '0'));
  }
  return n;
}

// A domain or selector as it may appear in a DNS query name: LDH labels (plus '_'), 1..63 each, <= 253.
bool valid_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!common::is_alnum(c) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label != 0;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string strip_fws(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v)
    if (!is_fws(c)) out.push_back(c);
  return out;
}

std::optional<std::vector<tag>> parse_tag_list(std::string_view text, std::size_t limit) {
  std::vector<tag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view spec = text.substr(pos, end - pos);
    if (!trim(spec).empty()) {
      const std::size_t eq = spec.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view name = trim(spec.substr(0, eq));
      if (!valid_tag_name(name)) return std::nullopt;
      // RFC 6376 3.2: a duplicated tag name makes the whole tag-list invalid (no "first one wins" games).
      for (const auto& t : tags)
        if (t.name == name) return std::nullopt;
      if (tags.size() >= limit) return std::nullopt;
      std::string_view raw_value = spec.substr(eq + 1);
      std::size_t off = pos + eq + 1;
      while (!raw_value.empty() && is_fws(raw_value.front())) {
        raw_value.remove_prefix(1);
        ++off;
      }
      tags.push_back(tag{name, trim(raw_value), off});
    }
    pos = end + 1;
  }
  return tags;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  std::size_t n = 0, pad = 0, chars = 0;
  for (char c : text) {
    if (is_fws(c)) continue;
    if (++chars > max_b64) return std::nullopt;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad != 0) return std::nullopt;  // data after padding
    const int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++n == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xff));
      out.push_back(static_cast<char>((acc >> 8) & 0xff));
      out.push_back(static_cast<char>(acc & 0xff));
      acc = 0;
      n = 0;
    }
  }
  if (n == 1 || pad > 2) return std::nullopt;
  if (pad != 0 && n + pad != 4) return std::nullopt;
  if (n == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xff));
  } else if (n == 3) {
    out.push_back(static_cast<char>((acc >> 10) & 0xff));
    out.push_back(static_cast<char>((acc >> 2) & 0xff));
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = byte(i) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out += "==";
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

const char* to_string(algorithm a) {
  switch (a) {
    case algorithm::rsa_sha256:
      return "rsa-sha256";
    case algorithm::ed25519_sha256:
      return "ed25519-sha256";
    case algorithm::rsa_sha1:
      return "rsa-sha1";
  }
  return "?";
}

const char* to_string(canonicalization c) { return c == canonicalization::simple ? "simple" : "relaxed"; }

std::optional<std::string> decode_dkim_qp(std::string_view text) {
  const std::string s = strip_fws(text);
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // RFC says upper case; lower is harmless to accept
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "=" or "=X" at the end
    const int h = hex(s[i + 1]), l = hex(s[i + 2]);
    if (h < 0 || l < 0) return std::nullopt;
    out.push_back(static_cast<char>(h * 16 + l));
    i += 2;
  }
  return out;
}

bool identity_in_domain(std::string_view identity, std::string_view domain, bool strict) {
  const std::size_t at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view idom = identity.substr(at + 1);
  if (common::iequals(idom, domain)) return true;
  if (strict || idom.size() <= domain.size() + 1) return false;
  return idom[idom.size() - domain.size() - 1] == '.' &&
         common::iequals(idom.substr(idom.size() - domain.size()), domain);
}

signature_parse_result parse_signature(std::string_view value) {
  signature_parse_result r;
  auto tags = parse_tag_list(value);
  if (!tags) {
    r.error = "malformed tag list";
    return r;
  }
  auto find = [&](std::string_view n) -> const tag* {
    for (const auto& t : *tags)
      if (t.name == n) return &t;
    return nullptr;
  };
  // Reportable identity first, bounded so a hostile d= cannot flood the log line.
  if (auto* t = find("d")) r.domain = strip_fws(t->value).substr(0, 253);
  if (auto* t = find("s")) r.selector = strip_fws(t->value).substr(0, 253);
  if (auto* t = find("a")) r.algorithm = strip_fws(t->value).substr(0, 32);

  auto fail = [&](std::string why) {
    r.error = std::move(why);
    return r;
  };
  signature s;
  const tag* v = find("v");
  if (!v || strip_fws(v->value) != "1") return fail("v= missing or not 1");
  const tag* a = find("a");
  if (!a) return fail("a= missing");
  if (common::iequals(r.algorithm, "rsa-sha256")) {
    s.algo = algorithm::rsa_sha256;
  } else if (common::iequals(r.algorithm, "ed25519-sha256")) {
    s.algo = algorithm::ed25519_sha256;
  } else if (common::iequals(r.algorithm, "rsa-sha1")) {
    s.algo = algorithm::rsa_sha1;
  } else {
    return fail("unknown algorithm");
  }
  const tag* b = find("b");
  if (!b) return fail("b= missing");
  auto bd = decode_base64(b->value);
  if (!bd || bd->empty()) return fail("b= is not base64");
  s.b = std::move(*bd);
  s.b_text = strip_fws(b->value);
  const tag* bh = find("bh");
  if (!bh) return fail("bh= missing");
  auto bhd = decode_base64(bh->value);
  if (!bhd || bhd->empty()) return fail("bh= is not base64");
  s.bh = std::move(*bhd);
  if (const tag* c = find("c")) {
    const std::string cv = common::to_lower(strip_fws(c->value));
    const std::size_t slash = cv.find('/');
    const std::string hc = cv.substr(0, slash);
    const std::string bc = slash == std::string::npos ? "simple" : cv.substr(slash + 1);
    auto one = [](const std::string& x) -> std::optional<canonicalization> {
      if (x == "simple") return canonicalization::simple;
      if (x == "relaxed") return canonicalization::relaxed;
      return std::nullopt;
    };
    auto h = one(hc), bb = one(bc);
    if (!h || !bb) return fail("unknown canonicalization");
    s.header_canon = *h;
    s.body_canon = *bb;
  }
  if (!valid_dns_name(r.domain) || !find("d")) return fail("d= missing or not a domain name");
  s.domain = r.domain;
  if (!valid_dns_name(r.selector) || !find("s")) return fail("s= missing or not a selector");
  s.selector = r.selector;
  const tag* h = find("h");
  if (!h) return fail("h= missing");
  auto names = split_list(h->value, max_header_names);
  if (!names) return fail("h= lists too many header fields");
  bool has_from = false;
  for (const auto& n : *names) {
    for (char c : n)
      if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) return fail("h= has a bad name");
    if (common::iequals(n, "from")) has_from = true;
  }
  if (!has_from) return fail("h= does not include From");
  s.headers = std::move(*names);
  if (const tag* i = find("i")) {
    auto id = decode_dkim_qp(i->value);
    if (!id || id->size() > 1024) return fail("i= is not dkim-quoted-printable");
    if (!identity_in_domain(*id, s.domain, false)) return fail("i= is not in the d= domain");
    s.identity = std::move(*id);
    s.identity_given = true;
  } else {
    s.identity = "@" + s.domain;
  }
  if (const tag* l = find("l")) {
    auto n = parse_number<std::uint64_t>(l->value, 18);
    if (!n) return fail("l= is not a number");
    s.length = *n;
  }
  if (const tag* q = find("q")) {
    auto methods = split_list(q->value, 16);
    bool dns = false;
    if (methods)
      for (const auto& m : *methods)
        if (common::iequals(m, "dns/txt")) dns = true;
    if (!dns) return fail("q= does not offer dns/txt");
  }
  if (const tag* t = find("t")) {
    auto n = parse_number<std::int64_t>(t->value, 16);
    if (!n) return fail("t= is not a number");
    s.timestamp = *n;
  }
  if (const tag* x = find("x")) {
    auto n = parse_number<std::int64_t>(x->value, 16);
    if (!n) return fail("x= is not a number");
    s.expiration = *n;
  }
  if (s.timestamp && s.expiration && *s.expiration < *s.timestamp) return fail("x= is before t=");
  if (const tag* z = find("z")) {
    // z= is '|'-separated dkim-quoted-printable copies; diagnostics only, so a bad one is just dropped.
    const std::string zs = strip_fws(z->value);
    std::size_t start = 0;
    while (start <= zs.size() && s.copied_headers.size() < max_header_names) {
      std::size_t end = zs.find('|', start);
      if (end == std::string::npos) end = zs.size();
      if (auto d = decode_dkim_qp(std::string_view(zs).substr(start, end - start))) s.copied_headers.push_back(*d);
      start = end + 1;
    }
  }
  r.sig = std::move(s);
  return r;
}

key_parse_result parse_key_record(std::string_view text) {
  key_parse_result r;
  auto tags = parse_tag_list(text);
  if (!tags) {
    r.error = "malformed key record";
    return r;
  }
  key_record k;
  bool have_p = false;
  for (const auto& t : *tags) {
    if (t.name == "v") {
      if (strip_fws(t.value) != "DKIM1") {
        r.error = "key record v= is not DKIM1";
        return r;
      }
    } else if (t.name == "k") {
      const std::string kv = common::to_lower(strip_fws(t.value));
      if (kv == "rsa") {
        k.type = key_type::rsa;
      } else if (kv == "ed25519") {
        k.type = key_type::ed25519;
      } else {
        r.error = "unknown key type k=";
        return r;
      }
    } else if (t.name == "p") {
      have_p = true;
      auto p = decode_base64(t.value);
      if (!p) {
        r.error = "p= is not base64";
        return r;
      }
      k.public_key = std::move(*p);
      k.revoked = k.public_key.empty();
    } else if (t.name == "h") {
      auto list = split_list(t.value, 16);
      k.allows_sha1 = k.allows_sha256 = false;
      if (list)
        for (const auto& x : *list) {
          if (common::iequals(x, "sha1")) k.allows_sha1 = true;
          if (common::iequals(x, "sha256")) k.allows_sha256 = true;
        }
    } else if (t.name == "s") {
      auto list = split_list(t.value, 16);
      k.service_email = false;
      if (list)
        for (const auto& x : *list)
          if (x == "*" || common::iequals(x, "email")) k.service_email = true;
    } else if (t.name == "t") {
      auto list = split_list(t.value, 16);
      if (list)
        for (const auto& x : *list) {
          if (x == "y") k.testing = true;
          if (x == "s") k.strict_identity = true;
        }
    }
    // g= (obsolete granularity), n= (notes) and unknown tags are ignored (RFC 6376 3.6.1 / 6.1.2).
  }
  if (!have_p) {
    r.error = "key record has no p=";
    return r;
  }
  r.key = std::move(k);
  return r;
}

}  // namespace mailfort::dkim
