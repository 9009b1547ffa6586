// publish/dns_records.cpp: the records to publish and their comparison with DNS answers.
// SPDX-License-Identifier: MIT
#include "publish/dns_records.hpp"

#include "dns/records.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mailfort::publish {
namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string norm_name(std::string_view s) {
  std::string o = lower(s);
  while (!o.empty() && o.back() == '.') o.pop_back();
  return o;
}

// Lower case, runs of white space as one space, none around ';' or '=', none at the ends.
std::string norm_text(std::string_view s) {
  std::string o;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !o.empty() && o.back() != ';' && o.back() != '=' && c != ';' && c != '=') o += ' ';
    space = false;
    o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return o;
}

// The value of tag `name` in a "k=v; k=v" record (white space inside values removed, as DKIM's p= allows).
std::optional<std::string> tag_value(std::string_view txt, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= txt.size()) {
    std::size_t end = txt.find(';', pos);
    if (end == std::string_view::npos) end = txt.size();
    std::string_view part = txt.substr(pos, end - pos);
    auto eq = part.find('=');
    if (eq != std::string_view::npos) {
      std::string k;
      for (char c : part.substr(0, eq))
        if (c != ' ' && c != '\t') k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (k == name) {
        std::string v;
        for (char c : part.substr(eq + 1))
          if (c != ' ' && c != '\t' && c != '\r' && c != '\n') v += c;
        return v;
      }
    }
    pos = end + 1;
  }
  return std::nullopt;
}

// Does the TXT start with the version tag ("v=spf1", "v=DMARC1"...), case-insensitive, then ';', space or end?
bool has_version(std::string_view txt, std::string_view version) {
  std::string t = norm_text(txt);
  std::string v = lower(version);
  if (t.rfind(v, 0) != 0) return false;
  return t.size() == v.size() || t[v.size()] == ';' || t[v.size()] == ' ';
}

std::string version_of(const record& r) {
  if (r.kind == "spf") return "v=spf1";
  if (r.kind == "dmarc") return "v=DMARC1";
  if (r.kind == "dkim") return "";  // any TXT at the selector name is the selector's record
  if (r.kind == "mta-sts") return "v=STSv1";
  if (r.kind == "tls-rpt") return "v=TLSRPTv1";
  return "";
}

// Does a "mailto:a,mailto:b" list name this mailbox?
bool uri_list_has(std::string_view list, std::string_view mailbox) {
  const std::string want = "mailto:" + lower(mailbox);
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    std::string u = lower(list.substr(pos, end - pos));
    auto bang = u.find('!');  // RFC 7489 6.2 size limit
    if (bang != std::string::npos) u.resize(bang);
    if (u == want) return true;
    pos = end + 1;
  }
  return false;
}

std::string quote_txt(std::string_view text) {
  // RFC 1035 5.1 character-strings of at most 255 octets; '"' and '\' escaped.
  std::string out;
  std::size_t pos = 0;
  do {
    std::string_view chunk = text.substr(pos, 255);
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : chunk) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    pos += chunk.size();
  } while (pos < text.size());
  return out;
}

// One answer record as text for comparison and display.
std::optional<std::string> record_text(int rrtype, std::string_view rdata) {
  if (rrtype == 33) {
    auto s = parse_srv(rdata);
    if (!s) return std::nullopt;
    return std::to_string(s->priority) + " " + std::to_string(s->weight) + " " + std::to_string(s->port) + " " +
           (s->target == "." ? std::string(".") : s->target + ".");
  }
  if (rrtype == dns::rr_type::mx) {
    auto m = dns::parse_mx(rdata);
    if (!m) return std::nullopt;
    return std::to_string(m->preference) + " " + (m->exchange == "." ? std::string(".") : m->exchange + ".");
  }
  if (rrtype == dns::rr_type::cname || rrtype == dns::rr_type::ptr) {
    auto n = dns::parse_name_rdata(rdata);
    if (!n) return std::nullopt;
    return *n + ".";
  }
  return dns::to_text(rrtype, rdata);
}

}  // namespace

const char* to_string(check_state s) {
  switch (s) {
    case check_state::ok:
      return "ok";
    case check_state::missing:
      return "missing";
    case check_state::stale:
      return "stale";
    case check_state::error:
      return "error";
  }
  return "error";
}

int rrtype_of(std::string_view type) {
  if (type == "SRV") return 33;
  auto t = dns::rr_type_from_name(type);
  return t ? *t : 0;
}

std::optional<srv_record> parse_srv(std::string_view rdata) {
  if (rdata.size() < 7) return std::nullopt;
  auto u16 = [&](std::size_t i) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[i]) << 8) |
                                      static_cast<unsigned char>(rdata[i + 1]));
  };
  srv_record r;
  r.priority = u16(0);
  r.weight = u16(2);
  r.port = u16(4);
  std::size_t pos = 6;
  auto name = dns::decode_name(rdata, pos);
  if (!name || pos != rdata.size()) return std::nullopt;
  r.target = *name;
  return r;
}

std::optional<std::string> reverse_name(std::string_view ip) {
  const std::string s(ip);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1)
    return std::to_string(buf[3]) + "." + std::to_string(buf[2]) + "." + std::to_string(buf[1]) + "." +
           std::to_string(buf[0]) + ".in-addr.arpa";
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += hex[buf[i] & 15];
      out += '.';
      out += hex[buf[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return std::nullopt;
}

std::vector<record> build_records(const inputs& in) {
  std::vector<record> out;
  const std::string host = norm_name(in.hostname);
  auto add = [&](const std::string& name, std::string type, std::string value, std::string kind,
                 std::string comment = {}) {
    record r;
    r.name = norm_name(name);
    r.type = std::move(type);
    r.value = std::move(value);
    r.kind = std::move(kind);
    r.comment = std::move(comment);
    r.ttl = in.ttl;
    out.push_back(std::move(r));
  };
  for (const auto& d0 : in.domains) {
    const std::string d = norm_name(d0);
    const std::string mailbox = in.report_mailbox.empty() ? "postmaster@" + d : lower(in.report_mailbox);
    add(d, "MX", "10 " + host + ".", "mx", "mail for " + d + " goes to " + host);
    if (in.smarthost.empty())
      add(d, "TXT", "v=spf1 mx -all", "spf", "SPF: only the MX hosts send for " + d);
    else
      add(d, "TXT", "v=spf1 mx a:" + norm_name(in.smarthost) + " -all", "spf",
          "SPF: mail leaves through the smart host " + norm_name(in.smarthost) +
              " (use its provider's include: if it has one)");
    for (const auto& k : in.dkim)
      if (norm_name(k.domain) == d)
        add(k.selector + "._domainkey." + d, "TXT", k.txt, "dkim", "DKIM selector " + k.selector);
    add("_dmarc." + d, "TXT", "v=DMARC1; p=none; rua=mailto:" + mailbox + "; ruf=mailto:" + mailbox + "; fo=1", "dmarc",
        "DMARC: start with p=none; after 2-4 weeks of clean aggregate reports p=quarantine, then p=reject "
        "(any p= passes --check while rua names " +
            mailbox + ")");
    if (!in.sts_id.empty()) {
      add("_mta-sts." + d, "TXT", "v=STSv1; id=" + in.sts_id, "mta-sts",
          "MTA-STS: the id follows the policy served at https://mta-sts." + d + "/.well-known/mta-sts.txt");
      add("mta-sts." + d, "CNAME", host + ".", "mta-sts-host", "the MTA-STS policy host (an A/AAAA record also does)");
    }
    add("_smtp._tls." + d, "TXT", "v=TLSRPTv1; rua=mailto:" + mailbox, "tls-rpt",
        "TLS-RPT (RFC 8460): senders report TLS failures to " + mailbox);
    for (const auto& s : in.services)
      add(s.service + "." + d, "SRV", "0 1 " + std::to_string(s.port) + " " + host + ".", "srv",
          "mail client autoconfiguration (RFC 6186/8314)");
  }
  if (!in.tlsa.empty())
    add("_25._tcp." + host, "TLSA", in.tlsa, "tlsa",
        "DANE (RFC 7672): the current certificate key; senders use it only in a DNSSEC-signed zone");
  if (!in.tlsa_next.empty())
    add("_25._tcp." + host, "TLSA", in.tlsa_next, "tlsa", "DANE: the next certificate key (publish before the roll)");
  if (!in.public_ipv4.empty()) add(host, "A", in.public_ipv4, "a", "the MX host's address");
  if (!in.public_ipv6.empty()) add(host, "AAAA", in.public_ipv6, "aaaa", "the MX host's IPv6 address");
  for (const auto* ip : {&in.public_ipv4, &in.public_ipv6}) {
    if (ip->empty()) continue;
    if (auto rev = reverse_name(*ip)) {
      add(*rev, "PTR", host + ".", "ptr",
          "ask your hosting provider for this reverse DNS record (mail from an address without a matching PTR is "
          "refused by many receivers)");
      out.back().at_provider = true;
    }
  }
  return out;
}

std::string zone_line(const record& r) {
  std::string v = r.type == "TXT" ? quote_txt(r.value) : r.value;
  return r.name + ". " + std::to_string(r.ttl) + " IN " + r.type + " " + v;
}

std::string zone_text(const std::vector<record>& records) {
  std::string out;
  for (const auto& r : records) {
    if (!r.comment.empty()) out += "; " + r.comment + "\n";
    out += (r.at_provider ? "; " : "") + zone_line(r) + "\n";
  }
  return out;
}

check_result compare(const record& want, const dns::lookup_result& answer) {
  check_result res;
  res.secure = answer.sec == dns::dnssec::secure;
  const int type = rrtype_of(want.type);
  if (answer.st == dns::status::nxdomain || answer.st == dns::status::nodata) {
    res.state = check_state::missing;
    return res;
  }
  if (answer.st != dns::status::ok) {
    res.state = check_state::error;
    res.detail = std::string("lookup failed: ") + dns::to_string(answer.st) +
                 (answer.why_bogus.empty() ? std::string() : " (" + answer.why_bogus + ")");
    return res;
  }
  std::vector<std::string> texts;
  for (const auto& rd : answer.records) {
    if (type == dns::rr_type::txt) {
      if (auto t = dns::parse_txt(rd)) texts.push_back(*t);
    } else if (auto t = record_text(type, rd)) {
      texts.push_back(*t);
    }
  }
  res.found = texts;
  // The records of our kind among the answer (TXT names are shared: SPF lives next to other TXT at the apex).
  std::vector<std::string> mine;
  const std::string version = version_of(want);
  for (const auto& t : texts)
    if (type != dns::rr_type::txt || version.empty() || has_version(t, version)) mine.push_back(t);
  if (mine.empty()) {
    res.state = check_state::missing;
    return res;
  }
  bool ok = false;
  if (want.kind == "dmarc" || want.kind == "tls-rpt") {
    auto mailbox_of = [&](const std::string& v) {
      auto r = tag_value(v, "rua");
      auto p = r ? r->find("mailto:") : std::string::npos;
      return p == std::string::npos ? std::string() : r->substr(p + 7, r->find_first_of(";,!", p) - p - 7);
    };
    const std::string mailbox = mailbox_of(want.value);
    for (const auto& t : mine)
      if (auto rua = tag_value(t, "rua"); rua && uri_list_has(*rua, mailbox)) ok = true;
    if (!ok) res.detail = "rua does not name " + mailbox;
  } else if (want.kind == "dkim") {
    auto p = tag_value(want.value, "p");
    for (const auto& t : mine)
      if (auto q = tag_value(t, "p"); q && p && *q == *p) ok = true;
    if (!ok) res.detail = "the published key (p=) is not the configured key";
  } else if (want.kind == "mta-sts") {
    auto id = tag_value(want.value, "id");
    for (const auto& t : mine)
      if (auto q = tag_value(t, "id"); q && id && *q == *id) ok = true;
    if (!ok) res.detail = "the id is not the served policy's";
  } else if (want.kind == "mx") {
    const std::string host = lower(want.value.substr(want.value.find(' ') + 1));
    for (const auto& t : mine)
      if (lower(t.substr(t.find(' ') + 1)) == host) ok = true;
    if (!ok) res.detail = "no MX names " + host;
  } else if (want.kind == "srv") {
    // Priority and weight are the admin's choice; port and target must be ours.
    auto tail = [](const std::string& v) {
      auto p = v.find(' ');
      p = p == std::string::npos ? p : v.find(' ', p + 1);
      return p == std::string::npos ? v : v.substr(p + 1);
    };
    for (const auto& t : mine)
      if (lower(tail(t)) == lower(tail(want.value))) ok = true;
  } else {
    for (const auto& t : mine)
      if (type == dns::rr_type::txt ? norm_text(t) == norm_text(want.value) : lower(t) == lower(want.value)) ok = true;
  }
  res.state = ok ? check_state::ok : check_state::stale;
  if (want.kind == "tlsa" && ok && !res.secure)
    res.detail = "the zone is not DNSSEC-signed (or not validated): DANE senders ignore this TLSA";
  return res;
}

nlohmann::json to_json(const std::vector<record>& records, const std::vector<check_result>* results) {
  nlohmann::json arr = nlohmann::json::array();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    nlohmann::json j = {
        {"name", r.name}, {"type", r.type},       {"ttl", r.ttl},         {"value", r.value},
        {"kind", r.kind}, {"zone", zone_line(r)}, {"comment", r.comment}, {"at_provider", r.at_provider}};
    if (results && i < results->size()) {
      const auto& c = (*results)[i];
      j["state"] = to_string(c.state);
      j["found"] = c.found;
      j["dnssec_secure"] = c.secure;
      if (!c.detail.empty()) j["detail"] = c.detail;
    }
    arr.push_back(std::move(j));
  }
  return {{"records", arr}};
}

}  // namespace mailfort::publish
