// outbound/delivery.cpp: routing, TLS policy and host fallback for one message and one domain (see delivery.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/delivery.hpp"

#include "common/clock.hpp"
#include "common/host_port.hpp"
#include "dns/records.hpp"
#include "log/logger.hpp"
#include "outbound/dane.hpp"
#include "outbound/host_addresses.hpp"
#include "outbound/mx.hpp"
#include "outbound/sts_fetch.hpp"

#include <cctype>
#include <chrono>
#include <ctime>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using common::unix_now;

std::string common_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

rcpt_outcome temp(std::string code, std::string reason) {
  rcpt_outcome o;
  o.status = rcpt_status::temp;
  o.code = std::move(code);
  o.reply = std::move(reason);
  return o;
}
rcpt_outcome perm(std::string code, std::string reason) {
  rcpt_outcome o;
  o.status = rcpt_status::perm;
  o.code = std::move(code);
  o.reply = std::move(reason);
  return o;
}

std::string endpoint_text(const std::string& host, const asio::ip::address& a, std::uint16_t port) {
  return host + "[" + a.to_string() + "]:" + std::to_string(port);
}

}  // namespace

engine::engine(asio::any_io_executor ex, dns::source& dns, engine_settings s)
    : ex_(ex), dns_(dns), s_(std::move(s)), rng_(std::random_device{}()) {}

asio::awaitable<std::vector<asio::ip::address>> engine::addresses(const std::string& host, bool check_private,
                                                                  std::string& why) {
  std::vector<asio::ip::address> out;
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    // An MX "name" that reads as an address ("127.0.0.1" is a valid DNS name) gets the same address check:
    // otherwise a hostile MX record could point us at our own loopback or LAN.
    if (check_private) {
      auto cls = literal.is_v4() ? classify(literal.to_v4().to_bytes()) : classify(literal.to_v6().to_bytes());
      if (!deliverable(cls, s_.allow_private)) {
        why = host + " is a loopback/private/reserved address (outbound.allow_private is off)";
        co_return out;
      }
    }
    out.push_back(literal);
    co_return out;
  }
  auto found = co_await lookup_host_addresses(dns_, host, check_private, s_.allow_private);
  out = std::move(found.addresses);
  const bool dns_failed = found.a_failed || found.aaaa_failed, skipped = found.private_skipped;
  if (out.empty())
    why = skipped      ? "every address of " + host + " is loopback/private/reserved (outbound.allow_private is off)"
          : dns_failed ? "address lookup of " + host + " failed"
                       : "no address for " + host;
  co_return out;
}

asio::awaitable<std::optional<sts_policy>> engine::mta_sts_policy(const std::string& domain, std::string& note,
                                                                  bool& fetch_failed) {
  sts_discovery_input in;
  in.domain = domain;
  in.now = unix_now();
  auto norm = sts_normalize_domain(domain);
  if (!norm) co_return std::nullopt;
  if (s_.sts_load && sts_loaded_.insert(*norm).second && !sts_cache_.contains(*norm)) {
    try {
      if (auto c = s_.sts_load(*norm)) {
        sts_cache_[*norm] = *c;
        log::info("mta_sts_policy_loaded", {{"domain", *norm},
                                            {"mode", to_string(c->policy.mode)},
                                            {"id", c->id},
                                            {"fetched_at", c->fetched_at},
                                            {"expired", c->expired(in.now)}});
      }
    } catch (const std::exception& e) {
      log::error("mta_sts_cache_error", {{"domain", *norm}, {"error", e.what()}});
    }
  }
  if (auto it = sts_cache_.find(*norm); it != sts_cache_.end()) in.cached = it->second;
  for (int step = 0; step < 4; ++step) {
    auto r = sts_discover(in);
    switch (r.status) {
      case sts_status::lookup_txt:
        in.txt = txt_answer_from(co_await dns_.lookup(sts_txt_name(*norm), dns::rr_type::txt));
        continue;
      case sts_status::fetch: {
        sts_fetch_options fo;
        fo.port = s_.mta_sts_port;
        fo.ca_file = s_.ca_file;
        fo.allow_private = s_.allow_private;
        in.https = co_await fetch_sts_policy(ex_, dns_, sts_policy_host(*norm), fo);
        continue;
      }
      case sts_status::valid:
        if (r.store_in_cache && r.policy) {
          sts_cache_[*norm] = sts_cached_policy{r.record_id, *r.policy, in.now};
          if (s_.sts_save) {
            try {
              s_.sts_save(*norm, sts_cache_[*norm]);
            } catch (const std::exception& e) {
              log::error("mta_sts_cache_error", {{"domain", *norm}, {"error", e.what()}});
            }
          }
          log::info("mta_sts_policy", {{"domain", *norm},
                                       {"mode", to_string(r.policy->mode)},
                                       {"max_age", r.policy->max_age},
                                       {"id", r.record_id}});
        }
        note = r.reason;
        co_return r.policy;
      case sts_status::fetch_error:
        // RFC 8461 5.1: a record but no policy and nothing cached: deliver as without MTA-STS (logged).
        log::warning("mta_sts_fetch_failed", {{"domain", *norm}, {"reason", r.reason}});
        note = r.reason;
        fetch_failed = true;
        co_return std::nullopt;
      case sts_status::none:
        note = r.reason;
        co_return std::nullopt;
    }
  }
  co_return std::nullopt;
}

void engine::report(const tlsrpt_session& s) const {
  if (!s_.tlsrpt) return;
  try {
    s_.tlsrpt(s);
  } catch (const std::exception& e) {
    log::error("tlsrpt_record_failed", {{"domain", s.policy_domain}, {"error", e.what()}});
  }
}

asio::awaitable<transaction_result> engine::try_host(const delivery_request& rq, const target& t, transaction tx,
                                                     std::string& relay, const tlsrpt_session* report_as) {
  transaction_result last;
  last.host_failed = true;
  std::size_t tried = 0;
  for (const auto& addr : t.addrs) {
    if (tried++ >= s_.max_addresses) break;
    client_options co;
    co.timeouts = s_.timeouts;
    co.source = addr.is_v4() ? s_.source_v4 : s_.source_v6;
    client_connection conn(ex_, co);
    relay = endpoint_text(t.host, addr, t.port);
    if (!co_await conn.connect(tcp::endpoint(addr, t.port))) {
      last.host_failed = true;
      last.reason = conn.error_text();
      log::warning("outbound_host_failed",
                   {{"queue_id", rq.queue_id}, {"domain", rq.domain}, {"relay", relay}, {"reason", last.reason}});
      continue;
    }
    last = co_await run_transaction(conn, tx);
    if (report_as && (!last.tls_failure.empty() || last.tls_phase_done)) {
      // One TLS session outcome for TLS-RPT (RFC 8460 4.3); failures before STARTTLS (TCP, greeting) are not.
      tlsrpt_session rs = *report_as;
      rs.receiving_mx = t.host;
      rs.receiving_ip = addr.to_string();
      rs.sending_ip = conn.local_address();
      if (!last.tls_failure.empty()) {
        rs.result_type = last.tls_failure;
        rs.additional_info = last.reason.substr(0, 200);
      } else if (!last.tls) {
        rs.result_type = "starttls-not-supported";  // plaintext: only possible without a policy
      } else if (rs.policy_type == "sts" && tx.tls == tls_requirement::opportunistic && !last.tls_verified) {
        rs.result_type = tlsrpt_result_for_verify_error(last.tls_note);  // MTA-STS testing: reported only
        rs.additional_info = last.tls_note.substr(0, 200);
      }
      report(rs);
    }
    if (!last.host_failed) co_return last;
    log::warning("outbound_host_failed", {{"queue_id", rq.queue_id},
                                          {"domain", rq.domain},
                                          {"relay", relay},
                                          {"reason", last.reason},
                                          {"tls_required", to_string(tx.tls)}});
  }
  co_return last;
}

asio::awaitable<delivery_result> engine::deliver(const delivery_request& rq) {
  delivery_result out;
  const std::size_t n = rq.recipients.size();
  transaction tx;
  tx.helo = s_.helo;
  tx.sender = rq.sender;
  tx.recipients = rq.recipients;
  tx.message = rq.message;
  tx.eight_bit = rq.eight_bit;
  tx.smtputf8 = rq.smtputf8;
  tx.now = unix_now();
  tx.tlsp.ca_file = s_.ca_file;

  auto finish = [&](const transaction_result& r, const std::string& relay, const std::string& policy) {
    out.rcpts = r.rcpts;
    out.relay = relay;
    out.tls = r.tls ? r.tls_version + " " + r.tls_cipher : "";
    out.policy = policy;
    if (r.tls)
      log::info("outbound_tls", {{"queue_id", rq.queue_id},
                                 {"relay", relay},
                                 {"version", r.tls_version},
                                 {"cipher", r.tls_cipher},
                                 {"verified", r.tls_verified},
                                 {"policy", policy},
                                 {"note", r.tls_note}});
    else
      log::warning("outbound_plaintext", {{"queue_id", rq.queue_id},
                                          {"relay", relay},
                                          {"policy", policy},
                                          {"reason", "the server did not offer STARTTLS and no policy requires TLS"}});
  };

  // ---- smart host --------------------------------------------------------------------------------------
  if (!s_.smarthost.empty()) {
    target t;
    auto hp = common::parse_host_port(s_.smarthost);
    if (hp) {
      t.host = hp->host;
      t.port = hp->port.value_or(25);
    } else {
      out.rcpts.assign(n, temp("4.3.5", "relay.smarthost '" + s_.smarthost + "' is not host:port"));
      co_return out;
    }
    std::string why;
    t.addrs = co_await addresses(t.host, false, why);  // the admin chose it: private addresses are fine
    if (t.addrs.empty()) {
      out.rcpts.assign(n, temp("4.4.4", why));
      co_return out;
    }
    tx.tlsp.sni = t.host;
    tx.tlsp.verify_name = t.host;
    if (s_.smarthost_auth) {
      tx.tls = tls_requirement::verify;  // credentials go only to a server that proved its name
      tx.auth = s_.smarthost_auth;
    }
    std::string relay;
    auto r = co_await try_host(rq, t, tx, relay);
    if (r.host_failed) {
      out.rcpts.assign(n, temp("4.4.1", "smart host " + relay + ": " + r.reason));
      out.relay = relay;
      co_return out;
    }
    finish(r, relay, "smarthost");
    co_return out;
  }

  // ---- MX routing --------------------------------------------------------------------------------------
  auto mx_lookup = co_await dns_.lookup(rq.domain, dns::rr_type::mx);
  auto plan = plan_mx(rq.domain, mx_lookup,
                      [this](std::uint32_t k) { return std::uniform_int_distribution<std::uint32_t>(0, k - 1)(rng_); });
  switch (plan.status) {
    case mx_status::ok:
      break;
    case mx_status::null_mx:
      out.rcpts.assign(n, perm("5.1.10", "the domain " + rq.domain + " accepts no mail (null MX, RFC 7505)"));
      co_return out;
    case mx_status::no_domain:
      out.rcpts.assign(n, perm("5.1.2", "the domain " + rq.domain + " does not exist (NXDOMAIN)"));
      co_return out;
    case mx_status::temp_error:
    case mx_status::bad_records:
      out.rcpts.assign(n,
                       temp("4.4.3", std::string("MX lookup of ") + rq.domain + " failed (" + to_string(plan.status) +
                                         (mx_lookup.error.empty() ? "" : ": " + mx_lookup.error) + ")"));
      co_return out;
  }
  const bool mx_secure = mx_lookup.sec == dns::dnssec::secure;

  std::optional<sts_policy> sts;
  std::string sts_note;
  bool sts_fetch_failed = false;
  if (s_.mta_sts) sts = co_await mta_sts_policy(rq.domain, sts_note, sts_fetch_failed);
  const bool enforce = sts && sts->mode == sts_mode::enforce;
  const bool testing = sts && sts->mode == sts_mode::testing;

  // TLS-RPT: what each session is counted under (RFC 8460 4.4).
  tlsrpt_session base;
  base.policy_domain = common_lower(rq.domain);
  base.policy_type = "no-policy-found";
  tlsrpt_session sts_base = base;
  if (sts && sts->mode != sts_mode::none) {
    sts_base.policy_type = "sts";
    sts_base.policy_string = {"version: STSv1", std::string("mode: ") + to_string(sts->mode)};
    for (const auto& m : sts->mx) sts_base.policy_string.push_back("mx: " + m);
    sts_base.policy_string.push_back("max_age: " + std::to_string(sts->max_age));
    sts_base.mx_host = sts->mx;
  }
  if (sts_fetch_failed) {
    tlsrpt_session f = base;
    f.policy_type = "sts";
    f.result_type = "sts-policy-fetch-error";
    f.additional_info = sts_note.substr(0, 200);
    report(f);
  }

  std::vector<std::string> reasons;
  std::size_t hosts_tried = 0;
  for (const auto& h : plan.hosts) {
    if (hosts_tried >= s_.max_hosts) break;
    if (enforce && !mx_allowed(*sts, h.host)) {
      reasons.push_back(h.host + ": not listed in the MTA-STS policy of " + rq.domain);
      log::warning("mta_sts_mx_mismatch", {{"queue_id", rq.queue_id}, {"domain", rq.domain}, {"mx", h.host}});
      tlsrpt_session f = sts_base;
      f.result_type = "validation-failure";
      f.receiving_mx = h.host;
      f.additional_info = "MX host not listed in the MTA-STS policy";
      report(f);
      continue;
    }
    ++hosts_tried;
    target t;
    t.host = h.host;
    t.port = s_.port;
    transaction htx = tx;
    htx.tlsp.sni = h.host;
    std::string policy = "none";

    // DANE: only from a DNSSEC-secure chain (MX answer and TLSA answer both secure).
    if (s_.dane && mx_secure) {
      auto tl = co_await dns_.lookup("_" + std::to_string(t.port) + "._tcp." + h.host, dns::rr_type::tlsa);
      if (tl.sec == dns::dnssec::bogus || tl.st == dns::status::servfail || tl.st == dns::status::timeout) {
        // RFC 7672 2.2: a failed TLSA lookup must not degrade to unauthenticated delivery.
        reasons.push_back(h.host + ": TLSA lookup failed (" + std::string(dns::to_string(tl.st)) +
                          (tl.why_bogus.empty() ? "" : ", " + tl.why_bogus) + ")");
        log::warning("dane_lookup_failed", {{"queue_id", rq.queue_id}, {"mx", h.host}, {"reason", reasons.back()}});
        tlsrpt_session f = base;
        f.policy_type = "tlsa";
        f.mx_host = {h.host};
        f.result_type = tl.sec == dns::dnssec::bogus ? "dnssec-invalid" : "dane-required";
        f.receiving_mx = h.host;
        f.additional_info = reasons.back().substr(0, 200);
        report(f);
        continue;
      }
      if (tl.st == dns::status::ok && tl.sec == dns::dnssec::secure && !tl.records.empty()) {
        for (const auto& rd : tl.records)
          if (auto rec = dns::parse_tlsa(rd)) htx.tlsa.push_back(std::move(*rec));
        htx.tls = tls_requirement::dane;
        htx.dane_names = {h.host};
        if (h.host != rq.domain) htx.dane_names.push_back(rq.domain);
        policy = "dane";
      }
    }
    if (policy == "none" && enforce) {
      htx.tls = tls_requirement::verify;
      htx.tlsp.verify_name = h.host;
      policy = "mta-sts";
    } else if (policy == "none" && testing) {
      htx.tlsp.verify_name = h.host;
      policy = "mta-sts-testing";
    }

    std::string why;
    t.addrs = co_await addresses(h.host, true, why);
    if (t.addrs.empty()) {
      reasons.push_back(why);
      continue;
    }
    tlsrpt_session as = policy == "none" ? base : policy == "dane" ? base : sts_base;
    if (policy == "dane") {
      as.policy_type = "tlsa";
      for (const auto& rec : htx.tlsa) as.policy_string.push_back(tlsa_to_text(rec));
      as.mx_host = {h.host};
    }
    std::string relay;
    auto r = co_await try_host(rq, t, htx, relay, &as);
    if (r.host_failed) {
      reasons.push_back(relay + ": " + r.reason);
      continue;
    }
    if (policy == "mta-sts-testing" && (!r.tls || !r.tls_verified))
      log::warning("mta_sts_testing_failure", {{"queue_id", rq.queue_id},
                                               {"domain", rq.domain},
                                               {"relay", relay},
                                               {"reason", r.tls ? r.tls_note : "no TLS"}});
    finish(r, relay, policy);
    co_return out;
  }
  std::string all;
  for (const auto& r : reasons) all += (all.empty() ? "" : "; ") + r;
  if (all.empty()) all = "no MX host could be tried";
  if (enforce && hosts_tried == 0) all = "no MX host of " + rq.domain + " matches its MTA-STS policy (" + all + ")";
  out.rcpts.assign(n, temp("4.4.1", all));
  co_return out;
}

}  // namespace mailfort::outbound
