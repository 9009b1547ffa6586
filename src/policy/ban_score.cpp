// policy/ban_score.cpp: scores and escalating ban durations (see ban_score.hpp).
// SPDX-License-Identifier: MIT
#include "policy/ban_score.hpp"

#include <algorithm>

namespace mailfort::policy {

namespace asio = boost::asio;

const char* offence_name(offence o) {
  switch (o) {
    case offence::auth_failure:
      return "auth_failure";
    case offence::early_talker:
      return "early_talker";
    case offence::smuggling:
      return "smuggling";
    case offence::unknown_recipient:
      return "unknown_recipient";
    case offence::non_smtp:
      return "non_smtp";
    case offence::protocol_errors:
      return "protocol_errors";
    case offence::rate_limited:
      return "rate_limited";
    case offence::protocol_slip:
      return "protocol_slip";
  }
  return "unknown";
}

namespace {
// Keep the first `prefix` bits of an address, zero the rest.
template <class Bytes>
void mask(Bytes& b, unsigned prefix) {
  for (unsigned i = 0; i < b.size(); ++i) {
    unsigned keep = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0;
    b[i] = static_cast<unsigned char>(b[i] & (keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff));
  }
}
}  // namespace

std::string source_key(const asio::ip::address& a0, unsigned v4_prefix, unsigned v6_prefix) {
  asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    unsigned p = std::min(v4_prefix, 32u);
    mask(b, p);
    return asio::ip::address_v4(b).to_string() + "/" + std::to_string(p);
  }
  auto b = a.to_v6().to_bytes();
  unsigned p = std::min(v6_prefix, 128u);
  mask(b, p);
  return asio::ip::address_v6(b).to_string() + "/" + std::to_string(p);
}

std::optional<std::string> parse_source(const std::string& text, unsigned v4_prefix, unsigned v6_prefix) {
  auto slash = text.find('/');
  boost::system::error_code ec;
  auto a = asio::ip::make_address(text.substr(0, slash), ec);
  if (ec) return std::nullopt;
  if (slash != std::string::npos) {
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    unsigned len = static_cast<unsigned>(std::stoul(p));
    if (len > (a.is_v4() ? 32u : 128u)) return std::nullopt;
    if (a.is_v4())
      v4_prefix = len;
    else
      v6_prefix = len;
  }
  return source_key(a, v4_prefix, v6_prefix);
}

void ban_score::expire(std::deque<hit>& q, common::time_point now) const {
  while (!q.empty() && now - q.front().at > s_.window) q.pop_front();
}

double ban_score::score(const std::string& source, common::time_point now) {
  auto it = points_.find(source);
  if (it == points_.end()) return 0;
  expire(it->second, now);
  double s = 0;
  for (const auto& h : it->second) s += h.points;
  if (it->second.empty()) points_.erase(it);
  return s;
}

unsigned ban_score::previous_bans(const std::string& source) const {
  auto it = history_.find(source);
  return it == history_.end() ? 0 : it->second.count;
}

void ban_score::sweep(common::time_point now) {
  for (auto it = points_.begin(); it != points_.end();) {
    expire(it->second, now);
    if (it->second.empty())
      it = points_.erase(it);
    else
      ++it;
  }
  for (auto it = history_.begin(); it != history_.end();) {
    if (it->second.last != common::time_point{} && now - it->second.last > s_.history)
      it = history_.erase(it);
    else
      ++it;
  }
}

ban_score::verdict ban_score::add(const std::string& source, offence o, common::time_point now, double count) {
  return add(source, o, now, count, 0);
}

ban_score::verdict ban_score::add(const std::string& source, offence o, common::time_point now, double count,
                                  double threshold) {
  if (threshold <= 0) threshold = s_.threshold;
  verdict v;
  double pts = s_.weight[static_cast<int>(o)] * count;
  if (pts <= 0) return v;
  auto& q = points_[source];
  expire(q, now);
  if (q.size() > 4096) q.pop_front();  // bounded memory per source
  q.push_back({now, pts});
  double s = 0;
  for (const auto& h : q) s += h.points;
  v.score = s;
  if (s + 1e-9 >= threshold) {
    v.ban = true;
    v.previous_bans = previous_bans(source);
    auto d = s_.base_duration;
    for (unsigned i = 0; i < v.previous_bans && d < s_.max_duration; ++i) d *= 2;
    v.duration = std::min(d, s_.max_duration);
    history_[source] = {v.previous_bans + 1, now + v.duration};
    points_.erase(source);
  }
  return v;
}

}  // namespace mailfort::policy
