// tests/unit/log/events_test.cpp: the declared events and reject rules (log/events.hpp) are exactly the ones
// docs/log-events.md documents, and docs/metrics.md names exactly the events that move a metric. The documents
// are read from the repository.
// SPDX-License-Identifier: MIT
#include "log/events.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace mailfort;

namespace {

std::string read_doc(const std::string& rel) {
  std::ifstream f(std::string(MAILFORT_SOURCE_DIR) + "/" + rel);
  EXPECT_TRUE(f.good()) << rel;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  for (auto& c : out) {
    auto b = c.find_first_not_of(' ');
    auto e = c.find_last_not_of(' ');
    c = b == std::string::npos ? std::string() : c.substr(b, e - b + 1);
  }
  return out;
}

// Every `name` (lower case, digits, _) quoted in `text`.
std::vector<std::string> quoted_names(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find('`', pos)) != std::string::npos) {
    auto end = text.find('`', pos + 1);
    if (end == std::string::npos) break;
    std::string n = text.substr(pos + 1, end - pos - 1);
    bool plain = !n.empty();
    for (char c : n) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (plain) out.push_back(n);
    pos = end + 1;
  }
  return out;
}

// The names in the first column of every table whose first header cell is `header` ("event", "rule").
std::multiset<std::string> first_column(const std::string& doc, const std::string& header) {
  std::multiset<std::string> out;
  std::istringstream in(doc);
  std::string line;
  bool in_table = false, header_seen = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '|') {
      in_table = header_seen = false;
      continue;
    }
    auto c = cells(line);
    if (c.empty()) continue;
    if (!header_seen) {
      header_seen = true;
      in_table = c[0] == header;
      continue;
    }
    if (!in_table || c[0].find_first_not_of("-:") == std::string::npos) continue;
    for (auto& n : quoted_names(c[0])) out.insert(n);
  }
  return out;
}

std::string diff(const std::multiset<std::string>& doc, const std::multiset<std::string>& declared) {
  std::string r;
  for (const auto& n : doc)
    if (!declared.count(n)) r += " documented, not declared: " + n + ";";
  for (const auto& n : declared)
    if (!doc.count(n)) r += " declared, not documented: " + n + ";";
  for (const auto& n : std::set<std::string>(doc.begin(), doc.end()))
    if (doc.count(n) > 1) r += " documented twice: " + n + ";";
  return r;
}

}  // namespace

TEST(events, names_are_unique_and_round_trip) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < log::k_events.size(); ++i) {
    EXPECT_TRUE(seen.insert(log::k_events[i].name).second) << log::k_events[i].name;
    EXPECT_EQ(log::find_event(log::k_events[i].name), static_cast<log::event_id>(i));
  }
  EXPECT_EQ(log::name(log::event_id::queued), "queued");
  EXPECT_EQ(log::name(log::reject_rule::bare_lf), "bare_lf");
  EXPECT_FALSE(log::find_event("no_such_event").has_value());
}

TEST(events, log_events_md_documents_exactly_the_declared_events) {
  std::multiset<std::string> declared;
  for (const auto& e : log::k_events) declared.insert(std::string(e.name));
  auto documented = first_column(read_doc("docs/log-events.md"), "event");
  EXPECT_EQ(documented, declared) << diff(documented, declared);
}

TEST(events, log_events_md_documents_exactly_the_declared_reject_rules) {
  std::multiset<std::string> declared;
  for (const auto& r : log::k_reject_rules) declared.insert(std::string(r));
  auto documented = first_column(read_doc("docs/log-events.md"), "rule");
  EXPECT_EQ(documented, declared) << diff(documented, declared);
}

TEST(events, metrics_md_names_exactly_the_events_that_move_a_metric) {
  std::multiset<std::string> declared;
  for (const auto& e : log::k_events)
    if (e.metric) declared.insert(std::string(e.name));
  auto documented = first_column(read_doc("docs/metrics.md"), "event");
  EXPECT_EQ(documented, declared) << diff(documented, declared);
}
