// monitor/event_metrics.hpp: [pure] metrics and alerts derived from the log event stream (docs/log-events.md):
// every counter in docs/metrics.md that counts something the server logs is fed here, so /metrics and the
// log can never disagree.
// SPDX-License-Identifier: MIT
#pragma once
#include "common/clock.hpp"
#include "monitor/alerts.hpp"
#include "monitor/standard_metrics.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

namespace mailfort::monitor {

class event_metrics {
 public:
  // `auth_failures` may be null (no auth-failure alert); `outbound` may be null (no outbound-volume alert).
  event_metrics(standard_metrics& m, const common::clock& clock, rate_alert* auth_failures, outbound_alert* outbound)
      : m_(m), clock_(clock), auth_failures_(auth_failures), outbound_(outbound) {}

  // Alerts raised from single events: `dovecot_flapping` (cleared by `dovecot_recovered`). May stay null. Set
  // before events are fed.
  void set_flag_alerts(flag_alert* dovecot_flapping) { process_alerts_["dovecot"] = dovecot_flapping; }
  // The same for another supervised child (common::child_supervisor): `<process>_flapping` raises the alert,
  // `<process>_recovered` clears it (rspamd, clamd, clamav_milter). Set before events are fed.
  void add_process_alert(const std::string& process, flag_alert* flapping) { process_alerts_[process] = flapping; }
  // `outbound_malware` events (an authenticated user's submission refused as malware) feed this alert (subject:
  // the user). May stay null. Set before events are fed.
  void set_malware_alert(rate_alert* outbound_malware) { outbound_malware_ = outbound_malware; }

  // One log line (the whole JSON object, with "event" and the fields). Thread-safe.
  void observe(std::string_view event, const nlohmann::json& line);

 private:
  standard_metrics& m_;
  const common::clock& clock_;
  rate_alert* auth_failures_;
  outbound_alert* outbound_;
  std::map<std::string, flag_alert*, std::less<>> process_alerts_;
  rate_alert* outbound_malware_ = nullptr;
};

}  // namespace mailfort::monitor
