// daemon/watch.hpp: the server's own monitoring, wired together: metrics derived from the log stream, the
// alert helpers, the webhook, the DNSBL and certificate checks, and the admin HTTP listener (issue 8).
// SPDX-License-Identifier: MIT
// Everything here runs on loop 0 (the admin listener, the webhook, the DNSBL lookups) or on the thread that
// logs (the event observer, which only counts). tick() is called once a second from loop 0's timer.
#pragma once
#include "common/clock.hpp"
#include "config/config.hpp"
#include "dns/source.hpp"
#include "monitor/admin_http.hpp"
#include "monitor/alerts.hpp"
#include "monitor/event_metrics.hpp"
#include "monitor/metrics.hpp"
#include "monitor/standard_metrics.hpp"
#include "monitor/webhook.hpp"
#include "queue/holds.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mailfort::daemon {

struct watch_inputs {
  std::function<std::size_t()> queue_size;
  std::function<nlohmann::json()> queue;  // /api/queue
  std::function<nlohmann::json()> bans;   // /api/bans
  std::function<std::size_t()> bans_active;
  std::string certificate;            // the serving certificate's PEM file
  queue::hold_list* holds = nullptr;  // held users (outbound_spike); null: no hold
  std::function<void()> on_release;   // a held user was released (kick the delivery runner)
};

class watch {
 public:
  watch(const config::config& cfg, const common::clock& clock, boost::asio::io_context& loop0, dns::source& dns0,
        watch_inputs in);
  ~watch();
  watch(const watch&) = delete;
  watch& operator=(const watch&) = delete;

  // Start observing the log, bind the admin listener (throws if it cannot), run the first certificate and
  // blocklist checks.
  void start();
  void tick();  // once a second, on loop 0
  void stop();  // on loop 0, before the loops stop
  // After the loops stopped, before they are destroyed: the admin acceptor and the webhook belong to loop 0.
  void release();
  // What /api/status answers (and the control channel's `status`); on loop 0.
  nlohmann::json status();
  // `queue release USER` through the control channel, on loop 0: releases the held user (or the quarantined
  // message "queue:USER") as a release seen by tick() is handled. False when neither was held.
  bool release_hold(const std::string& user);

  // The address checked on the DNSBLs: monitor.public_ip, else the default route's source address when it
  // is public; empty when there is none (checks are then skipped, and logged so).
  static std::string own_public_ip(const config::config& cfg);

 private:
  void on_alert(const monitor::alert& a, monitor::transition t);
  void check_certificate();
  void check_blocklists();
  void check_ptr();   // our PTR names the hostname and the hostname resolves back (publish/ptr_check.hpp)
  void check_tlsa();  // our certificate against a DNSSEC-secure _25._tcp.<hostname> TLSA RRset
  nlohmann::json held_users();

  const config::config& cfg_;
  const common::clock& clock_;
  boost::asio::io_context& loop0_;
  dns::source& dns0_;
  watch_inputs in_;
  monitor::registry registry_;
  monitor::alert_manager alerts_;
  std::unique_ptr<monitor::standard_metrics> metrics_;
  std::unique_ptr<monitor::rate_alert> auth_failures_;
  std::unique_ptr<monitor::threshold_alert> queue_size_;
  std::unique_ptr<monitor::growth_alert> queue_growth_;
  std::unique_ptr<monitor::cert_expiry_alert> cert_;
  std::unique_ptr<monitor::flag_alert> blocklisted_;
  std::unique_ptr<monitor::outbound_alert> outbound_;
  std::unique_ptr<monitor::flag_alert> tlsa_mismatch_;
  std::unique_ptr<monitor::flag_alert> dnssec_off_;
  std::unique_ptr<monitor::flag_alert> cert_reload_;
  std::unique_ptr<monitor::flag_alert> ptr_mismatch_;
  std::unique_ptr<monitor::flag_alert> dovecot_flapping_;
  std::vector<std::unique_ptr<monitor::flag_alert>> process_flapping_;  // rspamd, clamd, clamav_milter
  std::unique_ptr<monitor::rate_alert> outbound_malware_;

 public:
  // The resolver does not validate DNSSEC while outbound DANE is on: DANE is unavailable (outbound says why).
  void set_dnssec_validating(bool validating, bool dane_enabled);
  // The certificate files changed and the new pair did not load (failed) or a later change loaded (cleared): the
  // certificate_reload_failed alert (tls/cert_watch.hpp). On loop 0.
  void set_certificate_reload_failed(bool failed);

 private:
  std::unique_ptr<monitor::event_metrics> events_;
  std::unique_ptr<monitor::webhook> webhook_;
  std::unique_ptr<monitor::admin_server> admin_;
  std::string public_ip_;
  mutable std::mutex bl_mu_;
  std::map<std::string, double> blocklist_state_;  // zone -> 1 listed, 0 not (unknown: absent)
  std::uint64_t ticks_ = 0;
  bool observing_ = false;
};

}  // namespace mailfort::daemon
