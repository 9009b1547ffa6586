// monitor/event_metrics.cpp: log events -> counters and alert inputs (see event_metrics.hpp).
// SPDX-License-Identifier: MIT
#include "monitor/event_metrics.hpp"

#include "log/events.hpp"

#include <string>

namespace mailfort::monitor {

namespace {

std::string field(const nlohmann::json& line, const char* key, const char* fallback = "") {
  auto it = line.find(key);
  if (it == line.end()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  return fallback;
}

using log::event_id;

// The delivery transport a runner event is about: remote lines name the relay (or say "transport"), local ones
// the mailbox.
std::string transport_of(const nlohmann::json& line) {
  if (line.contains("transport")) return field(line, "transport", "maildir");
  return line.contains("relay") ? "remote" : "maildir";
}

bool is(std::string_view n, event_id e) { return n == log::name(e); }

// The supervised child an event is about ("rspamd" for "rspamd_exited"), or "" for any other event.
std::string_view supervised_process(std::string_view event) {
  static constexpr std::string_view processes[] = {"dovecot", "rspamd", "clamd", "clamav_milter"};
  static constexpr std::string_view whats[] = {"started", "exited", "start_failed", "flapping", "recovered"};
  for (auto p : processes) {
    if (event.size() <= p.size() + 1 || event.substr(0, p.size()) != p || event[p.size()] != '_') continue;
    for (auto w : whats)
      if (event.substr(p.size() + 1) == w) return p;
  }
  return {};
}

}  // namespace

void event_metrics::observe(std::string_view event, const nlohmann::json& line) {
  if (is(event, event_id::disconnect)) {
    m_.smtp_connections.with({field(line, "listener", "unknown"), field(line, "reason", "unknown")}).inc();
  } else if (is(event, event_id::tls)) {
    m_.tls_handshakes.with({field(line, "listener", "unknown"), field(line, "version"), field(line, "cipher")}).inc();
  } else if (is(event, event_id::tls_error)) {
    m_.tls_handshake_failures.with({field(line, "listener", "unknown")}).inc();
  } else if (is(event, event_id::auth)) {
    const std::string result = field(line, "result");
    m_.smtp_auth.with({field(line, "listener", "unknown"), field(line, "mechanism"), result}).inc();
    if (result == "failure" && auth_failures_)
      auth_failures_->record(field(line, "client_ip", "unknown"), clock_.now());
  } else if (is(event, event_id::credential_stuffing) || is(event, event_id::password_spraying)) {
    m_.login_attacks.with({field(line, "listener", "unknown"), std::string(event)}).inc();
  } else if (is(event, event_id::outbound_malware)) {
    m_.outbound_malware.with({field(line, "milter", "unknown")}).inc();
    if (outbound_malware_) outbound_malware_->record(field(line, "user", "unknown"), clock_.now());
  } else if (auto process = supervised_process(event); !process.empty()) {
    // <process>_started / _exited / _start_failed / _flapping / _recovered (common::child_supervisor).
    const auto what = event.substr(process.size() + 1);
    if (what != "recovered") m_.child_process_events.with({std::string(process), std::string(what)}).inc();
    if (what == "flapping" || what == "recovered") {
      auto it = process_alerts_.find(process);
      if (it != process_alerts_.end() && it->second) it->second->set(process, what == "flapping", clock_.now());
    }
  } else if (is(event, event_id::reject)) {
    m_.smtp_rejections.with({field(line, "rule", "unknown")}).inc();
  } else if (is(event, event_id::queued)) {
    m_.messages_accepted.with({field(line, "listener", "unknown")}).inc();
    const std::string user = field(line, "user");
    if (!user.empty()) {
      const auto rcpts = static_cast<std::uint64_t>(line.value("rcpts", 0));
      m_.outbound_messages.with({user}).inc();
      m_.outbound_recipients.with({user}).inc(rcpts);
      if (outbound_) outbound_->record(user, rcpts, clock_.now());
    }
  } else if (is(event, event_id::milter) || is(event, event_id::milter_error)) {
    const std::string name = field(line, "milter", "unknown");
    if (is(event, event_id::milter))
      m_.milter_verdicts.with({name, field(line, "verdict", "unknown")}).inc();
    else
      m_.milter_failures.with({name, field(line, "stage", "unknown")}).inc();
    m_.milter_duration.with({name}).observe(static_cast<double>(line.value("duration_ms", 0)) / 1000.0);
  } else if (is(event, event_id::delivered)) {
    m_.messages_delivered.with({transport_of(line)}).inc();
  } else if (is(event, event_id::deferred)) {
    m_.messages_deferred.with({transport_of(line)}).inc();
  } else if (is(event, event_id::delivery_failed)) {
    m_.messages_bounced.with({transport_of(line)}).inc();  // a permanent failure: the runner sends a DSN
  } else if (is(event, event_id::sender_auth)) {
    if (line.contains("spf")) m_.spf_results.with({field(line, "spf")}).inc();
    if (auto it = line.find("dkim"); it != line.end() && it->is_array()) {
      if (it->empty()) m_.dkim_results.with({"none"}).inc();
      for (const auto& d : *it) {
        // "domain=result"
        const std::string s = d.is_string() ? d.get<std::string>() : std::string();
        const auto eq = s.rfind('=');
        m_.dkim_results.with({eq == std::string::npos ? std::string("unknown") : s.substr(eq + 1)}).inc();
      }
    }
    if (line.contains("dmarc")) m_.dmarc_results.with({field(line, "dmarc"), field(line, "action", "none")}).inc();
  }
}

}  // namespace mailfort::monitor
