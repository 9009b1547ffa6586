// audit/domain_audit.cpp: the `audit domain` driver: DNS lookups, the SPF walk, MTA-STS fetch, MX probes.
// SPDX-License-Identifier: MIT
#include "audit/domain_audit.hpp"

#include "audit/cert_info.hpp"
#include "audit/probe.hpp"
#include "audit/smtp_audit.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dmarc_record.hpp"
#include "auth/spf_record.hpp"
#include "dns/records.hpp"
#include "outbound/dane.hpp"
#include "outbound/mta_sts.hpp"
#include "outbound/mx.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>

namespace mailfort::audit {

namespace asio = boost::asio;
namespace spf = auth::spf;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool starts_with_ci(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(p[i]))) return false;
  return true;
}

std::vector<std::string> txt_records(const dns::lookup_result& r) {
  std::vector<std::string> out;
  if (r.st != dns::status::ok) return out;
  for (const auto& rd : r.records)
    if (auto t = dns::parse_txt(rd)) out.push_back(*t);
  return out;
}

bool is_failure(const dns::lookup_result& r) { return r.st == dns::status::servfail || r.st == dns::status::timeout; }
bool is_void(const dns::lookup_result& r) {
  return r.st == dns::status::nxdomain || r.st == dns::status::nodata || (r.st == dns::status::ok && r.records.empty());
}

struct spf_walker {
  dns::source& dns;
  spf_obs& out;
  std::set<std::string> seen;
  static constexpr int max_terms = 30;
  static constexpr int max_depth = 10;

  // The SPF record at domain, or nullopt (problem recorded when `nested`).
  asio::awaitable<std::optional<spf::record>> fetch(const std::string& domain, bool nested) {
    auto r = co_await dns.lookup(domain, dns::rr_type::txt);
    if (is_void(r)) ++out.void_lookups;
    std::vector<std::string> recs;
    for (auto& t : txt_records(r))
      if (spf::is_spf_record(t)) recs.push_back(t);
    if (!nested) {
      if (is_failure(r)) {
        out.st = spf_obs::state::lookup_failed;
        out.error = std::string("TXT lookup: ") + dns::to_string(r.st);
        co_return std::nullopt;
      }
      if (recs.empty()) {
        out.st = spf_obs::state::none;
        co_return std::nullopt;
      }
      out.record = recs.front();
      if (recs.size() > 1) {
        out.st = spf_obs::state::multiple;
        for (std::size_t i = 1; i < recs.size(); ++i) out.record += " | " + recs[i];
        co_return std::nullopt;
      }
      auto p = spf::parse_record(recs.front());
      if (!p.rec) {
        out.st = spf_obs::state::syntax_error;
        out.error = p.error;
        co_return std::nullopt;
      }
      out.st = spf_obs::state::ok;
      co_return p.rec;
    }
    if (recs.size() != 1) {
      out.problems.push_back(domain + ": " + (recs.empty() ? "no SPF record" : "more than one SPF record"));
      co_return std::nullopt;
    }
    auto p = spf::parse_record(recs.front());
    if (!p.rec) {
      out.problems.push_back(domain + ": syntax error: " + p.error);
      co_return std::nullopt;
    }
    co_return p.rec;
  }

  static bool literal(const std::string& spec) { return !spec.empty() && spec.find('%') == std::string::npos; }

  // Walks one record; returns the "all" qualifier it ends with (following redirect=), 0 when none.
  asio::awaitable<char> walk(const spf::record& rec, const std::string& domain, int depth) {
    char all = 0;
    for (const auto& m : rec.mechanisms) {
      if (out.dns_terms > max_terms) co_return all;
      switch (m.kind) {
        case spf::mechanism_kind::all:
          all = static_cast<char>(m.qual);
          break;
        case spf::mechanism_kind::include: {
          ++out.dns_terms;
          if (!literal(m.domain_spec) || depth >= max_depth) break;
          auto target = lower(m.domain_spec);
          if (!seen.insert(target).second) {
            out.problems.push_back("include loop or repeat: " + target);
            break;
          }
          auto sub = co_await fetch(target, true);
          if (sub) co_await walk(*sub, target, depth + 1);
          break;
        }
        case spf::mechanism_kind::a:
        case spf::mechanism_kind::mx:
        case spf::mechanism_kind::exists: {
          ++out.dns_terms;
          std::string target = m.domain_spec.empty() ? domain : m.domain_spec;
          if (!literal(target)) break;
          int type = m.kind == spf::mechanism_kind::mx ? dns::rr_type::mx : dns::rr_type::a;
          auto r = co_await dns.lookup(lower(target), type);
          if (is_void(r)) {
            if (m.kind == spf::mechanism_kind::a) {
              auto r6 = co_await dns.lookup(lower(target), dns::rr_type::aaaa);
              if (is_void(r6)) ++out.void_lookups;
            } else {
              ++out.void_lookups;
            }
          }
          break;
        }
        case spf::mechanism_kind::ptr:
          ++out.dns_terms;
          out.uses_ptr = true;
          break;
        case spf::mechanism_kind::ip4:
        case spf::mechanism_kind::ip6:
          break;
      }
    }
    if (rec.redirect) {
      ++out.dns_terms;
      if (depth == 0) out.has_redirect = true;
      if (literal(*rec.redirect) && depth < max_depth) {
        auto target = lower(*rec.redirect);
        if (seen.insert(target).second) {
          auto sub = co_await fetch(target, true);
          if (sub) {
            char sub_all = co_await walk(*sub, target, depth + 1);
            if (all == 0) all = sub_all;  // RFC 7208 6.1: redirect applies only when no "all" matched
          }
        } else {
          out.problems.push_back("redirect loop: " + target);
        }
      }
    }
    co_return all;
  }
};

std::string ip_text_v4(const std::array<std::uint8_t, 4>& a) { return dns::format_a(a); }

std::string reverse_name(const std::string& ip) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  if (ec) return {};
  std::string out;
  if (addr.is_v4()) {
    auto b = addr.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
    return out;
  }
  static constexpr char hex[] = "0123456789abcdef";
  auto b = addr.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    out += hex[b[static_cast<std::size_t>(i)] & 15];
    out += '.';
    out += hex[b[static_cast<std::size_t>(i)] >> 4];
    out += '.';
  }
  return out;
}

asio::awaitable<std::vector<std::string>> addresses_of(dns::source& dns, const std::string& host, bool& failed) {
  std::vector<std::string> out;
  auto a = co_await dns.lookup(host, dns::rr_type::a);
  auto aaaa = co_await dns.lookup(host, dns::rr_type::aaaa);
  failed = is_failure(a) && is_failure(aaaa);
  if (a.st == dns::status::ok)
    for (const auto& rd : a.records)
      if (auto v = dns::parse_a(rd)) out.push_back(ip_text_v4(*v));
  if (aaaa.st == dns::status::ok)
    for (const auto& rd : aaaa.records)
      if (auto v = dns::parse_aaaa(rd)) out.push_back(dns::format_aaaa(*v));
  co_return out;
}

asio::awaitable<void> audit_address(dns::source& dns, const domain_audit_options& opt, address_obs& a) {
  auto rev = reverse_name(a.ip);
  auto ptr = co_await dns.lookup(rev + (a.ip.find(':') == std::string::npos ? "in-addr.arpa" : "ip6.arpa"),
                                 dns::rr_type::ptr);
  a.ptr_lookup_failed = is_failure(ptr);
  if (ptr.st == dns::status::ok)
    for (const auto& rd : ptr.records)
      if (auto n = dns::parse_name_rdata(rd); n && a.ptr_names.size() < 4) a.ptr_names.push_back(lower(*n));
  for (const auto& n : a.ptr_names) {
    bool failed = false;
    auto back = co_await addresses_of(dns, n, failed);
    if (std::find(back.begin(), back.end(), a.ip) != back.end()) {
      a.forward_confirmed = true;
      break;
    }
  }
  for (const auto& zone : opt.dnsbl_zones) {
    auto r = co_await dns.lookup(rev + lower(zone), dns::rr_type::a);
    if (r.st != dns::status::ok) continue;
    for (const auto& rd : r.records) {
      auto v = dns::parse_a(rd);
      // 127.0.0.0/8 answers are listings; 127.255.255.x are Spamhaus's "query refused" codes, not listings.
      if (!v || (*v)[0] != 127 || ((*v)[1] == 255 && (*v)[2] == 255)) continue;
      a.listed_in.push_back(zone + " (" + ip_text_v4(*v) + ")");
      break;
    }
  }
}

asio::awaitable<void> audit_mx_host(asio::any_io_executor ex, dns::source& dns, const domain_audit_options& opt,
                                    mx_obs& h, std::int64_t now) {
  bool failed = false;
  auto ips = co_await addresses_of(dns, h.host, failed);
  h.address_lookup_failed = failed;
  if (ips.size() > 4) ips.resize(4);
  for (const auto& ip : ips) {
    address_obs a;
    a.ip = ip;
    co_await audit_address(dns, opt, a);
    h.addresses.push_back(std::move(a));
  }
  // DANE: TLSA at _25._tcp.<host> (RFC 7672 2.2.1), usable only when DNSSEC-secure.
  auto t = co_await dns.lookup("_25._tcp." + h.host, dns::rr_type::tlsa);
  std::vector<dns::tlsa_record> tlsa;
  if (t.st == dns::status::ok)
    for (const auto& rd : t.records)
      if (auto r = dns::parse_tlsa(rd)) tlsa.push_back(*r);
  h.tlsa_records = tlsa.size();
  if (is_failure(t))
    h.tlsa = mx_obs::tlsa_state::lookup_failed;
  else if (!tlsa.empty())
    h.tlsa = t.sec == dns::dnssec::secure ? mx_obs::tlsa_state::secure : mx_obs::tlsa_state::insecure;

  if (!opt.smtp_probe || ips.empty()) co_return;
  smtp_audit_options so;
  so.host = ips.front();
  so.port = opt.mx_port;
  so.tls_name = h.host;
  so.ca_file = opt.ca_file;
  so.timeout = opt.timeout;
  so.user_probes = false;
  so.relay = false;
  so.tls_versions = false;
  so.early_talker = false;
  so.injection = false;
  report scratch;
  auto obs = co_await probe_smtp(ex, so, scratch);
  if (scratch.could_not_run) {
    h.smtp_error = scratch.failure;
  } else {
    if (h.tlsa == mx_obs::tlsa_state::secure && obs.starttls_ok) {
      if (auto chain = outbound::decode_der_chain(obs.chain_der)) {
        std::vector<X509*> raw;
        for (auto& c : *chain) raw.push_back(c.get());
        auto res = outbound::dane_verify(tlsa, raw, {h.host}, now);
        h.dane_match = res.status != outbound::dane_status::mismatch;
        h.dane_detail = std::string(outbound::to_string(res.status)) + (res.reason.empty() ? "" : ": " + res.reason);
        if (!*h.dane_match)
          for (const auto& r : tlsa) h.dane_detail += "; published " + outbound::tlsa_to_text(r);
      }
    }
    h.smtp = std::move(obs);
  }
}

// GET the MTA-STS policy over HTTPS with certificate verification (no redirects followed).
asio::awaitable<outbound::sts_https_response> fetch_policy(asio::any_io_executor ex, dns::source& dns,
                                                           const domain_audit_options& opt, const std::string& domain,
                                                           std::string& why) {
  outbound::sts_https_response resp;
  resp.connected = false;
  auto host = outbound::sts_policy_host(domain);
  bool failed = false;
  auto ips = co_await addresses_of(dns, host, failed);
  if (ips.empty()) {
    why = host + " has no address";
    co_return resp;
  }
  probe p(ex, opt.timeout);
  std::string ce = co_await p.connect(ips.front(), opt.https_port);
  if (!ce.empty()) {
    why = host + ": " + ce;
    co_return resp;
  }
  std::string he = co_await p.handshake(make_probe_tls_context("", opt.ca_file), host);
  if (!he.empty()) {
    why = host + ": " + he;
    co_return resp;
  }
  auto chain = p.peer_chain_der();
  resp.certificate_valid = p.chain_verified() && !chain.empty() && certificate_matches_host(chain.front(), host);
  if (!resp.certificate_valid) {
    why = host + ": certificate not valid (" + (p.chain_verified() ? "name mismatch" : p.verify_error()) + ")";
    co_return resp;
  }
  std::string get = "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: mailfort-audit\r\nConnection: close\r\n\r\n";
  co_await p.send(std::move(get));
  bool trunc = false;
  auto raw = co_await p.read_all(outbound::sts_max_policy_size + 16384, trunc);
  resp.connected = true;
  auto hdr_end = raw.find("\r\n\r\n");
  if (hdr_end == std::string::npos || !starts_with_ci(raw, "HTTP/1.")) {
    why = "not an HTTP response";
    resp.connected = false;
    co_return resp;
  }
  auto sp = raw.find(' ');
  resp.status = std::atoi(raw.c_str() + sp + 1);
  std::string headers = raw.substr(0, hdr_end);
  std::string body = raw.substr(hdr_end + 4);
  bool chunked = false;
  std::size_t pos = headers.find("\r\n");
  while (pos != std::string::npos) {
    auto next = headers.find("\r\n", pos + 2);
    std::string line = headers.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = lower(line.substr(0, colon));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-type") resp.content_type = value;
      if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
    }
    pos = next;
  }
  if (chunked) {  // minimal de-chunking: size line, data, CRLF
    std::string out;
    std::size_t i = 0;
    while (i < body.size()) {
      auto eol = body.find("\r\n", i);
      if (eol == std::string::npos) break;
      std::size_t n = std::strtoul(body.substr(i, eol - i).c_str(), nullptr, 16);
      if (n == 0 || eol + 2 + n > body.size()) break;
      out += body.substr(eol + 2, n);
      i = eol + 2 + n + 2;
    }
    body = out;
  }
  resp.body_truncated = trunc || body.size() > outbound::sts_max_policy_size;
  resp.body = std::move(body);
  co_return resp;
}

}  // namespace

asio::awaitable<spf_obs> walk_spf(dns::source& dns, std::string domain) {
  spf_obs out;
  spf_walker w{dns, out, {}};
  domain = lower(domain);
  w.seen.insert(domain);
  auto rec = co_await w.fetch(domain, false);
  if (rec) out.all_qualifier = co_await w.walk(*rec, domain, 0);
  co_return out;
}

asio::awaitable<domain_observations> probe_domain(asio::any_io_executor ex, dns::source& dns,
                                                  domain_audit_options opt, report& rep) {
  domain_observations o;
  o.domain = lower(opt.domain);
  const std::int64_t now = rep.started_at;

  // MX
  auto mx = co_await dns.lookup(o.domain, dns::rr_type::mx);
  auto plan = outbound::plan_mx(o.domain, mx, [](std::uint32_t) { return 0u; });
  switch (plan.status) {
    case outbound::mx_status::null_mx: o.mx = domain_observations::mx_state::null_mx; break;
    case outbound::mx_status::no_domain:
      o.mx = domain_observations::mx_state::no_domain;
      rep.could_not_run = true;
      rep.failure = o.domain + " does not exist (NXDOMAIN)";
      co_return o;
    case outbound::mx_status::temp_error:
    case outbound::mx_status::bad_records: o.mx = domain_observations::mx_state::lookup_failed; break;
    case outbound::mx_status::ok:
      o.mx = plan.hosts.size() == 1 && plan.hosts.front().implicit ? domain_observations::mx_state::implicit
                                                                    : domain_observations::mx_state::ok;
      break;
  }
  rep.ran("domain.mx", control_area::dns);
  if (plan.status == outbound::mx_status::ok) {
    for (const auto& h : plan.hosts) {
      if (o.hosts.size() >= opt.max_hosts) break;
      mx_obs m;
      m.host = h.host;
      m.preference = h.preference;
      o.hosts.push_back(std::move(m));
    }
  }

  // Each MX host concurrently (A/AAAA, PTR, DNSBL, TLSA, SMTP probe); meanwhile the domain's records.
  std::size_t pending = o.hosts.size();
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  for (auto& h : o.hosts)
    asio::co_spawn(ex, audit_mx_host(ex, dns, opt, h, now), [&](std::exception_ptr e) {
      if (e) h.smtp_error = "internal error in the MX probe";
      if (--pending == 0) all_done.cancel();
    });

  o.spf = co_await walk_spf(dns, o.domain);
  rep.ran("domain.spf", control_area::spf);

  for (const auto& sel : opt.dkim_selectors) {
    dkim_obs k;
    k.selector = sel;
    auto r = co_await dns.lookup(lower(sel) + "._domainkey." + o.domain, dns::rr_type::txt);
    auto texts = txt_records(r);
    if (is_failure(r)) {
      k.st = dkim_obs::state::lookup_failed;
      k.error = dns::to_string(r.st);
    } else if (texts.empty()) {
      k.st = dkim_obs::state::missing;
    } else {
      auto pk = dkim::parse_key_record(texts.front());
      if (!pk.key) {
        k.st = dkim_obs::state::invalid;
        k.error = pk.error;
      } else if (pk.key->revoked || pk.key->public_key.empty()) {
        k.st = dkim_obs::state::revoked;
      } else {
        k.st = dkim_obs::state::ok;
        k.testing = pk.key->testing;
        k.key_type = pk.key->type == dkim::key_type::rsa ? "rsa" : "ed25519";
        if (pk.key->type == dkim::key_type::rsa) {
          auto* p = reinterpret_cast<const unsigned char*>(pk.key->public_key.data());
          if (EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(pk.key->public_key.size()))) {
            k.key_bits = EVP_PKEY_get_bits(key);
            EVP_PKEY_free(key);
          } else {
            k.st = dkim_obs::state::invalid;
            k.error = "p= is not a SubjectPublicKeyInfo";
          }
        } else {
          k.key_bits = 256;
        }
      }
    }
    o.dkim.push_back(std::move(k));
  }
  if (opt.dkim_selectors.empty())
    rep.skipped("domain.dkim", control_area::dkim, "no --dkim-selector given");
  else
    rep.ran("domain.dkim", control_area::dkim);

  {
    auto r = co_await dns.lookup("_dmarc." + o.domain, dns::rr_type::txt);
    std::vector<std::string> recs;
    for (auto& t : txt_records(r))
      if (dmarc::is_dmarc_record(t)) recs.push_back(t);
    if (is_failure(r)) {
      o.dmarc.st = dmarc_obs::state::lookup_failed;
      o.dmarc.error = dns::to_string(r.st);
    } else if (recs.empty()) {
      o.dmarc.st = dmarc_obs::state::missing;
    } else if (recs.size() > 1) {
      o.dmarc.st = dmarc_obs::state::invalid;
      o.dmarc.record = recs.front();
      o.dmarc.error = "more than one DMARC record";
    } else {
      o.dmarc.record = recs.front();
      auto p = dmarc::parse_record(recs.front());
      if (!p.value) {
        o.dmarc.st = dmarc_obs::state::invalid;
        o.dmarc.error = dmarc::to_string(p.error);
      } else {
        o.dmarc.st = dmarc_obs::state::ok;
        o.dmarc.p = dmarc::to_string(p.value->p);
        o.dmarc.sp = dmarc::to_string(p.value->sp);
        o.dmarc.pct = p.value->pct;
        o.dmarc.has_rua = !p.value->rua.empty();
      }
    }
    rep.ran("domain.dmarc", control_area::dmarc);
  }

  {
    auto r = co_await dns.lookup("_smtp._tls." + o.domain, dns::rr_type::txt);
    if (is_failure(r)) {
      o.tls_rpt.st = tls_rpt_obs::state::lookup_failed;
    } else {
      for (auto& t : txt_records(r)) {
        if (!starts_with_ci(t, "v=TLSRPTv1")) continue;
        o.tls_rpt.record = t;
        o.tls_rpt.st = t.find("rua=") != std::string::npos ? tls_rpt_obs::state::ok : tls_rpt_obs::state::invalid;
      }
    }
    rep.ran("domain.tls_rpt", control_area::tls_rpt);
  }

  {
    auto& s = o.mta_sts;
    auto r = co_await dns.lookup(outbound::sts_txt_name(o.domain), dns::rr_type::txt);
    auto ans = outbound::txt_answer_from(r);
    if (ans.k == outbound::sts_txt_answer::kind::temp_error) {
      s.st = mta_sts_obs::state::lookup_failed;
      s.detail = dns::to_string(r.st);
    } else if (ans.k == outbound::sts_txt_answer::kind::records) {
      std::optional<outbound::sts_record> rec;
      bool any_sts = false;
      for (const auto& t : ans.texts) {
        if (!starts_with_ci(t, "v=STSv1")) continue;
        any_sts = true;
        s.record = t;
        rec = outbound::parse_sts_record(t);
        if (rec) break;
      }
      if (any_sts && !rec) {
        s.st = mta_sts_obs::state::record_invalid;
      } else if (rec) {
        std::string why;
        auto resp = co_await fetch_policy(ex, dns, opt, o.domain, why);
        if (!resp.connected || !resp.certificate_valid) {
          s.st = mta_sts_obs::state::fetch_failed;
          s.detail = why;
        } else if (resp.status != 200) {
          s.st = mta_sts_obs::state::fetch_failed;
          s.detail = "HTTP status " + std::to_string(resp.status);
        } else if (resp.body_truncated) {
          s.st = mta_sts_obs::state::policy_invalid;
          s.detail = "policy larger than 64 KiB";
        } else if (!outbound::sts_content_type_ok(resp.content_type)) {
          s.st = mta_sts_obs::state::policy_invalid;
          s.detail = "Content-Type is not text/plain: " + resp.content_type;
        } else if (auto pol = outbound::parse_sts_policy(resp.body)) {
          s.st = mta_sts_obs::state::ok;
          s.mode = outbound::to_string(pol->mode);
          s.patterns = pol->mx;
          s.max_age = pol->max_age;
          for (const auto& h : o.hosts)
            if (!outbound::mx_listed(*pol, h.host)) s.unmatched_mx.push_back(h.host);
        } else {
          s.st = mta_sts_obs::state::policy_invalid;
          s.detail = "the policy does not parse: " + resp.body.substr(0, 200);
        }
      }
    }
    rep.ran("domain.mta_sts", control_area::mta_sts);
  }

  if (pending > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  for (const auto& h : o.hosts) {
    if (h.smtp)
      rep.ran("domain.mx_smtp." + h.host, control_area::tls);
    else if (opt.smtp_probe)
      rep.error("domain.mx_smtp." + h.host, control_area::tls, h.smtp_error);
    rep.ran("domain.rdns_dnsbl." + h.host, control_area::dns);
    if (h.tlsa != mx_obs::tlsa_state::none) rep.ran("domain.dane." + h.host, control_area::dane);
  }
  co_return o;
}

report run_domain_audit(const domain_audit_options& opt, const dns::resolver_options& ropts) {
  report rep;
  rep.kind = "domain";
  rep.version = MAILFORT_AUDIT_VERSION;
  rep.target = opt.domain;
  auto t0 = std::chrono::steady_clock::now();
  rep.started_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  domain_observations obs;
  try {
    asio::io_context io;
    dns::resolver res(io.get_executor(), ropts);
    std::exception_ptr err;
    asio::co_spawn(io, probe_domain(io.get_executor(), res, opt, rep), [&](std::exception_ptr e, domain_observations o) {
      err = e;
      obs = std::move(o);
    });
    io.run();
    if (err) std::rethrow_exception(err);
  } catch (const std::exception& e) {
    rep.could_not_run = true;
    rep.failure = e.what();
  }
  if (!rep.could_not_run) {
    domain_check_options co;
    co.now = rep.started_at;
    judge_domain(obs, co, rep.findings);
  }
  rep.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  rep.sort();
  return rep;
}

}  // namespace mailfort::audit
