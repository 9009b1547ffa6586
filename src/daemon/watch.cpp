// daemon/watch.cpp: monitoring wiring (see watch.hpp).
// SPDX-License-Identifier: MIT
#include "daemon/watch.hpp"

#include "log/logger.hpp"
#include "monitor/blocklist.hpp"
#include "outbound/dane.hpp"
#include "outbound/mx.hpp"
#include "publish/ptr_check.hpp"
#include "smtp/server.hpp"
#include "tls/server_context.hpp"

#include <arpa/inet.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/udp.hpp>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>

namespace mailfort::daemon {
namespace asio = boost::asio;

namespace {

const char* severity_name(monitor::severity s) { return monitor::to_string(s); }

// Global unicast only, by the same classification outbound delivery uses for MX addresses.
bool is_public_address(const asio::ip::address& a) {
  auto c = a.is_v4() ? outbound::classify(a.to_v4().to_bytes()) : outbound::classify(a.to_v6().to_bytes());
  return c == outbound::address_class::global;
}
}  // namespace

std::string watch::own_public_ip(const config::config& cfg) {
  if (!cfg.monitor.public_ip.empty()) return cfg.monitor.public_ip;
  // connect() on a UDP socket sends nothing: it only asks the kernel which source address the default route
  // would use (192.0.2.1 is TEST-NET-1, never contacted).
  try {
    asio::io_context io;
    asio::ip::udp::socket s(io);
    s.connect({asio::ip::make_address("192.0.2.1"), 9});
    auto a = s.local_endpoint().address();
    if (is_public_address(a)) return a.to_string();
  } catch (const std::exception&) {
  }
  return {};
}

watch::watch(const config::config& cfg, const common::clock& clock, asio::io_context& loop0, dns::source& dns0,
             watch_inputs in)
    : cfg_(cfg), clock_(clock), loop0_(loop0), dns0_(dns0), in_(std::move(in)) {
  monitor::standard_sources src;
  src.queue_messages = [this] { return static_cast<double>(in_.queue_size ? in_.queue_size() : 0); };
  src.bans_active = [this] { return static_cast<double>(in_.bans_active ? in_.bans_active() : 0); };
  src.alerts_active = [this] { return static_cast<double>(alerts_.active().size()); };
  src.certificate_expiry_seconds = [this] {
    std::vector<monitor::sample> out;
    try {
      out.push_back({{in_.certificate}, static_cast<double>(tls::seconds_to_expiry(in_.certificate))});
    } catch (const std::exception&) {
    }
    return out;
  };
  src.blocklist_listed = [this] {
    std::lock_guard lk(bl_mu_);
    std::vector<monitor::sample> out;
    for (const auto& [zone, v] : blocklist_state_) out.push_back({{zone}, v});
    return out;
  };
  metrics_ = std::make_unique<monitor::standard_metrics>(registry_, MAILFORT_VERSION_STRING, std::move(src));

  monitor::rate_settings rs;
  rs.per_subject = static_cast<std::size_t>(cfg.monitor.auth_failures_per_ip);
  rs.total = static_cast<std::size_t>(cfg.monitor.auth_failures_total);
  auth_failures_ = std::make_unique<monitor::rate_alert>(alerts_, rs);
  monitor::threshold_settings qs;
  qs.raise_at = cfg.monitor.queue_size_alert > 0 ? cfg.monitor.queue_size_alert : 1e300;
  queue_size_ = std::make_unique<monitor::threshold_alert>(alerts_, qs);
  monitor::growth_settings gs;
  gs.raise_growth = cfg.monitor.queue_growth_alert > 0 ? cfg.monitor.queue_growth_alert : 1e300;
  gs.window = std::chrono::seconds(cfg.monitor.queue_growth_window_s);
  queue_growth_ = std::make_unique<monitor::growth_alert>(alerts_, gs);
  cert_ = std::make_unique<monitor::cert_expiry_alert>(alerts_);
  monitor::flag_settings fs;
  fs.name = "blocklist_listed";
  fs.sev = monitor::severity::critical;
  fs.message = "our sending address is listed on DNS blocklist";
  blocklisted_ = std::make_unique<monitor::flag_alert>(alerts_, fs);
  monitor::outbound_settings os;
  os.multiplier = cfg.monitor.outbound_spike_multiplier;
  os.floor = static_cast<std::uint64_t>(cfg.monitor.outbound_spike_floor);
  outbound_ = std::make_unique<monitor::outbound_alert>(alerts_, os);
  monitor::flag_settings ts;
  ts.name = "dane_tlsa_mismatch";
  ts.sev = monitor::severity::critical;
  ts.message = "our certificate matches none of the DNSSEC-signed TLSA records published for";
  tlsa_mismatch_ = std::make_unique<monitor::flag_alert>(alerts_, ts);
  monitor::flag_settings ds;
  ds.name = "dnssec_not_validating";
  ds.sev = monitor::severity::warning;
  ds.message =
      "the resolver does not validate DNSSEC (no trust anchor, or the upstream strips DNSSEC): outbound DANE is "
      "off; SPF, DKIM and DMARC use the answers unvalidated";
  dnssec_off_ = std::make_unique<monitor::flag_alert>(alerts_, ds);
  monitor::flag_settings cr;
  cr.name = "certificate_reload_failed";
  cr.sev = monitor::severity::critical;
  cr.message =
      "the certificate files changed but the new pair does not load (see tls_reload_failed in the log); the previous "
      "certificate is still served and will expire";
  cert_reload_ = std::make_unique<monitor::flag_alert>(alerts_, cr);
  monitor::flag_settings pm;
  pm.name = "ptr_mismatch";
  pm.sev = monitor::severity::warning;
  pm.message = "our address has no PTR naming the hostname that resolves back to it (mail may be refused)";
  ptr_mismatch_ = std::make_unique<monitor::flag_alert>(alerts_, pm);
  monitor::flag_settings fl;
  fl.name = "dovecot_flapping";
  fl.sev = monitor::severity::critical;
  fl.message = "Dovecot keeps dying (5 deaths in 5 minutes: IMAP/POP3 mostly down); see data_dir/dovecot/dovecot.log";
  dovecot_flapping_ = std::make_unique<monitor::flag_alert>(alerts_, fl);
  events_ = std::make_unique<monitor::event_metrics>(*metrics_, clock_, auth_failures_.get(), outbound_.get());
  events_->set_flag_alerts(dovecot_flapping_.get());
  // rspamd, clamd and clamav-milter run by `mailfort serve` ([filter] rspamd / clamav): the same kind of alert.
  for (const auto& [process, what] : {std::pair<const char*, const char*>{"rspamd", "rspamd (spam filter)"},
                                      {"clamd", "clamd (virus scanner)"},
                                      {"clamav_milter", "clamav-milter (virus filter)"}}) {
    monitor::flag_settings pf;
    pf.name = std::string(process) + "_flapping";
    pf.sev = monitor::severity::critical;
    pf.message = std::string(what) +
                 " keeps dying (5 deaths in 5 minutes): mail it filters gets its milter's default action (451 4.7.1 "
                 "unless configured otherwise); see its log under data_dir";
    process_flapping_.push_back(std::make_unique<monitor::flag_alert>(alerts_, pf));
    events_->add_process_alert(process, process_flapping_.back().get());
  }
  // An authenticated user's submission refused as malware: the account may be hijacked. Raised at the first
  // refusal, cleared a day after the last one.
  monitor::rate_settings ms;
  ms.name = "outbound_malware";
  ms.sev = monitor::severity::critical;
  ms.what = "submissions refused as malware (hijacked account?)";
  ms.window = std::chrono::hours(24);
  ms.per_subject = 1;
  ms.total = 0;
  outbound_malware_ = std::make_unique<monitor::rate_alert>(alerts_, ms);
  events_->set_malware_alert(outbound_malware_.get());
  if (!cfg.monitor.webhook.empty())
    webhook_ = std::make_unique<monitor::webhook>(loop0_.get_executor(), cfg.monitor.webhook);
  alerts_.on_change([this](const monitor::alert& a, monitor::transition t) { on_alert(a, t); });
}

watch::~watch() {
  if (observing_) log::set_observer(nullptr, nullptr);
}

void watch::on_alert(const monitor::alert& a, monitor::transition t) {
  if (t == monitor::transition::none) return;
  // alert_raised / alert_cleared are themselves log events (and so reach a SIEM).
  nlohmann::json f = {
      {"name", a.name}, {"subject", a.subject}, {"message", a.message}, {"severity", severity_name(a.sev)}};
  if (webhook_) {
    nlohmann::json body = f;
    body["state"] = t == monitor::transition::raised ? "raised" : "cleared";
    body["host"] = cfg_.hostname;
    body["since"] = std::chrono::duration_cast<std::chrono::seconds>(a.since.time_since_epoch()).count();
    webhook_->post(std::move(body));
  }
  if (t == monitor::transition::raised) {
    metrics_->alerts_raised.with({a.name}).inc();
    log::warning("alert_raised", std::move(f));
    if (a.name == "outbound_spike" && cfg_.monitor.hold_on_spike && in_.holds) {
      try {
        if (in_.holds->hold(a.subject, a.message,
                            std::chrono::duration_cast<std::chrono::seconds>(a.since.time_since_epoch()).count()))
          log::warning("hold", {{"user", a.subject},
                                {"reason", a.message},
                                {"note", "outbound mail of this user stays queued until `mailfort queue release`"}});
      } catch (const std::exception& e) {
        log::error("state_error", {{"error", e.what()}});
      }
    }
  } else
    log::info("alert_cleared", std::move(f));
}

void watch::start() {
  log::set_observer([](void* ctx, log::level, std::string_view event,
                       const nlohmann::json& line) { static_cast<monitor::event_metrics*>(ctx)->observe(event, line); },
                    events_.get());
  observing_ = true;

  if (!cfg_.listeners.admin.empty()) {
    monitor::admin_options ao;
    ao.endpoint = smtp::parse_endpoint(cfg_.listeners.admin);
    ao.bearer_token = cfg_.monitor.token;
    ao.host_names = {cfg_.hostname};  // besides localhost and loopback literals (DNS rebinding)
    monitor::admin_handlers h;
    h.metrics = [this] { return registry_.expose(); };
    h.status = [this] { return status(); };
    h.queue = in_.queue;
    h.bans = in_.bans;
    h.alerts = [this] { return monitor::to_json(alerts_.active()); };
    admin_ = std::make_unique<monitor::admin_server>(loop0_.get_executor(), ao, std::move(h));
    admin_->start();  // logs `listen` itself
  }
  check_certificate();
  check_tlsa();
  public_ip_ = own_public_ip(cfg_);
  if (!cfg_.monitor.blocklist_zones.empty()) {
    if (public_ip_.empty())
      log::info("blocklist_check_skipped",
                {{"note",
                  "no public address to check (behind NAT?): set monitor.public_ip to the address your mail "
                  "leaves from"}});
    else
      check_blocklists();
  }
  if (!public_ip_.empty()) check_ptr();
}

void watch::check_ptr() {
  asio::co_spawn(
      loop0_,
      [this, ip = public_ip_]() -> asio::awaitable<void> {
        auto r = co_await publish::check_own_ptr(dns0_, ip, cfg_.hostname);
        log::info("ptr_check", {{"address", ip},
                                {"hostname", cfg_.hostname},
                                {"ptr", r.names},
                                {"result", publish::to_string(r.verdict)},
                                {"problem", r.problem}});
        if (r.verdict == publish::ptr_verdict::unknown) co_return;  // DNS trouble: keep the last known state
        ptr_mismatch_->set(ip, r.verdict != publish::ptr_verdict::ok, clock_.now());
      },
      asio::detached);
}

nlohmann::json watch::status() {
  nlohmann::json cert = {{"path", in_.certificate}};
  try {
    auto secs = tls::seconds_to_expiry(in_.certificate);
    cert["seconds_to_expiry"] = secs;
    cert["days_to_expiry"] = secs / 86400;
  } catch (const std::exception& e) {
    cert["error"] = e.what();
  }
  nlohmann::json bl = nlohmann::json::object();
  {
    std::lock_guard lk(bl_mu_);
    for (const auto& [zone, v] : blocklist_state_) bl[zone] = v > 0 ? "listed" : "not_listed";
  }
  return nlohmann::json{{"hostname", cfg_.hostname},
                        {"version", MAILFORT_VERSION_STRING},
                        {"listeners",
                         {{"mx", cfg_.listeners.mx},
                          {"submission", cfg_.listeners.submission},
                          {"submissions", cfg_.listeners.submissions},
                          {"admin", cfg_.listeners.admin}}},
                        {"queue", in_.queue_size ? in_.queue_size() : 0},
                        {"bans", in_.bans_active ? in_.bans_active() : 0},
                        {"alerts", monitor::to_json(alerts_.active())},
                        {"certificate", cert},
                        {"public_ip", public_ip_},
                        {"held_users", held_users()},
                        {"blocklists", bl}};
}

nlohmann::json watch::held_users() {
  nlohmann::json out = nlohmann::json::array();
  if (!in_.holds) return out;
  try {
    for (const auto& h : in_.holds->list()) out.push_back({{"user", h.user}, {"since", h.since}, {"reason", h.reason}});
  } catch (const std::exception& e) {
    log::error("state_error", {{"error", e.what()}});
  }
  return out;
}

void watch::set_dnssec_validating(bool validating, bool dane_enabled) {
  dnssec_off_->set("resolver", dane_enabled && !validating, clock_.now());
}

void watch::set_certificate_reload_failed(bool failed) { cert_reload_->set(in_.certificate, failed, clock_.now()); }

void watch::check_tlsa() {
  std::string host = cfg_.hostname;
  asio::co_spawn(
      loop0_,
      [this, host]() -> asio::awaitable<void> {
        const std::string qname = "_25._tcp." + host;  // named: no temporary lives across the co_await (GCC 12)
        auto r = co_await dns0_.lookup(qname, dns::rr_type::tlsa);
        // Senders use TLSA only from a secure answer (RFC 7672 2.2); anything else publishes nothing to match.
        if (r.st != dns::status::ok || r.sec != dns::dnssec::secure || r.records.empty()) {
          tlsa_mismatch_->set(host, false, clock_.now());
          co_return;
        }
        std::vector<dns::tlsa_record> tlsa;
        for (const auto& rd : r.records)
          if (auto t = dns::parse_tlsa(rd)) tlsa.push_back(*t);
        std::vector<outbound::x509_ptr> chain;
        if (FILE* f = std::fopen(in_.certificate.c_str(), "r")) {
          while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) chain.emplace_back(x);
          std::fclose(f);
        }
        if (chain.empty()) co_return;
        std::vector<X509*> raw;
        for (auto& c : chain) raw.push_back(c.get());
        auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
        auto res = outbound::dane_verify(tlsa, raw, {host}, now);
        log::info("tlsa_check",
                  {{"name", "_25._tcp." + host}, {"result", outbound::to_string(res.status)}, {"reason", res.reason}});
        tlsa_mismatch_->set(host, res.status == outbound::dane_status::mismatch, clock_.now());
      },
      asio::detached);
}

void watch::check_certificate() {
  try {
    auto secs = tls::seconds_to_expiry(in_.certificate);
    cert_->sample(in_.certificate, clock_.now() + std::chrono::seconds(secs), clock_.now());
  } catch (const std::exception&) {
  }
}

void watch::check_blocklists() {
  for (const auto& zone : cfg_.monitor.blocklist_zones) {
    auto name = monitor::dnsbl_query_name(public_ip_, zone);
    if (!name) continue;
    asio::co_spawn(
        loop0_,
        [this, zone, q = *name]() -> asio::awaitable<void> {
          auto r = co_await dns0_.lookup(q, dns::rr_type::a);
          auto v = monitor::dnsbl_classify(r.st == dns::status::nxdomain,
                                           r.st == dns::status::ok || r.st == dns::status::nodata, r.records);
          log::info("blocklist_check", {{"zone", zone},
                                        {"address", public_ip_},
                                        {"result", monitor::to_string(v)},
                                        {"dns", dns::to_string(r.st)}});
          if (v == monitor::dnsbl_verdict::unknown) co_return;  // keep the last known state
          {
            std::lock_guard lk(bl_mu_);
            blocklist_state_[zone] = v == monitor::dnsbl_verdict::listed ? 1 : 0;
          }
          blocklisted_->set(zone, v == monitor::dnsbl_verdict::listed, clock_.now());
        },
        asio::detached);
  }
}

bool watch::release_hold(const std::string& user) {
  if (!in_.holds) return false;
  std::string key = user;
  if (!in_.holds->release(key)) {
    key = "queue:" + user;
    if (!in_.holds->release(key)) return false;
  }
  outbound_->release(key);
  log::info("hold_released", {{"user", key}});
  if (in_.on_release) in_.on_release();
  return true;
}

void watch::tick() {
  ++ticks_;
  if (in_.holds) {
    try {
      for (const auto& user : in_.holds->refresh()) {  // released by `mailfort queue release` (another process)
        outbound_->release(user);
        log::info("hold_released", {{"user", user}});
        if (in_.on_release) in_.on_release();
      }
    } catch (const std::exception& e) {
      log::error("state_error", {{"error", e.what()}});
    }
  }
  // Alert inputs that are sampled: every 10 s the auth-failure windows and the queue size; the queue growth 10
  // times per window (at most every 10 s); daily the certificate, our TLSA and the blocklists (first at start).
  const auto now = clock_.now();
  const std::uint64_t growth_every =
      std::clamp<std::uint64_t>(static_cast<std::uint64_t>(cfg_.monitor.queue_growth_window_s) / 10, 1, 10);
  const bool every10 = ticks_ % 10 == 0, growth_due = ticks_ % growth_every == 0;
  double q = 0;
  if (every10 || growth_due) q = static_cast<double>(in_.queue_size ? in_.queue_size() : 0);
  if (every10) {
    auth_failures_->tick(now);
    outbound_malware_->tick(now);
    queue_size_->sample(q, now);
  }
  if (growth_due) queue_growth_->sample(q, now);
  if (ticks_ % 86400 == 0) {
    check_certificate();
    check_tlsa();
    if (!public_ip_.empty()) check_blocklists();
    if (!public_ip_.empty()) check_ptr();
  }
  if (ticks_ % 60 == 0) outbound_->tick(clock_.now());
}

void watch::stop() {
  if (admin_) admin_->stop();
  if (webhook_) webhook_->stop();
}

void watch::release() {
  admin_.reset();
  webhook_.reset();
}

}  // namespace mailfort::daemon
