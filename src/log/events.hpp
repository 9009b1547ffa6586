// log/events.hpp: [pure] every log event name and every reject rule, declared once. docs/log-events.md documents
// exactly these events and rules, and docs/metrics.md names exactly the events that move a metric
// (tests/unit/log/events_test.cpp checks both against the documents), so a new event cannot go unnoticed.
// SPDX-License-Identifier: MIT
// Emit with the enumerators (log::info(log::event_id::queued, ...), rule names through log::name(reject_rule)),
// never with a bare string: a misspelt name is then a compile error, not a silent new event.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// X(name, metric): metric is 1 when monitor::event_metrics moves a metric for the event.
#define MAILFORT_LOG_EVENTS(X)               \
  /* Server lifecycle */                     \
  X(listen, 0)                               \
  X(ready, 0)                                \
  X(tls_self_signed_created, 0)              \
  X(tls_certificate, 0)                      \
  X(tls_certificate_expired, 0)              \
  X(tls_reloaded, 0)                         \
  X(tls_reload_failed, 0)                    \
  X(stopping, 0)                             \
  X(stopped, 0)                              \
  X(startup_failed, 0)                       \
  X(accept_error, 0)                         \
  X(admin_auth_failure, 0)                   \
  X(admin_host_refused, 0)                   \
  X(redis_connected, 0)                      \
  X(redis_restored, 0)                       \
  X(redis_unavailable, 0)                    \
  X(state_error, 0)                          \
  X(dnssec_disabled, 0)                      \
  X(config_finding, 0)                       \
  X(config_refused, 0)                       \
  X(insecure_override, 0)                    \
  X(discard_mode, 0)                         \
  X(admin_handler_error, 0)                  \
  X(control_listening, 0)                    \
  X(control_request, 0)                      \
  X(control_refused, 0)                      \
  X(control_error, 0)                        \
  X(dns_resolvconf_failed, 0)                \
  X(dns_pipe_error, 0)                       \
  /* Published policy (src/publish/) */      \
  X(mta_sts_hosting, 0)                      \
  X(mta_sts_served, 0)                       \
  /* Mailbox access (Dovecot, `[imap]`) */   \
  X(imap_disabled, 0)                        \
  X(dovecot_config_written, 0)               \
  X(dovecot_policy_listening, 0)             \
  X(dovecot_started, 1)                      \
  X(dovecot_exited, 1)                       \
  X(dovecot_flapping, 1)                     \
  X(dovecot_recovered, 1)                    \
  X(dovecot_start_failed, 1)                 \
  X(dovecot_users_written, 0)                \
  X(dovecot_users_failed, 0)                 \
  X(dovecot_reloaded, 0)                     \
  X(dovecot_stopped, 0)                      \
  X(dovecot_killed, 0)                       \
  X(rspamd_started, 1)                       \
  X(rspamd_exited, 1)                        \
  X(rspamd_start_failed, 1)                  \
  X(rspamd_flapping, 1)                      \
  X(rspamd_recovered, 1)                     \
  X(rspamd_stopped, 0)                       \
  X(rspamd_killed, 0)                        \
  X(clamd_started, 1)                        \
  X(clamd_exited, 1)                         \
  X(clamd_start_failed, 1)                   \
  X(clamd_flapping, 1)                       \
  X(clamd_recovered, 1)                      \
  X(clamd_stopped, 0)                        \
  X(clamd_killed, 0)                         \
  X(clamav_milter_started, 1)                \
  X(clamav_milter_exited, 1)                 \
  X(clamav_milter_start_failed, 1)           \
  X(clamav_milter_flapping, 1)               \
  X(clamav_milter_recovered, 1)              \
  X(clamav_milter_stopped, 0)                \
  X(clamav_milter_killed, 0)                 \
  X(clamav_no_database, 0)                   \
  X(filter_services_configured, 0)           \
  X(outbound_malware, 1)                     \
  X(credential_stuffing, 1)                  \
  X(password_spraying, 1)                    \
  X(dovecot_policy_failed, 0)                \
  /* Alerts */                               \
  X(alert_raised, 0)                         \
  X(alert_cleared, 0)                        \
  X(webhook_failed, 0)                       \
  X(blocklist_check, 0)                      \
  X(blocklist_check_skipped, 0)              \
  X(ptr_check, 0)                            \
  X(tlsa_check, 0)                           \
  X(hold, 0)                                 \
  X(hold_released, 0)                        \
  /* Sessions */                             \
  X(connect, 0)                              \
  X(tls, 1)                                  \
  X(tls_error, 1)                            \
  X(auth, 1)                                 \
  X(mail, 0)                                 \
  X(rcpt, 0)                                 \
  X(vrfy, 0)                                 \
  X(reject, 1)                               \
  X(queued, 1)                               \
  X(discarded, 0)                            \
  X(sender_auth, 1)                          \
  X(dkim_signed, 0)                          \
  X(submission_from_refused, 0)              \
  X(dnssec_unavailable, 0)                   \
  X(dkim_sign_failed, 0)                     \
  X(ban, 0)                                  \
  X(milter, 1)                               \
  X(attachment_refused, 0)                   \
  X(attachment_archive, 0)                   \
  X(quarantined, 0)                          \
  X(milter_error, 1)                         \
  X(spool_error, 0)                          \
  X(disconnect, 1)                           \
  X(connection_error, 0)                     \
  /* Queue and delivery */                   \
  X(delivered, 1)                            \
  X(deferred, 1)                             \
  X(delivery_failed, 1)                      \
  X(bounce_queued, 0)                        \
  X(delay_notice_queued, 0)                  \
  X(bounce_suppressed, 0)                    \
  X(bounce_failed, 0)                        \
  X(queue_update_failed, 0)                  \
  /* Outbound delivery (docs/outbound.md) */ \
  X(outbound_tls, 0)                         \
  X(outbound_plaintext, 0)                   \
  X(outbound_host_failed, 0)                 \
  X(mta_sts_policy, 0)                       \
  X(mta_sts_fetch_failed, 0)                 \
  X(mta_sts_policy_loaded, 0)                \
  X(mta_sts_cache_error, 0)                  \
  X(mta_sts_mx_mismatch, 0)                  \
  X(mta_sts_testing_failure, 0)              \
  X(dane_lookup_failed, 0)                   \
  X(tlsrpt_record_failed, 0)                 \
  X(tlsrpt_report_queued, 0)                 \
  X(tlsrpt_no_record, 0)                     \
  X(tlsrpt_rua_skipped, 0)                   \
  X(tlsrpt_lookup_failed, 0)                 \
  X(tlsrpt_queue_failed, 0)                  \
  X(tlsrpt_send_failed, 0)                   \
  X(dmarc_report_queued, 0)                  \
  X(dmarc_report_no_record, 0)               \
  X(dmarc_report_rua_skipped, 0)             \
  X(dmarc_report_rua_unauthorized, 0)        \
  X(dmarc_report_no_rua, 0)                  \
  X(dmarc_report_too_big, 0)                 \
  X(dmarc_report_lookup_failed, 0)           \
  X(dmarc_report_queue_failed, 0)            \
  X(dmarc_report_send_failed, 0)             \
  X(dane_unavailable, 0)                     \
  X(dane_available, 0)                       \
  X(delivery_error, 0)                       \
  X(queue_quarantine, 0)                     \
  X(queue_tmp_cleaned, 0)

// X(name): the `rule` of a `reject` event.
#define MAILFORT_REJECT_RULES(X)  \
  X(too_many_connections)         \
  X(too_many_connections_per_ip)  \
  X(banned)                       \
  X(connection_rate)              \
  X(early_talker)                 \
  X(messages_per_hour_per_ip)     \
  X(messages_per_hour_per_user)   \
  X(recipients_per_hour_per_ip)   \
  X(recipients_per_hour_per_user) \
  X(auth_per_minute_per_ip)       \
  X(syntax)                       \
  X(command_too_long)             \
  X(bad_sequence)                 \
  X(non_smtp_command)             \
  X(xclient_denied)               \
  X(expn_refused)                 \
  X(auth_not_offered)             \
  X(auth_before_tls)              \
  X(auth_failed)                  \
  X(auth_cancelled)               \
  X(auth_required)                \
  X(sender_not_owned)             \
  X(null_sender_refused)          \
  X(from_not_owned)               \
  X(auth_temperror)               \
  X(needs_smtputf8)               \
  X(relay_denied)                 \
  X(unknown_user)                 \
  X(alias_loop)                   \
  X(forward_limit)                \
  X(srs_invalid)                  \
  X(too_many_unknown_recipients)  \
  X(too_many_recipients)          \
  X(messages_per_connection)      \
  X(inflight_budget)              \
  X(session_lifetime)             \
  X(vrfy_refused)                 \
  X(starttls_pipelining)          \
  X(pipelining_violation)         \
  X(dmarc_reject)                 \
  X(bare_lf)                      \
  X(bare_cr)                      \
  X(nul)                          \
  X(line_too_long)                \
  X(header_too_large)             \
  X(message_too_large)            \
  X(too_many_hops)                \
  X(leading_whitespace)           \
  X(too_many_errors)              \
  X(timeout)                      \
  X(incomplete_data)              \
  X(attachment_policy)            \
  X(milter)                       \
  X(milter_failure)               \
  X(queue_full)                   \
  X(queue_error)

namespace mailfort::log {

enum class event_id : std::uint16_t {
#define MAILFORT_X(name, metric) name,
  MAILFORT_LOG_EVENTS(MAILFORT_X)
#undef MAILFORT_X
};

enum class reject_rule : std::uint16_t {
#define MAILFORT_X(name) name,
  MAILFORT_REJECT_RULES(MAILFORT_X)
#undef MAILFORT_X
};

struct event_info {
  std::string_view name;
  bool metric;  // monitor::event_metrics counts it (docs/metrics.md)
};

inline constexpr std::array k_events = {
#define MAILFORT_X(name, metric) event_info{#name, (metric) != 0},
    MAILFORT_LOG_EVENTS(MAILFORT_X)
#undef MAILFORT_X
};

inline constexpr std::array k_reject_rules = {
#define MAILFORT_X(name) std::string_view{#name},
    MAILFORT_REJECT_RULES(MAILFORT_X)
#undef MAILFORT_X
};

constexpr std::string_view name(event_id e) { return k_events[static_cast<std::size_t>(e)].name; }
constexpr std::string_view name(reject_rule r) { return k_reject_rules[static_cast<std::size_t>(r)]; }

// The rule's name as a std::string, for a JSON field.
inline std::string rule_field(reject_rule r) { return std::string(name(r)); }

// The declared event of that name, if any (for code that receives names, like the metrics observer).
constexpr std::optional<event_id> find_event(std::string_view n) {
  for (std::size_t i = 0; i < k_events.size(); ++i)
    if (k_events[i].name == n) return static_cast<event_id>(i);
  return std::nullopt;
}

}  // namespace mailfort::log
