// audit/domain_audit.cpp: the `audit domain` driver: DNS lookups, the SPF walk, MTA-STS fetch, MX probes.
// SPDX-License-Identifier: MIT
#include "audit/domain_audit.hpp"

#include "audit/cert_info.hpp"
#include "audit/smtp_audit.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dmarc.hpp"
#include "auth/dmarc_record.hpp"
#include "auth/spf_record.hpp"
#include "common/ascii.hpp"
#include "dns/records.hpp"
#include "monitor/blocklist.hpp"
#include "outbound/dane.hpp"
#include "outbound/host_addresses.hpp"
#include "outbound/mta_sts.hpp"
#include "outbound/mx.hpp"
#include "outbound/sts_fetch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <exception>
#include <set>

namespace mailfort::audit {

namespace asio = boost::asio;
namespace spf = auth::spf;

namespace {

// Lower case (ASCII, locale-free), trailing dots removed: the form names are compared in.
std::string lower(std::string_view s) {
  std::string out = common::to_lower(s);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
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

// The host's addresses as text, through the same lookup delivery uses (no private-address filter: the
// auditor reports on whatever the domain publishes). failed: both lookups failed.
asio::awaitable<std::vector<std::string>> addresses_of(dns::source& dns, const std::string& host, bool& failed) {
  auto found = co_await outbound::lookup_host_addresses(dns, host, false, true);
  failed = found.a_failed && found.aaaa_failed;
  std::vector<std::string> out;
  for (const auto& a : found.addresses) out.push_back(a.to_string());
  co_return out;
}

asio::awaitable<void> audit_address(dns::source& dns, const domain_audit_options& opt, address_obs& a) {
  // The reverse name is the DNSBL query name under the reverse zone (monitor/blocklist: one spelling).
  const auto rev = monitor::dnsbl_query_name(a.ip, a.ip.find(':') == std::string::npos ? "in-addr.arpa" : "ip6.arpa");
  if (!rev) co_return;
  auto ptr = co_await dns.lookup(*rev, dns::rr_type::ptr);
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
    const auto qname = monitor::dnsbl_query_name(a.ip, lower(zone));
    if (!qname) continue;
    auto r = co_await dns.lookup(*qname, dns::rr_type::a);
    // The same verdict as mailfort's own blocklist monitor: 127.255.255.x answers are refusals, not listings.
    if (monitor::dnsbl_classify(r.st == dns::status::nxdomain, r.st == dns::status::ok, r.records) !=
        monitor::dnsbl_verdict::listed)
      continue;
    std::string codes;
    for (const auto& rd : r.records)
      if (auto v = dns::parse_a(rd)) codes += (codes.empty() ? "" : ", ") + ip_text_v4(*v);
    a.listed_in.push_back(zone + " (" + codes + ")");
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
  so.tls_versions = opt.tls_versions;  // the same version sweep and weak-cipher probe as `audit smtp`
  so.early_talker = false;
  so.injection = false;
  so.pipelining = false;
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

// The v=DMARC1 record at _dmarc.<domain> into m (policy_domain = domain when one is found).
asio::awaitable<void> read_dmarc(dns::source& dns, const std::string& domain, dmarc_obs& m) {
  const std::string name = "_dmarc." + domain;
  auto r = co_await dns.lookup(name, dns::rr_type::txt);
  std::vector<std::string> recs;
  for (auto& t : txt_records(r))
    if (dmarc::is_dmarc_record(t)) recs.push_back(t);
  if (is_failure(r)) {
    m.st = dmarc_obs::state::lookup_failed;
    m.error = dns::to_string(r.st);
    m.policy_domain = domain;
    co_return;
  }
  if (recs.empty()) {
    m.st = dmarc_obs::state::missing;
    co_return;
  }
  m.policy_domain = domain;
  m.record = recs.front();
  if (recs.size() > 1) {
    m.st = dmarc_obs::state::invalid;
    m.error = "more than one DMARC record";
    co_return;
  }
  auto p = dmarc::parse_record(recs.front());
  if (!p.value) {
    m.st = dmarc_obs::state::invalid;
    m.error = dmarc::to_string(p.error);
    co_return;
  }
  m.st = dmarc_obs::state::ok;
  m.p = dmarc::to_string(p.value->p);
  m.sp = dmarc::to_string(p.value->sp);
  m.pct = p.value->pct;
  m.has_rua = !p.value->rua.empty();
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

asio::awaitable<domain_observations> probe_domain(asio::any_io_executor ex, dns::source& dns, domain_audit_options opt,
                                                  report& rep) {
  domain_observations o;
  o.domain = lower(opt.domain);
  const std::int64_t now = rep.started_at;

  // MX
  auto mx = co_await dns.lookup(o.domain, dns::rr_type::mx);
  auto plan = outbound::plan_mx(o.domain, mx, [](std::uint32_t) { return 0u; });
  switch (plan.status) {
    case outbound::mx_status::null_mx:
      o.mx = domain_observations::mx_state::null_mx;
      break;
    case outbound::mx_status::no_domain:
      o.mx = domain_observations::mx_state::no_domain;
      rep.could_not_run = true;
      rep.failure = o.domain + " does not exist (NXDOMAIN)";
      co_return o;
    case outbound::mx_status::temp_error:
    case outbound::mx_status::bad_records:
      o.mx = domain_observations::mx_state::lookup_failed;
      break;
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
  // parallel_hosts workers take the hosts in MX order, so a domain with many MX hosts is bounded in both
  // connections at once and total time (each host's steps have their own deadlines).
  std::size_t next_host = 0;
  const std::size_t workers = std::min<std::size_t>(std::max<std::size_t>(opt.parallel_hosts, 1), o.hosts.size());
  std::size_t pending = workers;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  auto worker = [&]() -> asio::awaitable<void> {
    while (next_host < o.hosts.size()) {
      mx_obs& h = o.hosts[next_host++];
      std::exception_ptr failed;
      try {
        co_await audit_mx_host(ex, dns, opt, h, now);
      } catch (...) {
        failed = std::current_exception();
      }
      if (failed) h.smtp_error = "internal error in the MX probe";
    }
  };
  for (std::size_t i = 0; i < workers; ++i)
    asio::co_spawn(ex, worker(), [&](std::exception_ptr) {
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
    // _dmarc.<domain>; when no record is there, the organisational domain's (RFC 7489 6.6.3, PSL-based as
    // in auth/dmarc: organizational_domain()), whose sp= then applies.
    co_await read_dmarc(dns, o.domain, o.dmarc);
    if (o.dmarc.st == dmarc_obs::state::missing) {
      if (auto org = dmarc::organizational_domain(o.domain); org && *org != o.domain) {
        o.dmarc.org_domain = *org;
        dmarc_obs up;
        co_await read_dmarc(dns, *org, up);
        if (up.st != dmarc_obs::state::missing) {
          up.org_domain = *org;
          up.inherited = true;
          o.dmarc = std::move(up);
        }
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
        if (!common::istarts_with(t, "v=TLSRPTv1")) continue;
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
        if (!common::istarts_with(t, "v=STSv1")) continue;
        any_sts = true;
        s.record = t;
        rec = outbound::parse_sts_record(t);
        if (rec) break;
      }
      if (any_sts && !rec) {
        s.st = mta_sts_obs::state::record_invalid;
      } else if (rec) {
        // The delivery engine's own fetcher (outbound/sts_fetch): certificate verified for the policy host,
        // no redirects, 64 KiB cap, one deadline. Private addresses are allowed: the auditor reports on
        // whatever the domain publishes.
        outbound::sts_fetch_options fo;
        fo.port = opt.https_port;
        fo.ca_file = opt.ca_file;
        fo.allow_private = true;
        fo.timeout = opt.timeout;
        const std::string policy_host = outbound::sts_policy_host(o.domain);
        auto resp = co_await outbound::fetch_sts_policy(ex, dns, policy_host, fo);
        if (!resp.connected || !resp.certificate_valid) {
          s.st = mta_sts_obs::state::fetch_failed;
          s.detail = resp.failure.empty() ? policy_host + ": no connection" : resp.failure;
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
    if (h.smtp) rep.ran("domain.mx_smtp." + h.host, control_area::tls);
    if (h.smtp && !h.smtp->versions.empty()) {
      std::string sweep;
      for (const auto& v : h.smtp->versions)
        sweep += (sweep.empty() ? "TLS " : ", ") + v.version + " " +
                 (v.res == tls_version_probe::result::accepted  ? "accepted"
                  : v.res == tls_version_probe::result::refused ? "refused"
                                                                : "error");
      if (h.smtp->weak_cipher_accepted)
        sweep += std::string(", weak ciphers ") + (*h.smtp->weak_cipher_accepted ? "accepted" : "refused");
      if (h.smtp->static_rsa_accepted)
        sweep += std::string(", static RSA ") + (*h.smtp->static_rsa_accepted ? "accepted" : "refused");
      rep.ran("domain.mx_tls_versions." + h.host, control_area::tls, sweep);
    } else if (h.smtp && opt.tls_versions) {
      rep.skipped("domain.mx_tls_versions." + h.host, control_area::tls, "STARTTLS not offered");
    } else if (opt.smtp_probe)
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
  rep.started_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  domain_observations obs;
  try {
    asio::io_context io;
    dns::resolver res(io.get_executor(), ropts);
    std::exception_ptr err;
    asio::co_spawn(io, probe_domain(io.get_executor(), res, opt, rep),
                   [&](std::exception_ptr e, domain_observations o) {
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
    if (opt.smtp_probe && opt.mailbox_probe) {
      for (const auto& h : obs.hosts) {
        if (h.addresses.empty()) continue;
        mailbox_audit_options mo;
        mo.tls_name = h.host;
        mo.ca_file = opt.ca_file;
        mo.timeout = opt.timeout;
        mo.tls_versions = opt.tls_versions;
        add_mailbox_probes(rep, h.addresses.front().ip, opt.mailbox, mo, "." + h.host);
      }
    }
  }
  rep.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  rep.sort();
  return rep;
}

}  // namespace mailfort::audit
