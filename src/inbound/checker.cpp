// inbound/checker.cpp: SPF, DKIM and DMARC at end of data; Authentication-Results; DKIM signing.
// SPDX-License-Identifier: MIT
#include "inbound/checker.hpp"

#include "auth/auth_results.hpp"
#include "auth/dkim_sign.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/dmarc.hpp"
#include "auth/message.hpp"
#include "auth/spf.hpp"
#include "common/ascii.hpp"
#include "common/clock.hpp"
#include "log/logger.hpp"

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

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Runs on the CPU pool: one pass over the body (read from its file in chunks) feeds every body hash needed.
// A coroutine function, not a capturing lambda: parameters live in the coroutine frame.
asio::awaitable<std::optional<dkim::body_digests>> hash_body(std::vector<dkim::body_spec> specs,
                                                             const smtp::message_content* content) {
  dkim::body_digester d(specs);
  if (content->read_body([&d](std::string_view chunk) { d.update(chunk); })) co_return std::nullopt;
  co_return d.finish();
}

}  // namespace

checker::checker(const config::config& cfg, report_store* reports, asio::any_io_executor blocking)
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
      dk.push_back(r.domain + "=" + dkim::to_string(r.res));
    }
    fields["dkim"] = std::move(dk);
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
    entries.push_back(dmarc::ar_entry_for(d));
    fields["dmarc"] = dmarc::to_string(d.result);
    fields["dmarc_policy"] = dmarc::to_string(d.applied);
    if (!d.author_domain.empty()) fields["from_domain"] = d.author_domain;
    const bool overridden = !d.author_domain.empty() && std::find(a.dmarc_override.begin(), a.dmarc_override.end(),
                                                                  d.author_domain) != a.dmarc_override.end();
    std::string disposition = "none";
    if (a.dmarc_enforce && !overridden) {
      if (d.applied == dmarc::policy::reject) {
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
    if (reports_ && a.dmarc_reports && !d.policy_domain.empty()) {
      report_row row{common::utc_day(unix_now()),
                     d.policy_domain,
                     d.author_domain,
                     std::string(m.client_ip),
                     disposition,
                     d.dkim_aligned ? "pass" : "fail",
                     d.spf_aligned ? "pass" : "fail",
                     1};
      asio::post(blocking_, [store = reports_, row = std::move(row)] {
        try {
          store->record(row);
        } catch (const std::exception& e) {
          log::error("state_error", {{"error", e.what()}, {"table", "dmarc_report"}});
        }
      });
    }
  }

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

asio::awaitable<void> checker::sign(asio::any_io_executor, const smtp::inbound_message& m,
                                    smtp::message_content& content) {
  if (!cfg_.dkim.sign || keys_.empty()) co_return;
  auto parsed = auth::parse_message(content.head);
  if (!parsed.message) co_return;
  auto from = dmarc::from_domain(*parsed.message);
  if (!from.domain) co_return;
  if (std::none_of(keys_.begin(), keys_.end(), [&](const key_entry& k) { return k.domain == *from.domain; })) co_return;
  dkim::sign_options base;  // the server signs relaxed/relaxed: one body hash serves every key
  const dkim::body_spec spec{base.body_canon, dkim::hash_alg::sha256, std::nullopt};
  std::vector<dkim::body_spec> specs(1, spec);
  auto bodies = co_await asio::co_spawn(blocking_, hash_body(std::move(specs), &content), asio::use_awaitable);
  if (!bodies) {
    log::warning("dkim_sign_failed", {{"queue_id", m.queue_id}, {"reason", "message read error"}});
    co_return;
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
    log::info("dkim_signed",
              {{"queue_id", m.queue_id}, {"domain", k.domain}, {"selector", k.selector}, {"user", m.auth_user}});
  }
  content.head.insert(0, sigs);
}

}  // namespace mailfort::inbound
