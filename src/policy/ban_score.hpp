// policy/ban_score.hpp: [pure] the fail2ban arithmetic: scores per source, thresholds, escalating bans.
// SPDX-License-Identifier: MIT
// A source is an address prefix (default /32 IPv4, /64 IPv6: one host, or one customer's IPv6 net).
// Offences add points that expire after `window`; reaching `threshold` bans the source for
// `base_duration`, doubled for each earlier ban of the same source, capped at `max_duration`.
// Storage and locking belong to the owner (policy::guard); this is the arithmetic, unit-tested with
// an injected clock.
#pragma once
#include "common/clock.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace mailfort::policy {

enum class offence : std::uint8_t {
  auth_failure,       // wrong password / unknown user
  early_talker,       // bytes before the greeting
  smuggling,          // bare CR/LF/NUL in DATA, STARTTLS injection, DATA pipelining violation
  unknown_recipient,  // 550 5.1.1 (dictionary attacks)
  non_smtp,           // GET /, USER, Host:, ...
  protocol_errors,    // the session hit the hard error limit
  rate_limited,       // kept hitting a rate limit
  protocol_slip,      // one bare LF in DATA or a command pipelined behind STARTTLS: broken clients do it
                      // too, so it scores below the threshold (one slip must not ban a whole office NAT)
};
const char* offence_name(offence o);

struct ban_settings {
  double threshold = 5;
  std::chrono::seconds window{600};
  std::chrono::seconds base_duration{3600};
  std::chrono::seconds max_duration{7 * 86400};
  unsigned ipv4_prefix = 32;
  unsigned ipv6_prefix = 64;
  // Points per offence (index = offence).
  double weight[8] = {1.0, 2.5, 5.0, 0.25, 5.0, 2.5, 1.0, 2.5};
  // IPv6: a second, coarser score and ban per ipv6_wide_prefix (a /48 holds 65,536 /64s, each with a fresh
  // score); it bans at threshold * wide_factor points. 0 disables it.
  unsigned ipv6_wide_prefix = 48;
  double wide_factor = 4;
  // How long a source's earlier bans count for escalation after its last ban ended.
  std::chrono::seconds history{30 * 86400};
};

// "192.0.2.7" -> "192.0.2.7/32", "2001:db8::1" with /64 -> "2001:db8::/64". IPv4-mapped IPv6 is IPv4.
std::string source_key(const boost::asio::ip::address& a, unsigned v4_prefix, unsigned v6_prefix);
// Parse "ip[/len]" into a source key with the given default prefixes; nullopt if invalid.
std::optional<std::string> parse_source(const std::string& text, unsigned v4_prefix, unsigned v6_prefix);

class ban_score {
 public:
  explicit ban_score(ban_settings s) : s_(s) {}
  struct verdict {
    double score = 0;
    bool ban = false;  // the threshold was reached now: ban this source
    std::chrono::seconds duration{0};
    unsigned previous_bans = 0;
  };
  // Add an offence; when it crosses the threshold the points are reset and a ban is returned.
  verdict add(const std::string& source, offence o, common::time_point now, double count = 1.0);
  // With a threshold of its own (the IPv6 /48 score); 0 = the configured threshold.
  verdict add(const std::string& source, offence o, common::time_point now, double count, double threshold);
  // Remember that a source was banned before (loaded from the database), for escalation; `last` is when that
  // ban ended (history older than settings.history is swept).
  void set_previous_bans(const std::string& source, unsigned n, common::time_point last = {}) {
    history_[source] = {n, last};
  }
  unsigned previous_bans(const std::string& source) const;
  void forget(const std::string& source) { points_.erase(source); }
  double score(const std::string& source, common::time_point now);
  // Drop scores whose points all expired and escalation history older than settings.history.
  void sweep(common::time_point now);
  std::size_t tracked_sources() const { return points_.size(); }
  std::size_t history_size() const { return history_.size(); }

 private:
  struct hit {
    common::time_point at;
    double points;
  };
  void expire(std::deque<hit>& q, common::time_point now) const;
  ban_settings s_;
  std::unordered_map<std::string, std::deque<hit>> points_;
  struct past {
    unsigned count = 0;
    common::time_point last{};  // end of the latest ban
  };
  std::unordered_map<std::string, past> history_;
};

}  // namespace mailfort::policy
