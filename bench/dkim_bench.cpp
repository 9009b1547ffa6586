// bench/dkim_bench.cpp: DKIM sign and verify per message (Ed25519, RSA-2048) against raw OpenSSL
// sign/verify of one SHA-256 digest with a preloaded key, and the ratio (DESIGN.md: within 10%... of raw
// OpenSSL per message; the ratio shows what parsing, canonicalisation, hashing and key decoding add).
// SPDX-License-Identifier: MIT
// The message is a typical 4 KB text mail with 12 header fields. Verification runs through the real
// dkim::verify coroutine on a dns::static_source (no network), so it includes key-record parsing and
// public-key decoding, which a real verifier pays per message too.
#include "auth/dkim_canon.hpp"
#include "auth/dkim_sign.hpp"
#include "auth/dkim_verify.hpp"
#include "dns/records.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

using namespace mailfort;

namespace {

std::string make_message() {
  std::string m =
      "Received: from client.example.com (client.example.com [192.0.2.10]) by mx.example.com\r\n"
      "\twith ESMTPS id 4AbCdEf for <bob@example.net>; Sun, 22 Nov 2026 12:00:00 +0000\r\n"
      "From: Alice Example <alice@example.com>\r\n"
      "To: Bob Example <bob@example.net>\r\n"
      "Cc: Carol <carol@example.net>\r\n"
      "Subject: Quarterly figures and the plan for next year\r\n"
      "Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
      "Message-ID: <20261122120000.4AbCdEf@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "X-Mailer: bench\r\n"
      "\r\n";
  while (m.size() < 4096) m += "The quick brown fox jumps over the lazy dog;  again   and again.\r\n";
  return m;
}

const std::string message = make_message();

struct fixture {
  dkim::signing_key key;
  std::string signed_message;
  dns::static_source dns;
  std::string digest;
  std::string raw_sig;
};

std::string txt_rdata(const std::string& s) {
  std::string out;
  for (std::size_t pos = 0; pos < s.size(); pos += 255) {
    const std::size_t n = std::min<std::size_t>(255, s.size() - pos);
    out += static_cast<char>(n);
    out.append(s, pos, n);
  }
  return out;
}

std::string raw_sign(const dkim::signing_key& k, const std::string& digest) {
  std::size_t len = 0;
  const auto* d = reinterpret_cast<const unsigned char*>(digest.data());
  if (k.type == dkim::key_type::ed25519) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, k.pkey.get());
    EVP_DigestSign(ctx, nullptr, &len, d, digest.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, d, digest.size());
    EVP_MD_CTX_free(ctx);
    return sig;
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(k.pkey.get(), nullptr);
  EVP_PKEY_sign_init(ctx);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
  EVP_PKEY_sign(ctx, nullptr, &len, d, digest.size());
  std::string sig(len, '\0');
  EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, d, digest.size());
  EVP_PKEY_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

bool raw_verify(const dkim::signing_key& k, const std::string& digest, const std::string& sig) {
  const auto* d = reinterpret_cast<const unsigned char*>(digest.data());
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  if (k.type == dkim::key_type::ed25519) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, k.pkey.get());
    const bool ok = EVP_DigestVerify(ctx, s, sig.size(), d, digest.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(k.pkey.get(), nullptr);
  EVP_PKEY_verify_init(ctx);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
  const bool ok = EVP_PKEY_verify(ctx, s, sig.size(), d, digest.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

dkim::sign_options options() {
  dkim::sign_options o;
  o.domain = "example.com";
  o.selector = "bench";
  o.timestamp = 1800000000;
  return o;
}

fixture& get(dkim::key_type t) {
  static std::map<dkim::key_type, std::unique_ptr<fixture>> all;
  auto& f = all[t];
  if (!f) {
    f = std::make_unique<fixture>();
    f->key = *dkim::generate_key(t);
    f->signed_message = dkim::sign(message, f->key, options()) + message;
    f->dns.add_records("bench._domainkey.example.com", dns::rr_type::txt, {txt_rdata(dkim::dns_txt_record(f->key))});
    f->digest = dkim::digest(dkim::hash_alg::sha256, "header data stand-in");
    f->raw_sig = raw_sign(f->key, f->digest);
  }
  return *f;
}

void BM_dkim_sign(benchmark::State& st, dkim::key_type t) {
  auto& f = get(t);
  const auto o = options();
  for (auto _ : st) benchmark::DoNotOptimize(dkim::sign(message, f.key, o));
}

void BM_raw_sign(benchmark::State& st, dkim::key_type t) {
  auto& f = get(t);
  for (auto _ : st) benchmark::DoNotOptimize(raw_sign(f.key, f.digest));
}

void BM_dkim_verify(benchmark::State& st, dkim::key_type t) {
  auto& f = get(t);
  dkim::verify_options o;
  o.now = 1800000001;
  boost::asio::io_context io;
  bool pass = true;
  for (auto _ : st) {
    boost::asio::co_spawn(io, dkim::verify(f.dns, f.signed_message, o),
                          [&pass](std::exception_ptr, std::vector<dkim::verify_result> r) {
                            pass = pass && r.size() == 1 && r[0].res == dkim::result::pass;
                          });
    io.run();
    io.restart();
  }
  if (!pass) st.SkipWithError("verification did not pass");
}

void BM_raw_verify(benchmark::State& st, dkim::key_type t) {
  auto& f = get(t);
  bool ok = true;
  for (auto _ : st) ok = ok && raw_verify(f.key, f.digest, f.raw_sig);
  if (!ok) st.SkipWithError("raw verification failed");
}

BENCHMARK_CAPTURE(BM_dkim_sign, ed25519, dkim::key_type::ed25519);
BENCHMARK_CAPTURE(BM_raw_sign, ed25519, dkim::key_type::ed25519);
BENCHMARK_CAPTURE(BM_dkim_verify, ed25519, dkim::key_type::ed25519);
BENCHMARK_CAPTURE(BM_raw_verify, ed25519, dkim::key_type::ed25519);
BENCHMARK_CAPTURE(BM_dkim_sign, rsa2048, dkim::key_type::rsa);
BENCHMARK_CAPTURE(BM_raw_sign, rsa2048, dkim::key_type::rsa);
BENCHMARK_CAPTURE(BM_dkim_verify, rsa2048, dkim::key_type::rsa);
BENCHMARK_CAPTURE(BM_raw_verify, rsa2048, dkim::key_type::rsa);

// Console output as usual, plus the per-run CPU time kept by name for the ratio table.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs)
      if (r.iterations > 0 && !r.error_occurred) ns[r.benchmark_name()] = r.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> ns;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ratio_reporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  std::printf("\nper message (%zu-byte message) vs raw OpenSSL on one digest:\n", message.size());
  for (const char* alg : {"ed25519", "rsa2048"}) {
    for (const char* op : {"sign", "verify"}) {
      const std::string a = std::string("BM_dkim_") + op + "/" + alg, b = std::string("BM_raw_") + op + "/" + alg;
      if (!rep.ns.count(a) || !rep.ns.count(b)) continue;
      std::printf("  %-8s %-6s mailfort %10.1f us  raw %10.1f us  ratio %.2f\n", alg, op, rep.ns[a] / 1000.0,
                  rep.ns[b] / 1000.0, rep.ns[a] / rep.ns[b]);
    }
  }
  benchmark::Shutdown();
  return 0;
}
