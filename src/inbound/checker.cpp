// inbound/checker.cpp: SPF, DKIM and DMARC at end of data; Authentication-Results; DKIM signing.
// SPDX-License-Identifier: MIT
#include "inbound/checker.hpp"

#include "auth/auth_results.hpp"
#include "auth/dkim_sign.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/dmarc.hpp"
#include "auth/dmarc_report.hpp"
#include "auth/message.hpp"
#include "auth/spf.hpp"
#include "common/ascii.hpp"
#include "common/clock.hpp"
#include "log/logger.hpp"
#include "smtp/send_as.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/query.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <stdexcept>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// on Asio's awaitable frame allocator, as in auth/spf.cpp).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::inbound {

namespace asio = boost::asio;

namespace {

using common::unix_now;

// Runs on the CPU pool: one pass over the body (read from its file in chunks) feeds every body hash needed.
// A coroutine function, not a capturing lambda: parameters live in the coroutine frame.
asio::awaitable<std::optional<dkim::body_digests>> hash_body(std::vector<dkim::body_spec> specs,
                                                             const smtp::message_content* content) {
  dkim::body_digester d(specs);
  if (content->read_body([&d](std::string_view chunk) { d.update(chunk); })) co_return std::nullopt;
  co_return d.finish();
}

}  // namespace

checker::checker(const config::config& cfg, report::dmarc_store* reports, asio::any_io_executor blocking)
    : cfg_(cfg),
      authserv_id_(cfg.auth.authserv_id.empty() ? cfg.hostname : cfg.auth.authserv_id),
      reports_(reports),
      blocking_(std::move(blocking)) {
  for (const auto& k : cfg.dkim.keys) {
    auto loaded = dkim::load_signing_key(k.key);
    if (!loaded.key)
      throw std::runtime_error("dkim key " + k.key + " (" + k.domain + ", selector " + k.selector +
                               "): " + loaded.error);
    keys_.push_back(key_entry{common::to_lower(k.domain), common::to_lower(k.selector), std::move(*loaded.key)});
  }
}

asio::awaitable<smtp::inbound_verdict> checker::check(asio::any_io_executor ex, const smtp::inbound_message& m,
                                                      smtp::message_content& content) {
  smtp::inbound_verdict verdict;
  const auto& a = cfg_.auth;
  auto parsed = auth::parse_message(content.head);
  auto it = dns_.find(&asio::query(ex, asio::execution::context));
  dns::source* dns = it == dns_.end() ? nullptr : it->second;
  auth::ar_entries entries;
  nlohmann::json fields = {{"queue_id", m.queue_id}, {"session", m.session_id}, {"client_ip", m.client_ip}};

  // SPF: the MAIL FROM identity (HELO when MAIL FROM is null), RFC 7208 2.4.
  auth::spf::result spf_res;
  bool spf_done = false;
  bool dkim_temperror = false;
  std::optional<dmarc::result_kind> dmarc_result;
  // Issue 15 item 0: a DNS failure must not switch sender authentication off. An undecided outcome is
  // answered 451 4.7.5 (auth.temperror = "defer", the default) so the sender retries, instead of accepted.
  auto defer_temperror = [&](std::optional<dmarc::result_kind> dr) {
    const bool spf_temp = spf_done && spf_res.code == auth::spf::result_code::temperror;
    return a.temperror == "defer" && dmarc::temperror_undecided(dr, spf_temp, dkim_temperror);
  };
  auto temperror_verdict = [] {
    smtp::inbound_verdict v;
    v.action = smtp::inbound_verdict::kind::tempfail;
    v.code = 451;
    v.enhanced = "4.7.5";
    v.text = "Sender authentication (SPF/DKIM/DMARC) could not be completed: DNS lookup failed; try again later";
    v.rule = "auth_temperror";
    return v;
  };
  if (a.spf && dns) {
    if (auto ip = auth::spf::parse_ip(m.client_ip)) {
      spf_res =
          co_await auth::spf::check_mail_from(*dns, *ip, std::string(m.helo), std::string(m.sender), cfg_.hostname);
      spf_done = true;
      auth::ar_entry e{"spf", auth::spf::to_string(spf_res.code), {}, {}, {}};
      if (spf_res.identity == "helo")
        e.properties.push_back({"smtp", "helo", std::string(m.helo)});
      else
        e.properties.push_back({"smtp", "mailfrom", spf_res.sender});
      entries.push_back(std::move(e));
      fields["spf"] = auth::spf::to_string(spf_res.code);
    }
  }

  // DKIM: every signature (bounded), each its own dkim= entry.
  std::vector<std::string> dkim_passes;
  std::vector<dkim::verify_result> dkim_results;
  if (a.dkim && dns && parsed.message) {
    dkim::verify_options vo;
    vo.now = unix_now();
    vo.max_signatures = static_cast<std::size_t>(a.max_dkim_signatures);
    auto specs = dkim::body_specs(content.head, vo);
    std::optional<dkim::body_digests> bodies = dkim::body_digests{};
    if (!specs.empty())
      bodies = co_await asio::co_spawn(blocking_, hash_body(std::move(specs), &content), asio::use_awaitable);
    if (!bodies) {
      verdict.action = smtp::inbound_verdict::kind::tempfail;
      verdict.code = 451;
      verdict.enhanced = "4.3.0";
      verdict.text = "Local error reading the message; try again later";
      verdict.rule = "message_read_error";
      co_return verdict;
    }
    auto results = co_await dkim::verify(*dns, content.head, *bodies, vo);
    nlohmann::json dk = nlohmann::json::array();
    if (results.empty()) entries.push_back(auth::ar_entry{"dkim", "none", {}, {}, {}});
    for (const auto& r : results) {
      auth::ar_entry e{"dkim", dkim::to_string(r.res), {}, {}, {}};
      if (!r.reason.empty()) e.reason = r.reason;
      if (!r.domain.empty()) e.properties.push_back({"header", "d", r.domain});
      if (!r.selector.empty()) e.properties.push_back({"header", "s", r.selector});
      if (!r.b_prefix.empty()) e.properties.push_back({"header", "b", r.b_prefix});
      entries.push_back(std::move(e));
      if (r.res == dkim::result::pass) dkim_passes.push_back(r.domain);
      if (r.res == dkim::result::temperror) dkim_temperror = true;
      dk.push_back(r.domain + "=" + dkim::to_string(r.res));
    }
    fields["dkim"] = std::move(dk);
    dkim_results = std::move(results);
  }

  // DMARC.
  if (a.dmarc && dns) {
    dmarc::input in;
    if (parsed.message) {
      in.from = dmarc::from_domain(*parsed.message);
    } else {
      in.from.error = dmarc::from_error::unparseable;
    }
    in.spf.result = spf_done ? auth::spf::to_string(spf_res.code) : "none";
    in.spf.domain = spf_done ? spf_res.domain : std::string();
    in.dkim_passes = dkim_passes;
    in.mode = dmarc::discovery::psl;  // RFC 7489 as the issue asks: organizational domain from the PSL
    auto d = co_await dmarc::evaluate(*dns, in);
    dmarc_result = d.result;
    entries.push_back(dmarc::ar_entry_for(d));
    fields["dmarc"] = dmarc::to_string(d.result);
    fields["dmarc_policy"] = dmarc::to_string(d.applied);
    if (!d.author_domain.empty()) fields["from_domain"] = d.author_domain;
    const bool overridden = !d.author_domain.empty() && std::find(a.dmarc_override.begin(), a.dmarc_override.end(),
                                                                  d.author_domain) != a.dmarc_override.end();
    std::string disposition = "none";
    if (defer_temperror(dmarc_result)) {
      verdict = temperror_verdict();
      disposition = "defer";  // the sender retries; no report row until the outcome is known
    } else if (a.dmarc_enforce && !overridden) {
      if (d.applied == dmarc::policy::reject && m.role_only) {
        fields["role_exempt"] = true;  // to postmaster@/abuse@ only: delivered (RFC 5321 4.5.1, issue 20)
      } else if (d.applied == dmarc::policy::reject) {
        verdict.action = smtp::inbound_verdict::kind::reject;
        verdict.code = 550;
        verdict.enhanced = "5.7.1";
        verdict.text = d.author_domain.empty() ? "Message rejected: no single usable From: address (DMARC)"
                                               : "Message rejected by the DMARC policy of " +
                                                     (d.policy_domain.empty() ? d.author_domain : d.policy_domain);
        verdict.rule = "dmarc_reject";
        disposition = "reject";
      } else if (d.applied == dmarc::policy::quarantine) {
        verdict.action = smtp::inbound_verdict::kind::quarantine;
        verdict.folder = "Junk";
        disposition = "quarantine";
      }
    } else if (overridden && d.applied != dmarc::policy::none) {
      fields["dmarc_override"] = true;
    }
    fields["action"] = disposition;
    if (reports_ && a.dmarc_reports && !d.policy_domain.empty() && disposition != "defer") {
      // The raw results for the report's <auth_results> (RFC 7489 Appendix C: one spf, one dkim per signature).
      dmarc::raw_auth raw;
      if (spf_done) {
        raw.spf = {spf_res.domain, spf_res.identity == "helo" ? "helo" : "mfrom", auth::spf::to_string(spf_res.code)};
      } else {
        const auto at = m.sender.rfind('@');
        raw.spf.domain = at == std::string_view::npos ? std::string(m.helo) : std::string(m.sender.substr(at + 1));
        raw.spf.scope = at == std::string_view::npos ? "helo" : "mfrom";
      }
      for (const auto& r : dkim_results) raw.dkim.push_back({r.domain, r.selector, dkim::to_string(r.res)});
      report::dmarc_row row{common::utc_day(unix_now()),
                            d.policy_domain,
                            d.author_domain,
                            std::string(m.client_ip),
                            disposition,
                            d.dkim_aligned ? "pass" : "fail",
                            d.spf_aligned ? "pass" : "fail",
                            1,
                            dmarc::encode_raw_auth(raw)};
      asio::post(blocking_, [store = reports_, row = std::move(row)] {
        try {
          store->record(row);
        } catch (const std::exception& e) {
          log::error("state_error", {{"error", e.what()}, {"table", "dmarc_report"}});
        }
      });
    }
  }

  if (!(a.dmarc && dns) && defer_temperror(std::nullopt)) verdict = temperror_verdict();
  if (verdict.action == smtp::inbound_verdict::kind::tempfail) fields["action"] = "defer";

  // Our Authentication-Results replaces any that claim to be ours (bad-input 50).
  if (parsed.message) {
    auto claiming = auth::results_claiming(*parsed.message, authserv_id_);
    if (!claiming.empty()) {
      fields["forged_results_removed"] = claiming.size();
      content.head = auth::strip_fields(content.head, *parsed.message, claiming);
    }
  }
  if (a.spf || a.dkim || a.dmarc) content.head.insert(0, auth::format_authentication_results(authserv_id_, entries));
  log::info("sender_auth", std::move(fields));
  co_return verdict;
}

asio::awaitable<smtp::inbound_verdict> checker::submit(asio::any_io_executor, const smtp::inbound_message& m,
                                                       smtp::message_content& content) {
  smtp::inbound_verdict verdict;
  auto parsed = auth::parse_message(content.head);  // the From: check needs only the header section
  const bool user = !m.auth_user.empty();
  if (user) {
    // Issue 15 item 4: every header From: address must be one the login may send as (MAIL FROM was checked
    // by the session). A message without From: has no author to check and is not signed.
    auto refuse = [&](const std::string& why, const std::string& address) {
      verdict.action = smtp::inbound_verdict::kind::reject;
      verdict.code = 550;
      verdict.enhanced = "5.7.1";
      verdict.text = why;
      verdict.rule = "from_not_owned";
      log::info("submission_from_refused", {{"queue_id", m.queue_id},
                                            {"session", m.session_id},
                                            {"user", m.auth_user},
                                            {"from", common::printable(address, 320)}});
      return verdict;
    };
    if (!parsed.message) co_return refuse("Message rejected: the header section cannot be parsed", "");
    auto froms = dmarc::from_addresses(*parsed.message);
    if (!froms) co_return refuse("Message rejected: the From: header field cannot be read", "");
    for (const auto& f : *froms)
      if (!(send_as_ ? send_as_(m.auth_user, f) : smtp::may_send_as(m.auth_user, f)))
        co_return refuse("Message rejected: From: <" + common::printable(f, 320) +
                             "> is not an address you may send as (logged in as " + std::string(m.auth_user) + ")",
                         f);
  } else if (!m.trusted || !cfg_.dkim.sign_trusted) {
    co_return verdict;  // neither a user nor a trusted network we sign for
  }
  if (!cfg_.dkim.sign || keys_.empty() || !parsed.message) co_return verdict;
  auto from = dmarc::from_domain(*parsed.message);
  if (!from.domain) co_return verdict;
  if (std::none_of(keys_.begin(), keys_.end(), [&](const key_entry& k) { return k.domain == *from.domain; }))
    co_return verdict;
  dkim::sign_options base;  // the server signs relaxed/relaxed: one body hash serves every key
  const dkim::body_spec spec{base.body_canon, dkim::hash_alg::sha256, std::nullopt};
  std::vector<dkim::body_spec> specs(1, spec);
  auto bodies = co_await asio::co_spawn(blocking_, hash_body(std::move(specs), &content), asio::use_awaitable);
  if (!bodies) {
    // Not the sender's fault: the message goes out unsigned, as when a key fails to sign.
    log::warning("dkim_sign_failed", {{"queue_id", m.queue_id}, {"reason", "message read error"}});
    co_return verdict;
  }
  const std::string raw_bh = (*bodies)[spec].hash;
  std::string sigs;
  for (const auto& k : keys_) {
    if (k.domain != *from.domain) continue;
    dkim::sign_options o;
    o.domain = k.domain;
    o.selector = k.selector;
    o.timestamp = unix_now();
    std::string sig = dkim::sign_with_body_hash(content.head, raw_bh, k.key, o);
    if (sig.empty()) {
      log::warning("dkim_sign_failed", {{"queue_id", m.queue_id}, {"domain", k.domain}, {"selector", k.selector}});
      continue;
    }
    sigs += sig;
    nlohmann::json f = {{"queue_id", m.queue_id}, {"domain", k.domain}, {"selector", k.selector}};
    if (user)
      f["user"] = m.auth_user;
    else
      f["trusted_client"] = m.client_ip;
    log::info("dkim_signed", std::move(f));
  }
  content.head.insert(0, sigs);
  co_return verdict;
}

}  // namespace mailfort::inbound
