// daemon/daemon.cpp: startup (data dir, TLS, state, queue, delivery, listeners), signals, shutdown.
// SPDX-License-Identifier: MIT
// Signals: SIGTERM/SIGINT stop accepting and shut down (queued mail is already durable); SIGHUP reloads
// the TLS certificate and key (a bad pair keeps the old one and logs why) after rechecking the config file
// (errors or a critical finding keep everything as it runs: daemon/config_gate.hpp).
// NOT YET: privilege drop after binding (mailfort runs as the user that starts it; see docs/security.md).
#include "daemon/daemon.hpp"

#include "common/state_db.hpp"
#include "daemon/config_gate.hpp"
#include "daemon/control.hpp"
#include "daemon/periodic.hpp"
#include "daemon/watch.hpp"

#include "address/address_db.hpp"
#include "address/srs.hpp"
#include "address/settings.hpp"
#include "address/srs_secret.hpp"
#include "common/ascii.hpp"
#include "common/byte_budget.hpp"
#include "inbound/checker.hpp"
#include "report/dmarc_store.hpp"
#include "log/logger.hpp"
#include "filter/services.hpp"
#include "mailbox/dovecot_service.hpp"
#include "outbound/setup.hpp"
#include "outbound/sts_cache_store.hpp"
#include "report/dmarc_send.hpp"
#include "report/tlsrpt_send.hpp"
#include "report/tlsrpt_store.hpp"
#include "policy/guard.hpp"
#include "publish/sts_server.hpp"
#include "tls/cert_watch.hpp"
#include "queue/holds.hpp"
#include "queue/runner.hpp"
#include "queue/spool.hpp"
#include "sasl/user_db.hpp"
#include "smtp/server.hpp"
#include "smtp/send_as.hpp"
#include "tls/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace mailfort::daemon {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

class env_impl final : public smtp::session_env {
 public:
  env_impl(const config::config& cfg, sasl::user_db& users, address::address_db& addrs, policy::guard& guard,
           const common::byte_budget& inflight)
      : users_(users), addrs_(addrs), guard_(guard), inflight_(inflight), opts_(address::options_from(cfg)) {
    for (const auto& d : cfg.domains) domains_.push_back(common::to_lower(d));
  }
  // SRS (address.srs): the key from data_dir/srs.secret and our SRS domain; off when srs is false.
  void set_srs(address::srs::settings s) { srs_ = std::move(s); }
  const address::srs::settings& srs() const { return srs_; }
  srs_reversal reverse_srs(std::string_view a) const override {
    srs_reversal out;
    const auto at = a.rfind('@');
    if (srs_.secret.empty() || at == std::string_view::npos || !common::iequals(a.substr(at + 1), srs_.domain) ||
        !address::srs::looks_like_srs(a.substr(0, at)))
      return out;
    auto r = address::srs::reverse(a, srs_, static_cast<std::int64_t>(std::time(nullptr)));
    if (r.error == address::srs::reverse_error::ok) {
      out.result = srs_reversal::kind::ok;
      out.address = std::move(r.address);
    } else {
      out.result = srs_reversal::kind::invalid;
      out.reason = address::srs::reverse_error_name(r.error);
    }
    return out;
  }
  // Hosted domains: the config's and `mailfort domain add`'s (state.db).
  bool is_local_domain(std::string_view domain) const override {
    for (const auto& d : domains_)
      if (common::iequals(d, domain)) return true;
    try {
      return addrs_.snapshot()->domains.count(common::to_lower(domain)) != 0;
    } catch (const std::exception&) {
      return false;
    }
  }
  bool local_user_exists(std::string_view address) const override {
    try {
      return users_.exists(address);
    } catch (const std::exception&) {
      return false;
    }
  }
  local_resolution resolve_local(std::string_view address) const override {
    try {
      auto b = addrs_.snapshot();
      auto r = address::resolve(address, *b, opts_, [this, &b](std::string_view d) {
        for (const auto& x : domains_)
          if (x == d) return true;
        return b->domains.count(std::string(d)) != 0;
      });
      using k = local_resolution::kind;
      switch (r.result) {
        case address::outcome::ok:
          return {k::ok, std::move(r.recipients)};
        case address::outcome::loop:
          return {k::loop, {}};
        case address::outcome::too_deep:
          return {k::too_deep, {}};
        case address::outcome::too_many:
          return {k::too_many, {}};
        case address::outcome::unknown:
          break;
      }
    } catch (const std::exception& e) {
      log::error("state_error", {{"error", e.what()}, {"table", "aliases"}});
    }
    return {};
  }
  bool may_send_as(std::string_view login, std::string_view sender) const override {
    return send_as(login, sender);  // the one rule, shared with the header From: check
  }
  // Own address, subaddresses, and aliases the login is an allowed sender of (address/resolve.hpp).
  bool send_as(std::string_view login, std::string_view address) const {
    if (smtp::may_send_as(login, address)) return true;
    try {
      return address::may_send_as(login, address, *addrs_.snapshot(), opts_.delimiter);
    } catch (const std::exception&) {
      return false;
    }
  }
  // The runner's view of a local recipient: its mailbox and subaddress folder.
  std::pair<std::string, std::string> local_mailbox(const std::string& address) const {
    const auto at = address.rfind('@');
    const std::string local = address.substr(0, at == std::string::npos ? address.size() : at);
    try {
      auto b = addrs_.snapshot();
      if (b->users.count(address) != 0) return {local, ""};
      auto sub = address::split_subaddress(address, opts_.delimiter);
      if (!sub.base.empty() && b->users.count(sub.base) != 0)
        return {sub.base.substr(0, sub.base.rfind('@')), address::safe_folder_tag(sub.tag) ? sub.tag : ""};
    } catch (const std::exception&) {
    }
    return {local, ""};
  }
  std::string check_limit(limit_kind k, std::string_view client_ip, std::string_view user) const override {
    boost::system::error_code ec;
    auto a = asio::ip::make_address(std::string(client_ip), ec);
    if (ec) return {};
    std::string rule;
    switch (k) {
      case limit_kind::message:
        if (!guard_.allow_message(a, std::string(user), rule)) return rule;
        break;
      case limit_kind::recipient:
        if (!guard_.allow_recipient(a, std::string(user), rule)) return rule;
        break;
      case limit_kind::auth:
        if (!guard_.allow_auth(a)) return "auth_per_minute_per_ip";
        break;
    }
    return {};
  }
  bool inflight_room(std::uint64_t bytes) const override { return inflight_.room_for(bytes); }

 private:
  sasl::user_db& users_;
  address::address_db& addrs_;
  policy::guard& guard_;
  const common::byte_budget& inflight_;
  std::vector<std::string> domains_;
  address::options opts_;
  address::srs::settings srs_;
};

}  // namespace

std::unique_ptr<policy::guard> make_guard(const config::config& cfg, const common::clock& clock) {
  policy::ban_settings b;
  b.threshold = cfg.ban.enabled ? cfg.ban.threshold : 1e300;
  b.window = std::chrono::seconds(cfg.ban.window_s);
  b.base_duration = std::chrono::seconds(cfg.ban.duration_s);
  b.max_duration = std::chrono::seconds(cfg.ban.max_duration_s);
  b.ipv4_prefix = cfg.ban.ipv4_prefix;
  b.ipv6_prefix = cfg.ban.ipv6_prefix;
  b.ipv6_wide_prefix = cfg.ban.ipv6_wide_prefix;
  b.wide_factor = cfg.ban.wide_factor;
  b.history = std::chrono::seconds(cfg.ban.history_s);
  policy::limits_settings l;
  l.connections_per_minute_per_ip = cfg.ratelimit.connections_per_minute_per_ip;
  l.messages_per_hour_per_ip = cfg.ratelimit.messages_per_hour_per_ip;
  l.recipients_per_hour_per_ip = cfg.ratelimit.recipients_per_hour_per_ip;
  l.messages_per_hour_per_user = cfg.ratelimit.messages_per_hour_per_user;
  l.recipients_per_hour_per_user = cfg.ratelimit.recipients_per_hour_per_user;
  l.auth_per_minute_per_ip = cfg.ratelimit.auth_per_minute_per_ip;
  l.greeting_memory = std::chrono::seconds(cfg.greeting.remember_s);
  std::vector<std::string> allow = cfg.ban.allowlist;
  allow.insert(allow.end(), cfg.relay.trusted_networks.begin(), cfg.relay.trusted_networks.end());
  if (cfg.ratelimit.exempt_trusted) l.exempt_networks = allow;
  fs::create_directories(cfg.data_dir);
  return std::make_unique<policy::guard>(common::state_db_path(cfg.data_dir), b, l, allow, clock,
                                         cfg.state.backend == "redis" ? cfg.state.redis_url : std::string());
}

dns::resolver_options resolver_options(const config::config& cfg) {
  dns::resolver_options o;
  o.servers = cfg.dns.servers;
  o.root_anchor_file = cfg.dns.root_anchor;
  o.trust_anchor_file = cfg.dns.trust_anchor;
  o.resolve_special_zones = cfg.dns.special_zones;
  o.timeout = std::chrono::milliseconds(cfg.dns.timeout_ms);
  return o;
}

int run(const config::config& cfg, bool allow_insecure) {
  log::set_format(cfg.monitor.log_format == "syslog" ? log::format::syslog : log::format::json, cfg.hostname);
  try {
    fs::path data = cfg.data_dir;
    fs::create_directories(data);
    ::chmod(data.c_str(), 0700);

    tls::server_settings tset;
    tset.min_version = cfg.tls.min_version;
    if (cfg.tls.certificate.empty()) {
      fs::path dir = data / "tls";
      if (tls::ensure_self_signed(dir, cfg.hostname))
        log::warning("tls_self_signed_created",
                     {{"certificate", (dir / "cert.pem").string()},
                      {"note", "clients cannot verify a self-signed certificate; set tls.certificate and tls.key"}});
      tset.certificate = (dir / "cert.pem").string();
      tset.key = (dir / "key.pem").string();
    } else {
      tset.certificate = cfg.tls.certificate;
      tset.key = cfg.tls.key;
    }
    tls::context_holder tls_ctx(tset);
    try {
      auto secs = tls::seconds_to_expiry(tset.certificate);
      log::info("tls_certificate", {{"certificate", tset.certificate}, {"days_to_expiry", secs / 86400}});
      if (secs <= 0) log::error("tls_certificate_expired", {{"certificate", tset.certificate}});
    } catch (const std::exception& e) {
      log::warning("tls_certificate", {{"error", e.what()}});
    }

    sasl::user_db users(common::state_db_path(data));
    users.set_require_app_passwords(cfg.user.require_app_passwords);
    queue::hold_list holds(common::state_db_path(data));  // users held after an outbound_spike alert
    common::system_clock clock;
    auto guard = make_guard(cfg, clock);
    common::byte_budget inflight(cfg.limits.inflight_bytes);
    address::address_db addrs(common::state_db_path(data));  // domains and aliases (issue 20)
    env_impl env(cfg, users, addrs, *guard, inflight);
    if (cfg.address.srs) {
      address::srs::settings srs;
      srs.secret = address::load_or_create_srs_secret(data);
      srs.domain = common::to_lower(!cfg.address.srs_domain.empty()
                                        ? cfg.address.srs_domain
                                        : (cfg.domains.empty() ? cfg.hostname : cfg.domains.front()));
      srs.max_age_days = cfg.address.srs_max_age_days;
      env.set_srs(std::move(srs));
    }

    queue::spool spool(data / "queue");
    if (auto n = spool.clean_tmp(); n > 0) log::info("queue_tmp_cleaned", {{"files", n}});
    spool.start();
    std::vector<std::string> domains = cfg.domains;
    // Outbound delivery: its own event loop and validating resolver; the runner schedules it (docs/outbound.md).
    // TLS-RPT (RFC 8460): every TLS session outcome counted in state.db, reported daily (docs/outbound.md).
    // MTA-STS policies are cached in state.db too, so an enforce policy survives a restart.
    std::unique_ptr<report::tlsrpt_store> tlsrpt;
    if (cfg.outbound.tlsrpt) tlsrpt = std::make_unique<report::tlsrpt_store>(common::state_db_path(data));
    outbound::sts_cache_store sts_cache(common::state_db_path(data));
    // DNSSEC trouble must never switch sender authentication off (issue 15 item 0): when the upstream cannot
    // deliver DNSSEC, every resolver runs without trust anchors (SPF, DKIM, DMARC and MX lookups use the answers
    // unvalidated) and DANE is off; logged here and raised as the dnssec_not_validating alert below.
    const auto dprobe = dns::probe_dnssec(resolver_options(cfg));
    if (dprobe.unvalidated())
      log::warning(
          "dnssec_unavailable",
          {{"servers", cfg.dns.servers.empty() ? nlohmann::json("system resolver") : nlohmann::json(cfg.dns.servers)},
           {"sender_auth", "unvalidated answers (SPF, DKIM and DMARC do not require DNSSEC)"},
           {"dane", "off"},
           {"note",
            "the DNS upstream returned no validatable DNSSEC data for the trust anchor; use a "
            "DNSSEC-capable resolver (or an empty dns.servers and a local unbound) to get DANE back"}});
    auto remote = outbound::make_transport(cfg, dprobe.opts, [&](outbound::engine_settings& es) {
      if (tlsrpt)
        es.tlsrpt = [store = tlsrpt.get()](const report::tlsrpt_session& s) {
          store->record(report::tlsrpt_day(static_cast<std::int64_t>(std::time(nullptr))), s);
        };
      es.sts_load = [&sts_cache](const std::string& d) { return sts_cache.load(d); };
      es.sts_save = [&sts_cache](const std::string& d, const outbound::sts_cached_policy& p) { sts_cache.save(d, p); };
    });
    remote->start();
    auto rsettings = outbound::runner_settings_from(cfg);
    rsettings.held = [&holds](const std::string& user) { return holds.held(user); };  // outbound_spike holds
    rsettings.local_mailbox = [&env](const std::string& a) { return env.local_mailbox(a); };
    if (cfg.address.srs)
      rsettings.srs_forward = [&env](const std::string& sender) {
        return address::srs::forward(sender, env.srs(), static_cast<std::int64_t>(std::time(nullptr)));
      };
    queue::runner runner(
        spool, data / "mail", [&env](const std::string& d) { return env.is_local_domain(d); }, remote.get(),
        std::move(rsettings));
    runner.start();

    unsigned nthreads = cfg.server.threads > 0 ? static_cast<unsigned>(cfg.server.threads)
                                               : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> loops;
    std::vector<asio::io_context*> loop_ptrs;
    for (unsigned i = 0; i < nthreads; ++i) {
      loops.push_back(std::make_unique<asio::io_context>(1));
      loop_ptrs.push_back(loops.back().get());
    }
    asio::thread_pool cpu_pool(2);

    // One validating resolver per event loop (a resolver belongs to one thread), then the inbound checks.
    std::vector<std::unique_ptr<dns::resolver>> resolvers;
    const auto& ropts = dprobe.opts;
    for (auto& l : loops) resolvers.push_back(std::make_unique<dns::resolver>(l->get_executor(), ropts));
    if (ropts.root_anchor_file.empty() && ropts.trust_anchor_file.empty())
      log::warning("dnssec_disabled", {{"note", "dns.root_anchor is empty: no answer can be DNSSEC-secure"}});
    if (cfg.queue.discard)
      log::error("discard_mode", {{"note",
                                   "queue.discard is on: every accepted message is thrown away (benchmark "
                                   "null backend, never for mail)"}});
    std::unique_ptr<report::dmarc_store> reports;
    if (cfg.auth.dmarc && cfg.auth.dmarc_reports)
      reports = std::make_unique<report::dmarc_store>(common::state_db_path(data));
    inbound::checker checker(cfg, reports.get(), cpu_pool.get_executor());
    checker.set_send_as([&env](std::string_view login, std::string_view a) { return env.send_as(login, a); });
    for (std::size_t i = 0; i < loops.size(); ++i) checker.add_loop(*loops[i], *resolvers[i]);

    // Watching: metrics and alerts derived from the log event stream, served on the admin listener.
    watch_inputs wi;
    wi.queue_size = [&spool] { return spool.list().size(); };
    wi.queue = [&spool] {
      auto ids = spool.list();
      return nlohmann::json{{"messages", ids.size()}, {"ids", ids}};
    };
    wi.bans_active = [&guard] { return guard->active_bans(); };
    wi.bans = [&guard] {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& b : guard->list())
        arr.push_back({{"source", b.source}, {"until", b.until}, {"reason", b.reason}});
      return arr;
    };
    wi.certificate = tset.certificate;
    wi.holds = &holds;
    wi.on_release = [&runner] { runner.kick(); };
    watch watcher(cfg, clock, *loops[0], *resolvers[0], std::move(wi));
    // DANE needs a validating resolver; without one the transport logged dane_unavailable and turned DANE off,
    // and this raises an alert (no second DNSSEC self-check: it could wait dns.timeout_ms offline).
    const bool dane_lost = cfg.outbound.dane && cfg.relay.smarthost.empty() && !remote->settings().dane;
    if (dane_lost || dprobe.unvalidated()) watcher.set_dnssec_validating(false, true);

    smtp::server_deps deps;
    deps.cfg = &cfg;
    deps.tls = &tls_ctx;
    deps.users = &users;
    deps.spool = &spool;
    deps.env = &env;
    deps.cpu_pool = &cpu_pool;
    deps.on_queued = [&runner] { runner.kick(); };
    for (const auto& n : cfg.relay.trusted_networks) {
      auto c = common::cidr::parse(n);
      if (!c) throw std::runtime_error("bad trusted network '" + n + "'");
      deps.trusted_networks.push_back(*c);
    }
    deps.guard = guard.get();
    deps.inbound = &checker;
    deps.inflight = &inflight;
    deps.hold_message = [&holds](const std::string& id, const std::string& reason) {
      // The same table as held users (checked by the runner before any delivery of the message).
      holds.hold("queue:" + id, "milter quarantine: " + reason,
                 std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                     .count());
    };
    smtp::server srv(std::move(deps));
    srv.start(loop_ptrs);
    // MTA-STS policy hosting ([mta_sts] listen): HTTPS on loop 0 with the same certificate (src/publish/).
    auto sts_http = publish::start_sts_server(cfg, tls_ctx, loops[0]->get_executor());

    // Content filters ([filter] rspamd / clamav): rspamd, clamd and clamav-milter, supervised (src/filter/services).
    // Until one listens, its milter gets its default action (451 4.7.1).
    filter::filter_services filters(cfg);
    if (filters.any()) filters.start();

    // Mailbox access ([imap]): Dovecot with a generated configuration, supervised (src/mailbox/).
    std::unique_ptr<mailbox::dovecot_service> dovecot;
    if (std::string why; mailbox::imap_enabled(cfg, why)) {
      dovecot = std::make_unique<mailbox::dovecot_service>(cfg, common::state_db_path(data), guard.get());
      dovecot->start();
    } else if (cfg.imap.enabled == "true") {
      throw std::runtime_error("imap.enabled = true, but " + why);
    } else {
      log::info("imap_disabled", {{"reason", why}});
    }

    watcher.start();

    // The certificate files changed on disk (certbot, lego): reload without a restart (tls/cert_watch.hpp); a pair
    // that does not load keeps the serving certificate and raises certificate_reload_failed.
    auto cert_watch =
        std::make_unique<tls::cert_watcher>(loops[0]->get_executor(), tls_ctx, [&](bool ok, const std::string& err) {
          if (ok) {
            log::info("tls_reloaded", {{"certificate", tset.certificate}, {"trigger", "file_change"}});
            if (dovecot) dovecot->reload();
          } else {
            log::error("tls_reload_failed", {{"certificate", tset.certificate},
                                             {"error", err},
                                             {"trigger", "file_change"},
                                             {"note", "the previous certificate is still served"}});
          }
          watcher.set_certificate_reload_failed(!ok);
        });
    cert_watch->start();

    // SIGHUP and the control channel's `reload`, on loop 0. Returns whether the config file was admitted.
    auto reload = [&]() -> nlohmann::json {
      std::string err;
      // The file now has errors or a critical finding (logged): everything stays as it runs.
      bool admitted = admit_reload(cfg, allow_insecure);
      bool tls_ok = admitted && tls_ctx.reload(err);
      if (tls_ok)
        log::info("tls_reloaded", {{"certificate", tset.certificate}});
      else if (admitted)
        log::error("tls_reload_failed", {{"error", err}});
      if (dovecot) dovecot->reload();
      nlohmann::json r{{"ok", admitted}, {"admitted", admitted}, {"tls_reloaded", tls_ok}};
      if (!admitted) r["error"] = "the config file was refused (see config_refused in the log); nothing changed";
      if (admitted && !tls_ok) r["tls_error"] = err;
      return r;
    };

    // The control channel (daemon/control.hpp): the CLI asks this server instead of doing the work next to it.
    // Every request runs on loop 0, like the admin listener, so it sees and changes what the server runs.
    const auto started_at = std::chrono::steady_clock::now();
    auto on_loop0 = [&](std::function<nlohmann::json()> fn) {
      auto task = std::make_shared<std::packaged_task<nlohmann::json()>>(std::move(fn));
      auto fut = task->get_future();
      asio::post(*loops[0], [task] { (*task)(); });
      if (fut.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
        return nlohmann::json{{"ok", false}, {"error", "the server is busy or stopping"}};
      return fut.get();
    };
    control_server control(control_socket_path(data), [&](const control_request& req) -> nlohmann::json {
      const auto& a = req.args;
      auto str = [&a](const char* k) { return a.contains(k) && a[k].is_string() ? a[k].get<std::string>() : ""; };
      if (req.verb == "status")
        return on_loop0([&] {
          auto st = watcher.status();
          st["ok"] = true;
          st["pid"] = static_cast<long long>(::getpid());
          st["uptime_s"] =
              std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_at).count();
          return st;
        });
      if (req.verb == "flush") {
        runner.flush();  // the server's own runner: every pending recipient is retried in its next scan
        return {{"ok", true}, {"queue", spool.list().size()}, {"note", "the queue runner retries every message now"}};
      }
      if (req.verb == "reload") return on_loop0(reload);
      if (req.verb == "ban" || req.verb == "unban") {
        auto key = policy::parse_source(str("source"), cfg.ban.ipv4_prefix, cfg.ban.ipv6_prefix);
        if (!key) return {{"ok", false}, {"error", "'" + str("source") + "' is not an IP address or network"}};
        if (req.verb == "unban") {
          if (!guard->unban(*key)) return {{"ok", false}, {"error", *key + " is not banned"}, {"source", *key}};
          return {{"ok", true}, {"source", *key}};
        }
        long long secs =
            a.contains("duration_s") && a["duration_s"].is_number_integer() ? a["duration_s"].get<long long>() : 3600;
        if (secs <= 0) return {{"ok", false}, {"error", "duration_s must be positive"}};
        auto reason = str("reason");
        auto r = guard->ban(*key, std::chrono::seconds(secs), reason.empty() ? "manual" : reason);
        return {{"ok", true}, {"source", r.source}, {"until", r.until}};
      }
      if (req.verb == "release") {
        auto user = str("user");
        if (user.empty()) return {{"ok", false}, {"error", "no user"}};
        return on_loop0([&]() -> nlohmann::json {
          if (!watcher.release_hold(user)) return {{"ok", false}, {"error", user + " is not held"}};
          return {{"ok", true}, {"user", user}};
        });
      }
      return {{"ok", false}, {"error", "unknown verb"}};
    });

    auto signals = std::make_unique<asio::signal_set>(*loops[0], SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        signals->async_wait(on_signal);
        return;
      }
      log::info("stopping", {{"signal", sig}});
      watcher.stop();
      srv.stop();
      if (sts_http) sts_http->stop();
      cert_watch->stop();
      for (auto& l : loops) l->stop();
    };
    signals->async_wait(on_signal);
    ::signal(SIGPIPE, SIG_IGN);

    // `mailfort ban` goes through the control channel (immediate); bans written to state.db by another process
    // (an offline `mailfort ban`, another node) take effect within a second: the guard's own
    // thread reads what changed, writes new bans and sweeps, off the event loops.
    guard->start();
    auto refresh =
        std::make_unique<periodic>(loops[0]->get_executor(), std::chrono::seconds(1), [&] { watcher.tick(); });
    refresh->start();

    // The daily report runs (blocking DNS, SQLite and spool stores: on the CPU pool, one run at a time each):
    // TLS-RPT reports of completed days every outbound.tlsrpt_interval_s, DMARC aggregate reports (RFC 7489 7.2)
    // every auth.dmarc_report_interval_s.
    auto report_run = [&](const char* failed_event, auto send) {
      return one_at_a_time(cpu_pool, [&, failed_event, send] {
        try {
          asio::io_context rio;
          dns::resolver r(rio.get_executor(), dprobe.opts);
          if (send(r, static_cast<std::int64_t>(std::time(nullptr))).reports > 0) runner.kick();
        } catch (const std::exception& e) {
          log::error(failed_event, {{"error", e.what()}});
        }
      });
    };
    auto tlsrpt_timer =
        std::make_unique<periodic>(loops[0]->get_executor(), std::chrono::seconds(cfg.outbound.tlsrpt_interval_s),
                                   report_run("tlsrpt_send_failed", [&](dns::resolver& r, std::int64_t now) {
                                     return report::send_tlsrpt_reports(cfg, *tlsrpt, r, spool, now, false);
                                   }));
    if (tlsrpt) tlsrpt_timer->start();
    auto dmarc_report_timer =
        std::make_unique<periodic>(loops[0]->get_executor(), std::chrono::seconds(cfg.auth.dmarc_report_interval_s),
                                   report_run("dmarc_report_send_failed", [&](dns::resolver& r, std::int64_t now) {
                                     return report::send_dmarc_reports(cfg, *reports, r, spool, now, false);
                                   }));
    if (reports) dmarc_report_timer->start();

    control.start();
    log::info("ready", {{"hostname", cfg.hostname}, {"data_dir", cfg.data_dir}, {"threads", nthreads}});
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < nthreads; ++i) threads.emplace_back([&, i] { loops[i]->run(); });
    loops[0]->run();
    control.stop();  // before the loops it posts to are gone; removes the socket
    for (auto& l : loops) l->stop();
    for (auto& t : threads) t.join();
    cpu_pool.join();
    if (dovecot) dovecot->stop();
    filters.stop();
    // Tear down in dependency order: suspended connection coroutines are destroyed with their loops
    // and still reference the server (connection counts) and the spool, so those must outlive them.
    signals.reset();
    refresh.reset();  // timers must die before their io_context
    cert_watch.reset();
    tlsrpt_timer.reset();
    dmarc_report_timer.reset();
    srv.release_acceptors();
    sts_http.reset();
    watcher.release();
    resolvers.clear();  // their descriptors belong to the loops; lookups still suspended are orphaned safely
    loops.clear();
    runner.stop();
    remote->stop();  // deliveries in flight are abandoned: their queue files still say pending
    spool.stop();
    log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log::error("startup_failed", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace mailfort::daemon
