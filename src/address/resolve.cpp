// address/resolve.cpp: alias expansion, subaddresses, role addresses, catch-all and send-as (resolve.hpp).
// SPDX-License-Identifier: MIT
#include "address/resolve.hpp"

#include "common/ascii.hpp"

#include <algorithm>

namespace mailfort::address {

namespace {

std::string domain_of(std::string_view a) {
  auto at = a.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(a.substr(at + 1));
}

struct walker {
  const book& b;
  const options& o;
  const std::function<bool(std::string_view)>& is_local;
  resolution r;
  std::vector<std::string> chain;
  bool too_deep = false;

  void add(const std::string& a) {
    if (std::find(r.recipients.begin(), r.recipients.end(), a) == r.recipients.end()) r.recipients.push_back(a);
  }

  void expand_all(const std::vector<std::string>& targets, std::size_t depth) {
    r.via_alias = true;
    for (const auto& t : targets) visit(t, depth + 1);
  }

  std::string role_target(const std::string& a) const {
    if (!o.postmaster.empty()) return common::to_lower(o.postmaster);
    const std::string d = domain_of(a);
    for (const auto& u : b.users_in_order)
      if (domain_of(u) == d) return u;
    return b.users_in_order.empty() ? std::string() : b.users_in_order.front();
  }

  // false: nothing claims `a` (unknown); true: it is known (its targets added, or skipped as a loop).
  bool visit(const std::string& a, std::size_t depth) {
    if (std::find(chain.begin(), chain.end(), a) != chain.end()) {
      r.loop_seen = true;
      return true;
    }
    if (depth > o.max_depth) {
      too_deep = true;
      return true;
    }
    if (!is_local(domain_of(a)) || b.users.count(a) != 0) {
      add(a);
      return true;
    }
    chain.push_back(a);
    const bool found = expand(a, depth);
    chain.pop_back();
    return found;
  }

  bool expand(const std::string& a, std::size_t depth) {
    if (auto it = b.aliases.find(a); it != b.aliases.end()) {
      expand_all(it->second, depth);
      return true;
    }
    const auto sub = split_subaddress(a, o.delimiter);
    if (!sub.base.empty()) {
      if (b.users.count(sub.base) != 0) {
        add(a);  // delivered to the user; the tag may pick a folder
        return true;
      }
      if (auto it = b.aliases.find(sub.base); it != b.aliases.end()) {
        expand_all(it->second, depth);
        return true;
      }
    }
    if (is_role_address(a)) {
      const std::string t = role_target(a);
      if (!t.empty() && t != a) {
        r.via_alias = true;
        visit(t, depth + 1);
        return true;
      }
    }
    if (auto it = b.catch_all.find(domain_of(a)); it != b.catch_all.end() && !it->second.empty()) {
      r.via_alias = true;
      visit(it->second, depth + 1);
      return true;
    }
    return false;
  }
};

}  // namespace

const char* outcome_name(outcome o) {
  switch (o) {
    case outcome::ok:
      return "ok";
    case outcome::unknown:
      return "unknown";
    case outcome::loop:
      return "loop";
    case outcome::too_deep:
      return "too_deep";
    case outcome::too_many:
      return "too_many";
  }
  return "unknown";
}

resolution resolve(std::string_view address, const book& b, const options& o,
                   const std::function<bool(std::string_view)>& is_local) {
  walker w{b, o, is_local, {}, {}, false};
  const std::string a = common::to_lower(address);
  const bool found = w.visit(a, 0);
  resolution r = std::move(w.r);
  if (!found) {
    r.result = outcome::unknown;
  } else if (w.too_deep) {
    r.result = outcome::too_deep;
  } else if (r.recipients.empty()) {
    r.result = r.loop_seen ? outcome::loop : outcome::unknown;
  } else if (r.recipients.size() > o.max_targets) {
    r.result = outcome::too_many;
  } else {
    r.result = outcome::ok;
  }
  if (r.result != outcome::ok) r.recipients.clear();
  return r;
}

bool is_role_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  auto local = address.substr(0, at);
  return common::iequals(local, "postmaster") || common::iequals(local, "abuse");
}

subaddress split_subaddress(std::string_view address, std::string_view delimiter) {
  subaddress s;
  auto at = address.rfind('@');
  if (delimiter.empty() || at == std::string_view::npos) return s;
  auto local = address.substr(0, at);
  auto d = local.find_first_of(delimiter);
  if (d == std::string_view::npos || d == 0 || d + 1 >= local.size()) return s;
  s.base = common::to_lower(local.substr(0, d)) + "@" + common::to_lower(address.substr(at + 1));
  s.tag = common::to_lower(local.substr(d + 1));
  return s;
}

bool may_send_as(std::string_view login, std::string_view address, const book& b, std::string_view delimiter) {
  if (login.empty() || address.empty()) return false;
  const std::string l = common::to_lower(login);
  const std::string a = common::to_lower(address);
  if (a == l) return true;
  const auto sub = split_subaddress(a, delimiter);
  if (!sub.base.empty() && sub.base == l) return true;
  for (const std::string* cand : {&a, &sub.base}) {
    if (cand->empty()) continue;
    if (auto it = b.senders.find(*cand); it != b.senders.end() && it->second.count(l) != 0) return true;
  }
  return false;
}

bool safe_folder_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

}  // namespace mailfort::address
