// monitor/standard_metrics.cpp: registration of the families listed in docs/metrics.md.
// SPDX-License-Identifier: MIT
#include "monitor/standard_metrics.hpp"

#include <string>

namespace mailfort::monitor {

namespace {

counter_family& c(registry& r, const char* name, const char* help, std::vector<std::string> labels) {
  return r.add_counter(name, help, std::move(labels));
}

}  // namespace

standard_metrics::standard_metrics(registry& r, std::string_view version, const standard_sources& s)
    : smtp_connections(c(r, "mailfort_smtp_connections_total",
                         "SMTP connections by listener and how they ended at accept.", {"listener", "outcome"})),
      smtp_connections_active(r.add_gauge("mailfort_smtp_connections_active", "Open SMTP connections.", {"listener"})),
      tls_handshakes(c(r, "mailfort_tls_handshakes_total", "Successful TLS handshakes by protocol version and cipher.",
                       {"listener", "version", "cipher"})),
      tls_handshake_failures(c(r, "mailfort_tls_handshake_failures_total", "Failed TLS handshakes.", {"listener"})),
      smtp_auth(c(r, "mailfort_smtp_auth_total", "SMTP AUTH attempts by mechanism and result.",
                  {"listener", "mechanism", "result"})),
      login_attacks(c(r, "mailfort_login_attacks_total",
                      "Failed logins scored as credential stuffing or password spraying (IMAP/POP3).",
                      {"listener", "kind"})),
      smtp_rejections(c(r, "mailfort_smtp_rejections_total", "Rejected commands and messages by rule.", {"reason"})),
      smtp_transaction_duration(r.add_histogram("mailfort_smtp_transaction_duration_seconds",
                                                "Time from MAIL FROM to the final reply after the message data.",
                                                {"listener"}, default_latency_buckets())),
      messages_accepted(c(r, "mailfort_messages_accepted_total", "Messages accepted into the queue.", {"listener"})),
      messages_delivered(c(r, "mailfort_messages_delivered_total", "Recipients delivered.", {"transport"})),
      messages_deferred(c(r, "mailfort_messages_deferred_total", "Deliveries deferred for a retry.", {"transport"})),
      messages_bounced(c(r, "mailfort_messages_bounced_total", "Deliveries failed permanently.", {"transport"})),
      outbound_messages(c(r, "mailfort_outbound_messages_total", "Messages relayed per authenticated user.", {"user"})),
      outbound_recipients(
          c(r, "mailfort_outbound_recipients_total", "Recipients relayed per authenticated user.", {"user"})),
      spf_results(c(r, "mailfort_spf_results_total", "SPF results at MAIL FROM.", {"result"})),
      dkim_results(c(r, "mailfort_dkim_results_total", "DKIM verification results per signature.", {"result"})),
      dmarc_results(c(r, "mailfort_dmarc_results_total", "DMARC results and dispositions.", {"result", "disposition"})),
      dns_errors(c(r, "mailfort_dns_errors_total", "DNS resolver failures by status.", {"status"})),
      alerts_raised(c(r, "mailfort_alerts_raised_total", "Alert episodes begun, by alert name.", {"name"})),
      milter_verdicts(c(r, "mailfort_milter_verdicts_total", "Milter verdicts per message.", {"milter", "verdict"})),
      milter_failures(c(r, "mailfort_milter_failures_total",
                        "Milters down, too slow or sending garbage (the default action applied).",
                        {"milter", "stage"})),
      milter_duration(r.add_histogram("mailfort_milter_duration_seconds", "One milter's conversation for one message.",
                                      {"milter"}, default_latency_buckets())),
      outbound_malware(c(r, "mailfort_outbound_malware_total",
                         "Authenticated submissions refused by an antivirus milter (outbound_malware).", {"milter"})),
      child_process_events(c(r, "mailfort_child_process_events_total",
                             "Supervised child processes (Dovecot, rspamd, clamd, clamav-milter): starts, exits, "
                             "failed starts, flapping.",
                             {"process", "event"})) {
  r.add_gauge("mailfort_build_info", "Always 1; the running version.", {"version"}).with({version}).set(1);
  if (s.queue_messages) r.add_callback_gauge("mailfort_queue_messages", "Messages in the queue.", s.queue_messages);
  if (s.queue_oldest_message_age_seconds)
    r.add_callback_gauge("mailfort_queue_oldest_message_age_seconds", "Age of the oldest queued message (0: empty).",
                         s.queue_oldest_message_age_seconds);
  if (s.bans_active) r.add_callback_gauge("mailfort_bans_active", "Sources banned now.", s.bans_active);
  if (s.alerts_active) r.add_callback_gauge("mailfort_alerts_active", "Alerts active now.", s.alerts_active);
  if (s.certificate_expiry_seconds)
    r.add_callback("mailfort_tls_certificate_expiry_seconds",
                   "Seconds until the certificate expires (negative once expired).", metric_type::gauge, {"path"},
                   s.certificate_expiry_seconds, 1000);
  if (s.blocklist_listed)
    r.add_callback("mailfort_blocklist_listed", "1 while listed on the DNSBL zone, else 0.", metric_type::gauge,
                   {"zone"}, s.blocklist_listed, 1000);
}

}  // namespace mailfort::monitor
