// monitor/standard_metrics.hpp: [pure] the metric families mailfort registers (docs/metrics.md), in one place.
// SPDX-License-Identifier: MIT
// The daemon builds one standard_metrics at startup and hands references to the modules; a call site caches the
// child it counts into (e.g. `auto& ok = m.smtp_auth.with({"submission", "PLAIN", "success"});`). Sampled gauges
// read their source at scrape time; a source left empty leaves its family out of /metrics.
#pragma once
#include "monitor/metrics.hpp"

#include <functional>
#include <string_view>
#include <vector>

namespace mailfort::monitor {

struct standard_sources {
  std::function<double()> queue_messages;
  std::function<double()> queue_oldest_message_age_seconds;
  std::function<double()> bans_active;
  std::function<double()> alerts_active;
  std::function<std::vector<sample>()> certificate_expiry_seconds;  // label: path
  std::function<std::vector<sample>()> blocklist_listed;            // label: zone
};

struct standard_metrics {
  standard_metrics(registry& r, std::string_view version, const standard_sources& sources = {});

  counter_family& smtp_connections;             // listener, outcome
  gauge_family& smtp_connections_active;        // listener
  counter_family& tls_handshakes;               // listener, version, cipher
  counter_family& tls_handshake_failures;       // listener
  counter_family& smtp_auth;                    // listener, mechanism, result
  counter_family& login_attacks;                // listener, kind (credential_stuffing, password_spraying)
  counter_family& smtp_rejections;              // reason
  histogram_family& smtp_transaction_duration;  // listener
  counter_family& messages_accepted;            // listener
  counter_family& messages_delivered;           // transport
  counter_family& messages_deferred;            // transport
  counter_family& messages_bounced;             // transport
  counter_family& outbound_messages;            // user (capped: "other")
  counter_family& outbound_recipients;          // user (capped: "other")
  counter_family& spf_results;                  // result
  counter_family& dkim_results;                 // result
  counter_family& dmarc_results;                // result, disposition
  counter_family& dns_errors;                   // status
  counter_family& alerts_raised;                // name
  counter_family& milter_verdicts;              // milter, verdict
  counter_family& milter_failures;              // milter, stage
  histogram_family& milter_duration;            // milter
  counter_family& outbound_malware;             // milter
  counter_family& child_process_events;         // process, event (started, exited, start_failed, flapping)
};

}  // namespace mailfort::monitor
