// monitor/event_metrics.hpp: [pure] metrics and alerts derived from the log event stream (docs/log-events.md):
// every counter in docs/metrics.md that counts something the server logs is fed here, so /metrics and the
// log can never disagree.
// SPDX-License-Identifier: MIT
#pragma once
#include "common/clock.hpp"
#include "monitor/alerts.hpp"
#include "monitor/standard_metrics.hpp"

#include <nlohmann/json.hpp>

#include <string_view>

namespace mailfort::monitor {

class event_metrics {
 public:
  // `auth_failures` may be null (no auth-failure alert); `outbound` may be null (no outbound-volume alert).
  event_metrics(standard_metrics& m, const common::clock& clock, rate_alert* auth_failures, outbound_alert* outbound)
      : m_(m), clock_(clock), auth_failures_(auth_failures), outbound_(outbound) {}

  // Alerts raised from single events: `dovecot_flapping` (cleared by `dovecot_recovered`). May stay null. Set
  // before events are fed.
  void set_flag_alerts(flag_alert* dovecot_flapping) { dovecot_flapping_ = dovecot_flapping; }

  // One log line (the whole JSON object, with "event" and the fields). Thread-safe.
  void observe(std::string_view event, const nlohmann::json& line);

 private:
  standard_metrics& m_;
  const common::clock& clock_;
  rate_alert* auth_failures_;
  outbound_alert* outbound_;
  flag_alert* dovecot_flapping_ = nullptr;
};

}  // namespace mailfort::monitor
