// tests/unit/dmarc/dmarc_conformance_test.cpp: every case of tests/conformance/dmarc/cases.yaml and
// record-parse.yaml, read in place.
// SPDX-License-Identifier: MIT
#include "auth/dmarc.hpp"
#include "dmarc/dmarc_test_util.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

using namespace mailfort;
using dmarc_test::run;

namespace {

// A TXT record given as a string or as a list of character-strings.
std::vector<std::string> txt_strings(const YAML::Node& n) {
  if (n.IsSequence()) return n.as<std::vector<std::string>>();
  return {n.as<std::string>()};
}

std::string joined(const YAML::Node& n) {
  std::string s;
  for (const auto& part : txt_strings(n)) s += part;
  return s;
}

void load_dns(dmarc_test::recording_source& src, const YAML::Node& dns_node) {
  if (!dns_node || !dns_node.IsMap()) return;
  for (const auto& name_entry : dns_node) {
    const auto name = name_entry.first.as<std::string>();
    for (const auto& type_entry : name_entry.second) {
      const auto type = type_entry.first.as<std::string>();
      std::vector<std::string> rdata;
      int rr = 0;
      for (const auto& rec : type_entry.second) {
        if (type == "TXT") {
          rr = dns::rr_type::txt;
          rdata.push_back(dmarc_test::txt_rdata(txt_strings(rec)));
        } else if (type == "A") {
          rr = dns::rr_type::a;
          rdata.push_back(dmarc_test::a_rdata(rec.as<std::string>()));
        } else if (type == "MX") {
          rr = dns::rr_type::mx;
          rdata.push_back(dmarc_test::mx_rdata(rec.as<std::string>()));
        } else {
          ADD_FAILURE() << "unhandled type " << type << " in the case data";
        }
      }
      src.table.add_records(name, rr, std::move(rdata));
    }
  }
}

std::optional<std::string> opt_string(const YAML::Node& n) {
  if (!n || n.IsNull()) return std::nullopt;
  return n.as<std::string>();
}

const char* policy_name(std::optional<dmarc::policy> p) { return p ? dmarc::to_string(*p) : "null"; }

// Compares one expected tag of record-parse.yaml / cases.yaml with the parsed record.
void check_tag(const dmarc::record& r, const std::string& tag, const YAML::Node& want) {
  SCOPED_TRACE("tag " + tag);
  auto uris = [&](const std::vector<dmarc::report_uri>& got) {
    if (want.IsScalar()) {  // cases.yaml: just the first URI as a string
      ASSERT_FALSE(got.empty());
      EXPECT_EQ(got.front().uri, want.as<std::string>());
      return;
    }
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].uri, want[k]["uri"].as<std::string>());
      const auto& sz = want[k]["max_size_bytes"];
      if (sz.IsNull())
        EXPECT_FALSE(got[k].max_size_bytes.has_value());
      else
        EXPECT_EQ(got[k].max_size_bytes, std::optional<std::uint64_t>(sz.as<std::uint64_t>()));
    }
  };
  if (tag == "v")
    EXPECT_EQ(want.as<std::string>(), "DMARC1");  // a parsed record always is
  else if (tag == "p")
    EXPECT_STREQ(dmarc::to_string(r.p), want.as<std::string>().c_str());
  else if (tag == "sp")
    EXPECT_STREQ(dmarc::to_string(r.sp), want.as<std::string>().c_str());
  else if (tag == "np")
    EXPECT_STREQ(dmarc::to_string(r.np), want.as<std::string>().c_str());
  else if (tag == "adkim")
    EXPECT_STREQ(dmarc::to_string(r.adkim), want.as<std::string>().c_str());
  else if (tag == "aspf")
    EXPECT_STREQ(dmarc::to_string(r.aspf), want.as<std::string>().c_str());
  else if (tag == "pct")
    EXPECT_EQ(r.pct, want.as<int>());
  else if (tag == "ri")
    EXPECT_EQ(r.ri, want.as<std::uint32_t>());
  else if (tag == "fo")
    EXPECT_EQ(r.fo, want.as<std::vector<std::string>>());
  else if (tag == "rua")
    uris(r.rua);
  else if (tag == "ruf")
    uris(r.ruf);
  else if (tag == "psd")
    EXPECT_EQ(std::string(1, r.psd), want.as<std::string>());
  else if (tag == "t")
    EXPECT_EQ(r.t, want.as<bool>());
  else
    ADD_FAILURE() << "unknown expected tag " << tag;
}

}  // namespace

namespace {

// Runs every case (tree walk, RFC 9989) or, with `psl`, the cases both RFCs agree on under RFC 7489's
// Public Suffix List discovery (minus the tree walk's exact query sequence).
void run_cases(bool psl) {
  const YAML::Node doc = YAML::LoadFile(dmarc_test::conformance_dir + "cases.yaml");
  ASSERT_EQ(doc["format"].as<std::string>(), "mailfort-dmarc-cases/1");
  std::size_t count = 0;
  std::set<std::string> keys_checked;
  for (const auto& c : doc["cases"]) {
    ++count;
    if (psl && c["spec"].as<std::string>() != "both") continue;
    const auto id = c["id"].as<std::string>();
    SCOPED_TRACE(id);
    dmarc_test::recording_source src;
    load_dns(src, c["dns"]);
    if (c["dns_failure"]) src.fail_all = true;

    dmarc::input in;
    in.from.domain = c["header_from_domain"].as<std::string>();
    for (const auto& d : c["dkim_pass_domains"]) in.dkim_passes.push_back(d.as<std::string>());
    // Failed DKIM signatures are not passed in: only passing identifiers can align (RFC 7489 3.1).
    if (auto spf = opt_string(c["spf_pass_domain"]))
      in.spf = {"pass", *spf};
    else if (auto spf_fail = opt_string(c["spf_fail_domain"]))
      in.spf = {"fail", *spf_fail};
    in.pct_roll = 99;  // the least favourable roll: pct must still never change the result
    if (psl) in.mode = dmarc::discovery::psl;

    const dmarc::result r = run(dmarc::evaluate(src, in));
    const YAML::Node& e = c["expected"];
    for (const auto& kv : e) {
      const auto key = kv.first.as<std::string>();
      keys_checked.insert(key);
      const YAML::Node& want = kv.second;
      SCOPED_TRACE("key " + key);
      if (key == "result") {
        EXPECT_EQ(dmarc::to_string(r.result), want.as<std::string>()) << r.reason;
      } else if (key == "policy") {
        EXPECT_EQ(policy_name(r.requested), want.IsNull() ? "null" : want.as<std::string>()) << r.reason;
      } else if (key == "policy_domain") {
        EXPECT_EQ(r.policy_domain, want.as<std::string>());
      } else if (key == "dkim_aligned") {
        EXPECT_EQ(r.dkim_aligned, want.as<bool>());
      } else if (key == "spf_aligned") {
        EXPECT_EQ(r.spf_aligned, want.as<bool>());
      } else if (key == "record") {
        ASSERT_TRUE(r.rec.has_value());
        for (const auto& t : want) check_tag(*r.rec, t.first.as<std::string>(), t.second);
      } else if (key == "dmarc_queries") {
        if (psl) continue;
        EXPECT_EQ(src.txt_queries(), want.as<std::vector<std::string>>());
        EXPECT_EQ(r.queries, want.as<std::vector<std::string>>());
      } else if (key == "auth_results") {
        const std::string ar = auth::format_authentication_results("mx.example.net", {dmarc::ar_entry_for(r)});
        for (const auto& p : want)
          EXPECT_NE(ar.find(p.first.as<std::string>() + "=" + p.second.as<std::string>()), std::string::npos) << ar;
      } else {
        ADD_FAILURE() << "unknown expected key " << key;
      }
    }
    // Invariants over every case: a pass applies nothing; only a fail applies a policy.
    if (r.result != dmarc::result_kind::fail) {
      EXPECT_EQ(r.applied, dmarc::policy::none);
    }
    if (r.result == dmarc::result_kind::pass) {
      EXPECT_TRUE(r.spf_aligned || r.dkim_aligned);
    }
  }
  EXPECT_EQ(count, 47u);
  EXPECT_EQ(keys_checked.count("dmarc_queries"), psl ? 0u : 1u);
}

}  // namespace

TEST(DmarcConformance, PolicyEvaluationCases) { run_cases(false); }

TEST(DmarcConformance, PolicyEvaluationCasesBothRfcsWithPsl) { run_cases(true); }

TEST(DmarcConformance, RecordParseCases) {
  const YAML::Node doc = YAML::LoadFile(dmarc_test::conformance_dir + "record-parse.yaml");
  ASSERT_EQ(doc["format"].as<std::string>(), "mailfort-dmarc-records/1");
  std::size_t count = 0;
  for (const auto& c : doc["cases"]) {
    ++count;
    SCOPED_TRACE(c["id"].as<std::string>());
    const std::string txt = joined(c["record"]);
    const auto res = dmarc::parse_record(txt);
    const YAML::Node& e = c["expect"];
    if (e.IsScalar()) {
      const auto what = e.as<std::string>();
      EXPECT_FALSE(res.value.has_value());
      if (what == "not-a-dmarc-record") {
        EXPECT_EQ(res.error, dmarc::record_error::not_dmarc);
      } else {
        EXPECT_EQ(what, "invalid");
      }
      continue;
    }
    ASSERT_TRUE(res.value.has_value()) << dmarc::to_string(res.error);
    for (const auto& t : e) check_tag(*res.value, t.first.as<std::string>(), t.second);
  }
  EXPECT_EQ(count, 11u);
}

TEST(DmarcConformance, ExternalReportDestination) {
  const YAML::Node doc = YAML::LoadFile(dmarc_test::conformance_dir + "record-parse.yaml");
  std::size_t count = 0;
  for (const auto& c : doc["external_report_destination"]) {
    ++count;
    SCOPED_TRACE(c["id"].as<std::string>());
    dmarc_test::recording_source src;
    load_dns(src, c["dns"]);
    std::vector<dmarc::report_uri> uris;
    for (const auto& u : c["rua"]) uris.push_back({u.as<std::string>(), std::nullopt});
    const auto usable = run(dmarc::usable_report_uris(src, c["policy_domain"].as<std::string>(), uris));
    std::vector<std::string> got;
    for (const auto& u : usable) got.push_back(u.uri);
    EXPECT_EQ(got, c["expect_usable"].as<std::vector<std::string>>());
    // The in-domain address needs no DNS; the two outside ones are checked once each.
    EXPECT_EQ(src.seen.size(), 2u);
  }
  EXPECT_EQ(count, 1u);
}
