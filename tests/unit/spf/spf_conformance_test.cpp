// tests/unit/spf/spf_conformance_test.cpp: the whole RFC 7208 test suite (openspf/pyspf rfc7208-tests.yml).
// SPDX-License-Identifier: MIT
// Each YAML document (section) has its own zonedata, turned into a dns::static_source the way the suite's
// SOURCES.md describes (and pyspf's testspf.py does): SPF-type records are served as TXT when the name
// lists no TXT entry at all; "TXT: NONE" is a name without TXT records; a TIMEOUT item makes every type not
// listed before it time out; names not in zonedata do not exist. CNAMEs are followed here, as a resolver
// would (static_source answers only what it is given). Every case runs through check_mail_from(); where the
// suite lists several results any of them is accepted. Explanations are compared ignoring case (the suite
// writes IPv6 nibbles in upper case, RFC 7208 7.4 in lower case); "DEFAULT" means no exp= text.
#include "spf_test_util.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <ostream>
#include <set>

namespace spf = mailfort::auth::spf;
namespace dns = mailfort::dns;

namespace {

const std::string suite_path = std::string(MAILFORT_CONFORMANCE_DIR) + "/spf/rfc7208-tests.yml";

struct spf_case {
  std::string section, name, helo, host, mailfrom, explanation;
  std::vector<std::string> results;
  std::shared_ptr<dns::static_source> zone;
};

// yaml-cpp hands "\xEF" escapes back as UTF-8 of U+00EF; the suite means the byte 0xEF (read as latin-1).
std::string latin1(const std::string& utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if ((c == 0xc2 || c == 0xc3) && i + 1 < utf8.size()) {
      out += static_cast<char>(((c & 0x1f) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3f));
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

struct name_data {
  std::map<int, std::vector<std::string>> rr;  // type -> RDATA
  std::vector<std::string> spf;                // SPF (99) records, as TXT RDATA
  std::set<int> listed;                        // types listed (with data or NONE)
  bool has_txt_entry = false;
  std::set<int> timeout;  // types that time out
  std::optional<std::string> cname;
};

const int kTypes[] = {dns::rr_type::a, dns::rr_type::aaaa, dns::rr_type::mx, dns::rr_type::txt, dns::rr_type::ptr};

std::shared_ptr<dns::static_source> build_zone(const YAML::Node& zonedata) {
  std::map<std::string, name_data> zone;
  for (const auto& entry : zonedata) {
    auto& nd = zone[lower(latin1(entry.first.as<std::string>()))];
    for (const auto& item : entry.second) {
      if (item.IsScalar()) {
        if (item.as<std::string>() != "TIMEOUT") throw std::runtime_error("unknown item " + item.as<std::string>());
        for (int t : kTypes)
          if (!nd.listed.count(t)) nd.timeout.insert(t);
        continue;
      }
      for (const auto& kv : item) {
        const std::string type = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        auto strings = [&]() {
          std::vector<std::string> s;
          if (v.IsSequence())
            for (const auto& x : v) s.push_back(latin1(x.as<std::string>()));
          else
            s.push_back(latin1(v.as<std::string>()));
          return s;
        };
        if (type == "TXT" || type == "SPF") {
          const bool is_txt = type == "TXT";
          if (is_txt) nd.has_txt_entry = true;
          const int t = is_txt ? dns::rr_type::txt : 99;
          // "NONE" is no record: a TIMEOUT after it still times the type out (txttimeout expects temperror).
          if (v.IsScalar() && v.as<std::string>() == "NONE") continue;
          nd.listed.insert(t);
          if (v.IsScalar() && v.as<std::string>() == "TIMEOUT") {
            if (is_txt) nd.timeout.insert(t);
            continue;
          }
          auto s = strings();
          // An empty list is a TXT record without character-strings (illegal, but must not crash).
          std::string rd = s.empty() ? std::string() : spf_test::txt_rdata(s);
          (is_txt ? nd.rr[dns::rr_type::txt] : nd.spf).push_back(rd);
        } else if (type == "A") {
          nd.listed.insert(dns::rr_type::a);
          nd.rr[dns::rr_type::a].push_back(spf_test::a_rdata(v.as<std::string>()));
        } else if (type == "AAAA") {
          nd.listed.insert(dns::rr_type::aaaa);
          nd.rr[dns::rr_type::aaaa].push_back(spf_test::aaaa_rdata(v.as<std::string>()));
        } else if (type == "MX") {
          nd.listed.insert(dns::rr_type::mx);
          nd.rr[dns::rr_type::mx].push_back(spf_test::mx_rdata(v[0].as<int>(), latin1(v[1].as<std::string>())));
        } else if (type == "PTR") {
          nd.listed.insert(dns::rr_type::ptr);
          nd.rr[dns::rr_type::ptr].push_back(spf_test::name_rdata(v.as<std::string>()));
        } else if (type == "CNAME") {
          nd.cname = lower(v.as<std::string>());
        } else {
          throw std::runtime_error("unknown type " + type);
        }
      }
    }
    if (!nd.has_txt_entry && !nd.spf.empty()) nd.rr[dns::rr_type::txt] = nd.spf;
  }

  auto src = std::make_shared<dns::static_source>();
  for (const auto& [name, nd] : zone) {
    bool added = false;
    for (int t : kTypes) {
      if (nd.timeout.count(t)) {
        dns::lookup_result r;
        r.st = dns::status::timeout;
        src->add(name, t, r);
        added = true;
        continue;
      }
      if (nd.cname) {
        // Follow the chain as a resolver would; a loop is a server failure.
        std::string target = *nd.cname;
        dns::lookup_result r;
        r.st = dns::status::servfail;
        for (int hop = 0; hop < 8; ++hop) {
          auto it = zone.find(target);
          if (it == zone.end()) {
            r.st = dns::status::nxdomain;
            break;
          }
          if (it->second.cname) {
            target = *it->second.cname;
            continue;
          }
          auto rr = it->second.rr.find(t);
          if (rr != it->second.rr.end()) {
            r.st = dns::status::ok;
            r.records = rr->second;
          } else {
            r.st = dns::status::nodata;
          }
          break;
        }
        src->add(name, t, r);
        added = true;
        continue;
      }
      if (auto it = nd.rr.find(t); it != nd.rr.end()) {
        src->add_records(name, t, it->second);
        added = true;
      } else if (nd.listed.count(t) || (t == dns::rr_type::txt && nd.has_txt_entry)) {
        src->add_records(name, t, {});
        added = true;
      }
    }
    if (!added) src->add_records(name, dns::rr_type::txt, {});  // the name exists, with other data only
  }
  return src;
}

std::vector<spf_case> load_suite() {
  std::vector<spf_case> out;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(suite_path);
  } catch (const std::exception&) {
    return out;
  }
  for (const auto& doc : docs) {
    if (!doc["tests"]) continue;
    auto zone = build_zone(doc["zonedata"]);
    const std::string section = doc["description"].as<std::string>();
    for (const auto& t : doc["tests"]) {
      spf_case c;
      c.section = section;
      c.name = t.first.as<std::string>();
      c.helo = latin1(t.second["helo"].as<std::string>());
      c.host = t.second["host"].as<std::string>();
      c.mailfrom = latin1(t.second["mailfrom"].as<std::string>());
      if (t.second["explanation"]) c.explanation = t.second["explanation"].as<std::string>();
      const auto& res = t.second["result"];
      if (res.IsSequence())
        for (const auto& r : res) c.results.push_back(r.as<std::string>());
      else
        c.results.push_back(res.as<std::string>());
      c.zone = zone;
      out.push_back(std::move(c));
    }
  }
  return out;
}

const std::vector<spf_case>& suite() {
  static const std::vector<spf_case> cases = load_suite();
  return cases;
}

// gtest prints parameters on failure; name them instead of dumping bytes.
void PrintTo(const spf_case& c, std::ostream* os) { *os << c.section << " / " << c.name; }

class rfc7208_suite : public ::testing::TestWithParam<spf_case> {};

TEST_P(rfc7208_suite, case_passes) {
  const spf_case& c = GetParam();
  auto ip = spf::parse_ip(c.host);
  ASSERT_TRUE(ip) << c.host;
  auto r = spf_test::run(spf::check_mail_from(*c.zone, *ip, c.helo, c.mailfrom));
  const std::string got = spf::to_string(r.code);
  EXPECT_NE(std::find(c.results.begin(), c.results.end(), got), c.results.end())
      << c.section << " / " << c.name << ": got " << got << " (" << r.reason << "), want " << c.results.front();
  if (!c.explanation.empty() && got == "fail") {
    if (c.explanation == "DEFAULT")
      EXPECT_EQ(r.explanation, "") << c.name;
    else
      EXPECT_EQ(lower(r.explanation), lower(c.explanation)) << c.name;
  }
  EXPECT_LE(r.dns_lookups, 11);  // the 11th term is where the permerror is raised
  EXPECT_LE(r.void_lookups, 3);
}

std::string case_name(const ::testing::TestParamInfo<spf_case>& info) {
  std::string n = std::to_string(info.index) + "_" + info.param.name;
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(all, rfc7208_suite, ::testing::ValuesIn(suite()), case_name);

// The suite must actually be there and complete: 16 sections, 203 cases (SOURCES.md).
TEST(rfc7208_suite_file, is_complete) {
  ASSERT_EQ(suite().size(), 203u) << suite_path;
  std::set<std::string> sections;
  for (const auto& c : suite()) sections.insert(c.section);
  EXPECT_EQ(sections.size(), 16u);
}

}  // namespace
