// tests/unit/dmarc/dmarc_from_test.cpp: RFC5322.From extraction (bad input 49), organizational domains,
// and evaluation details the conformance cases do not pin down (From errors, pct, PSL mode, DNS failure).
// SPDX-License-Identifier: MIT
#include "auth/dmarc.hpp"
#include "dmarc/dmarc_test_util.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
using dmarc_test::run;

namespace {

dmarc::from_result from_of(const std::string& msg) {
  auto parsed = auth::parse_message(msg);
  EXPECT_TRUE(parsed.message.has_value());
  if (!parsed.message) return {};
  return dmarc::from_domain(*parsed.message);
}

dmarc::from_result from_value(const std::string& v) { return dmarc::from_field_value(v); }

std::optional<std::string> dom(const std::string& v) { return from_value(v).domain; }

}  // namespace

TEST(DmarcFrom, SingleMailboxForms) {
  EXPECT_EQ(dom(" alice@Example.COM"), "example.com");
  EXPECT_EQ(dom(" Alice <alice@example.com>"), "example.com");
  EXPECT_EQ(dom(" \"Doe, Jane\" <jane@example.org>"), "example.org");                           // comma inside quotes
  EXPECT_EQ(dom(" \"evil@attacker.example\" <jane@example.org>"), "example.org");               // '@' in a display name
  EXPECT_EQ(dom(" jane@example.org (Jane <x@attacker.example>, y@z.example)"), "example.org");  // comment
  EXPECT_EQ(dom(" (comment (nested)) jane(c)@(c)example.org"), "example.org");
  EXPECT_EQ(dom(" \"a@b\"@example.org"), "example.org");                // quoted local part holding '@'
  EXPECT_EQ(dom(" Jane\r\n <jane@example.org>"), "example.org");        // folded
  EXPECT_EQ(dom(" <jane@example.org.>"), "example.org");                // trailing root dot
  EXPECT_EQ(dom(" <@relay.example:jane@example.org>"), "example.org");  // obs-route
  EXPECT_EQ(dom(" Friends: jane@example.org;"), "example.org");         // group with one member
  EXPECT_EQ(dom(" jane@xn--e1afmkfd.xn--p1ai"), "xn--e1afmkfd.xn--p1ai");
}

TEST(DmarcFrom, BadInput49Variants) {
  // Two From fields.
  auto two = from_of("From: a@example.com\r\nFrom: b@attacker.example\r\nSubject: x\r\n\r\nbody");
  EXPECT_FALSE(two.domain);
  EXPECT_EQ(two.error, dmarc::from_error::multiple_fields);
  EXPECT_EQ(two.domains, (std::vector<std::string>{"example.com", "attacker.example"}));
  // Case-insensitive field name still counts as From.
  EXPECT_EQ(from_of("from: a@example.com\r\nFROM: a@example.com\r\n\r\n").error, dmarc::from_error::multiple_fields);
  // One field, two mailboxes (even in the same domain).
  auto mb = from_value(" a@example.com, b@attacker.example");
  EXPECT_FALSE(mb.domain);
  EXPECT_EQ(mb.error, dmarc::from_error::multiple_mailboxes);
  EXPECT_EQ(mb.domains.size(), 2u);
  EXPECT_EQ(from_value(" a@example.com, b@example.com").error, dmarc::from_error::multiple_mailboxes);
  EXPECT_EQ(from_value(" G: a@example.com, b@attacker.example;").error, dmarc::from_error::multiple_mailboxes);
  // No From.
  EXPECT_EQ(from_of("Subject: x\r\n\r\nbody").error, dmarc::from_error::no_from);
  // Empty, empty group, null address.
  EXPECT_EQ(from_value("").error, dmarc::from_error::no_mailbox);
  EXPECT_EQ(from_value(" undisclosed-recipients:;").error, dmarc::from_error::no_mailbox);
  EXPECT_EQ(from_value(" <>").error, dmarc::from_error::unparseable);
  // Unparseable forms.
  for (const char* v : {" \"unterminated@example.com", " (open comment a@example.com", " <a@example.com",
                        " a@example.com>", " a@[192.0.2.1]", " nobody", " a@exa mple.com>", " a@-", " a@.example.com",
                        " a@example..com", " <a@example.com> trailing@x.example", " a@ex\xc3\xa4mple.com"}) {
    SCOPED_TRACE(v);
    const auto r = from_value(v);
    EXPECT_FALSE(r.domain);
  }
  // Deep comment nesting is refused, not recursed.
  EXPECT_FALSE(dom(" " + std::string(5000, '(') + "a@example.com" + std::string(5000, ')')));
  // Over-long values are refused.
  EXPECT_FALSE(dom(" a@example.com (" + std::string(dmarc::max_from_length, 'x') + ")"));
}

TEST(DmarcFrom, EvaluateNeverPassesWithoutSingleFrom) {
  dmarc_test::recording_source src;
  src.table.add_records("_dmarc.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=quarantine")});
  src.table.add_records("_dmarc.attacker.example", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=none")});

  // Two From fields, DKIM passes for both: still fail, with the strictest policy of the two domains.
  dmarc::input in;
  in.from = from_of("From: a@example.com\r\nFrom: b@attacker.example\r\n\r\n");
  in.dkim_passes = {"example.com", "attacker.example"};
  in.spf = {"pass", "attacker.example"};
  auto r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::fail);
  EXPECT_EQ(r.applied, dmarc::policy::quarantine);
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_FALSE(r.spf_aligned || r.dkim_aligned);

  // No From, no policy anywhere: permerror, and mailfort refuses the message.
  in.from = from_of("Subject: x\r\n\r\n");
  r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::permerror);
  EXPECT_EQ(r.applied, dmarc::policy::reject);
  EXPECT_EQ(r.reason, "no From field");
  const auto entry = dmarc::ar_entry_for(r);
  EXPECT_EQ(entry.result, "permerror");
  EXPECT_TRUE(entry.properties.empty());
}

TEST(DmarcEvaluate, PctSamplesOnlyTheDisposition) {
  dmarc_test::recording_source src;
  src.table.add_records("_dmarc.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=reject; pct=30")});
  dmarc::input in;
  in.from.domain = "example.com";
  in.pct_roll = 29;  // inside the sample
  auto r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::fail);
  EXPECT_EQ(r.applied, dmarc::policy::reject);
  EXPECT_FALSE(r.sampled_out);
  in.pct_roll = 30;  // outside: one step weaker
  r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::fail);
  EXPECT_EQ(r.applied, dmarc::policy::quarantine);
  EXPECT_EQ(r.requested, dmarc::policy::reject);
  EXPECT_TRUE(r.sampled_out);
  const auto ar = auth::format_authentication_results("mx.example.net", {dmarc::ar_entry_for(r)});
  EXPECT_EQ(ar,
            "Authentication-Results: mx.example.net; dmarc=fail (p=reject dis=quarantine)\r\n"
            "\theader.from=example.com\r\n");
}

TEST(DmarcEvaluate, TemperrorOnlyWhenNothingAligned) {
  // The author's record is reachable, the signer's org-domain walk fails: SPF alignment still passes.
  struct partial_failure final : dns::source {
    dmarc_test::recording_source inner;
    boost::asio::awaitable<dns::lookup_result> lookup(std::string name, int rrtype) override {
      if (name.find("signer") != std::string::npos) {
        dns::lookup_result r;
        r.st = dns::status::timeout;
        co_return r;
      }
      co_return co_await inner.lookup(std::move(name), rrtype);
    }
  } src;
  src.inner.table.add_records("_dmarc.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=reject")});
  dmarc::input in;
  in.from.domain = "example.com";
  in.dkim_passes = {"signer.example.com"};
  in.spf = {"pass", "example.com"};
  auto r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::pass);
  in.spf = {"fail", "example.com"};
  r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::temperror);
  EXPECT_EQ(r.applied, dmarc::policy::none);
}

TEST(DmarcEvaluate, PslModeUsesRegistrableDomain) {
  dmarc_test::recording_source src;
  src.table.add_records("_dmarc.example.co.uk", dns::rr_type::txt,
                        {dmarc_test::txt_rdata("v=DMARC1; p=reject; sp=quarantine")});
  dmarc::input in;
  in.mode = dmarc::discovery::psl;
  in.from.domain = "a.b.c.example.co.uk";
  in.dkim_passes = {"mail.example.co.uk"};
  auto r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::pass);
  EXPECT_TRUE(r.dkim_aligned);
  EXPECT_EQ(r.policy_domain, "example.co.uk");
  EXPECT_EQ(r.requested, dmarc::policy::quarantine);
  EXPECT_EQ(src.txt_queries(), (std::vector<std::string>{"_dmarc.a.b.c.example.co.uk", "_dmarc.example.co.uk"}));
  // Another registrable domain under the same public suffix never aligns.
  in.dkim_passes = {"attacker.co.uk"};
  r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::fail);
}

TEST(DmarcEvaluate, OnlyDmarcRecordsAtTheAuthorCount) {
  dmarc_test::recording_source src;
  // A record with a broken p and no rua: no DMARC processing, and no fallback to the parent either.
  src.table.add_records("_dmarc.sub.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=bogus")});
  src.table.add_records("_dmarc.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=reject")});
  dmarc::input in;
  in.from.domain = "sub.example.com";
  auto r = run(dmarc::evaluate(src, in));
  EXPECT_EQ(r.result, dmarc::result_kind::none);
  EXPECT_FALSE(r.requested);
}

TEST(DmarcOrgDomain, PublicSuffixList) {
  EXPECT_EQ(dmarc::organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(dmarc::organizational_domain("A.B.Example.CO.UK."), "example.co.uk");
  EXPECT_EQ(dmarc::organizational_domain("example.com"), "example.com");
  EXPECT_EQ(dmarc::organizational_domain("co.uk"), "co.uk");  // a public suffix is its own
  EXPECT_EQ(dmarc::organizational_domain("mail.xn--e1afmkfd.xn--p1ai"), "xn--e1afmkfd.xn--p1ai");
  EXPECT_FALSE(dmarc::organizational_domain(""));
  EXPECT_FALSE(dmarc::organizational_domain(std::string(300, 'a')));
}

TEST(DmarcOrgDomain, TreeWalkNames) {
  EXPECT_EQ(dmarc::tree_walk_names("example.com"), (std::vector<std::string>{"example.com", "com"}));
  EXPECT_EQ(dmarc::tree_walk_names("com"), (std::vector<std::string>{"com"}));
  const auto deep = dmarc::tree_walk_names("a.b.c.d.e.f.g.h.i.example.com");  // 11 labels
  ASSERT_EQ(deep.size(), 8u);
  EXPECT_EQ(deep[1], "e.f.g.h.i.example.com");
  EXPECT_EQ(deep.back(), "com");
  const auto eight = dmarc::tree_walk_names("a.b.c.d.e.f.example.com");  // exactly 8 labels
  ASSERT_EQ(eight.size(), 8u);
  EXPECT_EQ(eight[1], "b.c.d.e.f.example.com");
}

TEST(DmarcEvaluate, DnsWorkIsBounded) {
  dmarc_test::recording_source src;
  src.table.add_records("_dmarc.example.com", dns::rr_type::txt, {dmarc_test::txt_rdata("v=DMARC1; p=reject")});
  dmarc::input in;
  in.from.domain = "example.com";
  // A hostile message carrying many valid signatures from unrelated deep names under the same TLD.
  for (int k = 0; k < 100; ++k) in.dkim_passes.push_back("a.b.c.d.e.f.g.h.signer" + std::to_string(k) + ".com");
  in.dkim_passes.push_back("example.com");  // the aligned one comes last
  const auto r = run(dmarc::evaluate(src, in));
  EXPECT_LE(src.txt_queries().size(), dmarc::max_dmarc_queries);
  EXPECT_EQ(r.queries.size(), src.txt_queries().size());
  // Only the first 32 identifiers are looked at: the aligned 101st is never reached.
  EXPECT_EQ(r.result, dmarc::result_kind::fail);
  EXPECT_LE(src.seen.size(), dmarc::max_dmarc_queries + 3);  // + A/AAAA/MX existence checks at most
}

// Issue 15 item 4: every mailbox of every From field, for the submission send-as check.
TEST(DmarcFromAddresses, EveryMailboxOfEveryField) {
  auto addrs = [](std::string_view msg) {
    auto p = auth::parse_message(msg);
    EXPECT_TRUE(p.message);
    return dmarc::from_addresses(*p.message);
  };
  auto one = addrs("From: Alice <Alice@LocalHost.>\r\nTo: x@y\r\n\r\nbody");
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, std::vector<std::string>{"Alice@localhost"});
  auto two = addrs("From: a@localhost, \"B (x)\" <b@localhost>\r\nFrom: (c) c@example.org\r\n\r\n");
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, (std::vector<std::string>{"a@localhost", "b@localhost", "c@example.org"}));
  auto none = addrs("To: x@y\r\n\r\n");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(addrs("From: <>\r\n\r\n"));             // no author
  EXPECT_FALSE(addrs("From: undisclosed:;\r\n\r\n"));  // no mailbox
  EXPECT_FALSE(addrs("From: a@[192.0.2.1]\r\n\r\n"));  // no usable domain
  EXPECT_FALSE(addrs("From: \"unterminated <a@b>\r\n\r\n"));
}

// Issue 15 item 0: which temporary DNS failures leave the outcome open (deferred with 451 4.7.5).
TEST(DmarcTemperror, UndecidedOnlyWhenTheMissingResultCouldMatter) {
  using dmarc::result_kind;
  EXPECT_TRUE(dmarc::temperror_undecided(result_kind::temperror, false, false));
  EXPECT_TRUE(dmarc::temperror_undecided(result_kind::fail, true, false));  // SPF might have aligned
  EXPECT_TRUE(dmarc::temperror_undecided(result_kind::fail, false, true));  // so might a signature
  EXPECT_TRUE(dmarc::temperror_undecided(result_kind::none, true, false));
  EXPECT_TRUE(dmarc::temperror_undecided(std::nullopt, true, false));            // DMARC off: SPF/DKIM temperror
  EXPECT_FALSE(dmarc::temperror_undecided(result_kind::pass, true, true));       // passed anyway
  EXPECT_FALSE(dmarc::temperror_undecided(result_kind::permerror, true, true));  // unusable From: refused
  EXPECT_FALSE(dmarc::temperror_undecided(result_kind::fail, false, false));
  EXPECT_FALSE(dmarc::temperror_undecided(std::nullopt, false, false));
}
