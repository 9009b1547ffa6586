// tests/unit/dmarc/dmarc_report_test.cpp: the aggregate report XML (RFC 7489 Appendix C), its escaping, and the
// pieces the report sender takes from auth/dmarc: policy answers and report destinations (RFC 7489 7.1).
// SPDX-License-Identifier: MIT
#include "auth/dmarc.hpp"
#include "auth/dmarc_report.hpp"
#include "dmarc_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using namespace mailfort::dmarc;
namespace dns = mailfort::dns;

namespace {

aggregate_report sample_report() {
  aggregate_report in;
  in.org_name = "mx.receiver.example";
  in.email = "postmaster@mx.receiver.example";
  in.report_id = "2026-12-03.example.com.00ff@mx.receiver.example";
  in.begin = 1796256000;
  in.end = 1796342399;
  in.policy_domain = "example.com";
  in.policy = *parse_record("v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=50; rua=mailto:d@example.com").value;
  in.rows = {{"192.0.2.1", "reject", "fail", "fail", "example.com", 3},
             {"192.0.2.2", "none", "pass", "fail", "example.com", 5},
             {"192.0.2.1", "reject", "fail", "fail", "example.com", 4}};  // same record: merged
  return in;
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

dns::lookup_result txt_answer(std::vector<std::string> texts, dns::status st = dns::status::ok) {
  dns::lookup_result r;
  r.st = st;
  for (const auto& t : texts) r.records.push_back(dmarc_test::txt_rdata(t));
  return r;
}

}  // namespace

TEST(DmarcReportXml, MetadataPolicyAndMergedRecords) {
  const auto xml = build_aggregate_report_xml(sample_report());
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n", 0), 0u) << xml;
  EXPECT_NE(xml.find("<org_name>mx.receiver.example</org_name>"), std::string::npos);
  EXPECT_NE(xml.find("<email>postmaster@mx.receiver.example</email>"), std::string::npos);
  EXPECT_NE(xml.find("<report_id>2026-12-03.example.com.00ff@mx.receiver.example</report_id>"), std::string::npos);
  EXPECT_NE(xml.find("<begin>1796256000</begin>"), std::string::npos);
  EXPECT_NE(xml.find("<end>1796342399</end>"), std::string::npos);
  EXPECT_NE(
      xml.find("<policy_published>\n    <domain>example.com</domain>\n    <adkim>s</adkim>\n    <aspf>r</aspf>\n"
               "    <p>reject</p>\n    <sp>quarantine</sp>\n    <pct>50</pct>\n    <fo>0</fo>\n  </policy_published>"),
      std::string::npos)
      << xml;
  EXPECT_EQ(count_of(xml, "<record>"), 2u);
  EXPECT_EQ(count_of(xml, "</record>"), 2u);
  EXPECT_NE(xml.find("<source_ip>192.0.2.1</source_ip>\n      <count>7</count>\n      <policy_evaluated>\n"
                     "        <disposition>reject</disposition>\n        <dkim>fail</dkim>\n        <spf>fail</spf>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<source_ip>192.0.2.2</source_ip>\n      <count>5</count>"), std::string::npos);
  EXPECT_EQ(count_of(xml, "<header_from>example.com</header_from>"), 2u);
  EXPECT_EQ(count_of(xml, "<auth_results>"), 2u);
  // Rows without raw results (stored before they were kept) still carry the one <spf> Appendix C requires.
  EXPECT_EQ(
      count_of(xml, "<spf>\n        <domain></domain>\n        <scope>mfrom</scope>\n        <result>none</result>"),
      2u)
      << xml;
  EXPECT_EQ(xml.substr(xml.size() - 12), "</feedback>\n");
}

TEST(DmarcReportXml, EscapesTextAndKeepsEnumerationsInTheirSets) {
  auto in = sample_report();
  in.org_name = "a<b>&\"c'";
  in.rows = {{"<script>", "drop-it", "maybe", "pass", "x&y.example\x01\xff", 1},
             {"192.0.2.9", "none", "pass", "pass", "zero.example", 0},   // count 0: left out
             {"192.0.2.8", "none", "pass", "pass", "neg.example", -5}};  // negative counts as 0
  const auto xml = build_aggregate_report_xml(in);
  EXPECT_NE(xml.find("<org_name>a&lt;b&gt;&amp;&quot;c&apos;</org_name>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<source_ip>&lt;script&gt;</source_ip>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<disposition>none</disposition>"), std::string::npos);
  EXPECT_NE(xml.find("<dkim>fail</dkim>"), std::string::npos);
  EXPECT_NE(xml.find("<header_from>x&amp;y.example\xEF\xBF\xBD\xEF\xBF\xBD</header_from>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("zero.example"), std::string::npos);
  EXPECT_EQ(xml.find("neg.example"), std::string::npos);
  EXPECT_EQ(count_of(xml, "<record>"), 1u);
}

TEST(DmarcReportXml, TextIsValidUtf8XmlCharacters) {
  EXPECT_EQ(xml_text("plain.example"), "plain.example");
  EXPECT_EQ(xml_text("caf\xC3\xA9"), "caf\xC3\xA9");                            // valid UTF-8 is kept
  EXPECT_EQ(xml_text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(xml_text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(xml_text("\xEF\xBF\xBF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFF is no XML character
  EXPECT_EQ(xml_text(std::string("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(xml_text("tab\there"), "tab\there");
}

TEST(DmarcReportXml, CountsSaturate) {
  auto in = sample_report();
  in.rows = {{"192.0.2.1", "none", "pass", "pass", "example.com", INT64_MAX},
             {"192.0.2.1", "none", "pass", "pass", "example.com", 10}};
  const auto xml = build_aggregate_report_xml(in);
  EXPECT_NE(xml.find("<count>" + std::to_string(INT64_MAX) + "</count>"), std::string::npos);
}

TEST(DmarcReportDestination, MailtoOnlyAndOrganizationalDomain) {
  auto same = report_destination_of("mail.example.com", {"mailto:dmarc@reports.example.com?subject=x", 1024});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->address, "dmarc@reports.example.com");
  EXPECT_EQ(same->domain, "reports.example.com");
  EXPECT_EQ(same->verify_name, "");  // same organizational domain: no check
  EXPECT_EQ(same->max_size_bytes, 1024u);

  auto ext = report_destination_of("Example.COM", {"MAILTO:rua@Vendor.Example.NET", std::nullopt});
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->domain, "vendor.example.net");
  EXPECT_EQ(ext->verify_name, "example.com._report._dmarc.vendor.example.net");

  EXPECT_FALSE(report_destination_of("example.com", {"https://reports.example.com/dmarc", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:@example.com", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:a@b@example.com", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:a b@example.com", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:<a>@example.com", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:a@example..com", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:a@example.com.", std::nullopt}));
  EXPECT_FALSE(report_destination_of("example.com", {"mailto:a@", std::nullopt}));
}

TEST(DmarcReportDestination, AuthorisationRecord) {
  EXPECT_TRUE(report_destination_authorized(txt_answer({"v=DMARC1"})));
  EXPECT_TRUE(report_destination_authorized(txt_answer({"unrelated", "v=DMARC1;"})));
  EXPECT_FALSE(report_destination_authorized(txt_answer({"v=spf1 -all"})));
  EXPECT_FALSE(report_destination_authorized(txt_answer({}, dns::status::nxdomain)));
  auto bogus = txt_answer({"v=DMARC1"});
  bogus.sec = dns::dnssec::bogus;
  EXPECT_FALSE(report_destination_authorized(bogus));
}

TEST(DmarcReportDestination, UsableReportUrisUsesTheSameRules) {
  dmarc_test::recording_source src;
  src.table.add_records("example.com._report._dmarc.ok.example", dns::rr_type::txt,
                        {dmarc_test::txt_rdata("v=DMARC1")});
  std::vector<report_uri> uris = {{"mailto:a@example.com", std::nullopt},
                                  {"mailto:b@ok.example", std::nullopt},
                                  {"mailto:c@no.example", std::nullopt},
                                  {"https://example.com/r", std::nullopt},
                                  {"mailto:d e@example.com", std::nullopt}};
  auto got = dmarc_test::run(usable_report_uris(src, "example.com", uris));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].uri, "mailto:a@example.com");
  EXPECT_EQ(got[1].uri, "mailto:b@ok.example");
  EXPECT_EQ(src.seen.size(), 2u);
}

TEST(DmarcPolicyAnswer, SingleUsableRecord) {
  auto one = policy_answer_of(txt_answer({"v=spf1 -all", "v=DMARC1; p=quarantine; rua=mailto:a@example.com"}));
  EXPECT_FALSE(one.temp_fail);
  ASSERT_TRUE(single_record(one));
  EXPECT_EQ(single_record(one)->p, policy::quarantine);
  auto two = policy_answer_of(txt_answer({"v=DMARC1; p=none", "v=DMARC1; p=reject"}));
  EXPECT_FALSE(single_record(two));
  EXPECT_EQ(two.dmarc.size(), 2u);
  EXPECT_FALSE(single_record(policy_answer_of(txt_answer({}, dns::status::nxdomain))));
  EXPECT_TRUE(policy_answer_of(txt_answer({}, dns::status::servfail)).temp_fail);
  EXPECT_TRUE(policy_answer_of(txt_answer({}, dns::status::timeout)).temp_fail);
}

// Issue 15 item 8: <auth_results> carries the raw results of the row: one <dkim> per signature, then the <spf>.
TEST(DmarcReportXml, AuthResultsCarryTheRawResults) {
  auto in = sample_report();
  raw_auth raw;
  raw.spf = {"bounce.example.com", "mfrom", "softfail"};
  raw.dkim = {{"example.com", "s1", "pass"}, {"other.example", "", "fail"}, {"x.example", "k", "bogus-result"}};
  in.rows = {{"2001:db8::7", "none", "pass", "fail", "example.com", 2, encode_raw_auth(raw)}};
  const auto xml = build_aggregate_report_xml(in);
  EXPECT_NE(xml.find("<source_ip>2001:db8:0:0:0:0:0:7</source_ip>"), std::string::npos) << xml;  // schema's form
  EXPECT_NE(xml.find("<auth_results>\n      <dkim>\n        <domain>example.com</domain>\n        <selector>s1"
                     "</selector>\n        <result>pass</result>\n      </dkim>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<domain>other.example</domain>\n        <result>fail</result>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<domain>x.example</domain>\n        <selector>k</selector>\n        <result>permerror"),
            std::string::npos);
  EXPECT_NE(xml.find("<spf>\n        <domain>bounce.example.com</domain>\n        <scope>mfrom</scope>\n"
                     "        <result>softfail</result>\n      </spf>\n    </auth_results>"),
            std::string::npos)
      << xml;
}

TEST(DmarcReportXml, RawAuthRoundTripsAnyBytes) {
  raw_auth raw;
  raw.spf = {"a%b\tc\nd", "helo", "pass"};
  raw.dkim = {{"d\n", "s%09", "none"}};
  const auto back = decode_raw_auth(encode_raw_auth(raw));
  EXPECT_EQ(back.spf.domain, raw.spf.domain);
  EXPECT_EQ(back.spf.scope, "helo");
  ASSERT_EQ(back.dkim.size(), 1u);
  EXPECT_EQ(back.dkim[0].domain, "d\n");
  EXPECT_EQ(back.dkim[0].selector, "s%09");
  EXPECT_EQ(decode_raw_auth("garbage").spf.result, "none");
}

// Issue 15 item 8: every report the builder writes validates against the RFC 7489 Appendix C schema
// (tests/schemas/, with xmllint; the document's elements are put into the schema's namespace first, see the
// README there). Skipped where xmllint is not installed (scripts/install-deps.sh installs libxml2-utils).
TEST(DmarcReportXml, EveryReportValidatesAgainstTheRfc7489Schema) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) GTEST_SKIP() << "xmllint not installed";
  const std::string xsd = std::string(MAILFORT_CONFORMANCE_DIR) + "/../schemas/rfc7489-dmarc-aggregate.xsd";
  std::vector<aggregate_report> reports;
  reports.push_back(sample_report());  // rows without raw results
  auto with_auth = sample_report();
  raw_auth raw;
  raw.spf = {"bounce.example.com", "helo", "temperror"};
  raw.dkim = {{"example.com", "s1", "pass"}, {"", "", "permerror"}, {"x.example", "k", "odd"}};
  with_auth.rows = {{"2001:db8::7", "quarantine", "pass", "fail", "example.com", 2, encode_raw_auth(raw)},
                    {"::ffff:192.0.2.5", "none", "fail", "pass", "example.com", 1, encode_raw_auth(raw_auth{})},
                    {"192.0.2.200", "reject", "fail", "fail", "example.com", 9, "not an encoding"}};
  reports.push_back(with_auth);
  auto hostile = sample_report();
  hostile.org_name = "a<b>&\"c'\x01";
  hostile.policy = *parse_record("v=DMARC1; p=none; fo=1:d; pct=0").value;
  hostile.rows = {{"192.0.2.1", "drop-it", "maybe", "pass", "x&y.example\x01\xff", 1}};
  reports.push_back(hostile);
  int n = 0;
  for (const auto& r : reports) {
    std::string xml = build_aggregate_report_xml(r);
    const auto root = xml.find("<feedback>");
    ASSERT_NE(root, std::string::npos);
    xml.replace(root, 10, "<feedback xmlns=\"http://dmarc.org/dmarc-xml/0.1\">");
    const std::string path = ::testing::TempDir() + "/dmarc-report-" + std::to_string(n++) + ".xml";
    std::ofstream(path) << xml;
    const std::string cmd = "xmllint --noout --nonet --schema '" + xsd + "' '" + path + "' 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << xml;
    std::remove(path.c_str());
  }
}
