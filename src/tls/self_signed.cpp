// tls/self_signed.cpp: first-start self-signed certificate, so TLS works out of the box.
// SPDX-License-Identifier: MIT
// A self-signed certificate cannot be verified by clients; `config check` flags it. It exists so that
// AUTH is never offered without TLS, even before the admin installs a real certificate.
#include "tls/server_context.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace mailfort::tls {
namespace {
template <class T, void (*F)(T*)>
struct deleter {
  void operator()(T* p) const { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;

void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ex = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ex) throw std::runtime_error("cannot build certificate extension");
  X509_add_ext(cert, ex, -1);
  X509_EXTENSION_free(ex);
}

void write_file(const std::filesystem::path& p, mode_t mode, const std::function<int(FILE*)>& fn) {
  auto tmp = p;
  tmp += ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + tmp.string());
  ::chmod(tmp.c_str(), mode);
  int ok = fn(f);
  std::fflush(f);
  ::fsync(fileno(f));
  std::fclose(f);
  if (ok != 1) throw std::runtime_error("cannot write PEM to " + tmp.string());
  std::filesystem::rename(tmp, p);
}
}  // namespace

bool ensure_self_signed(const std::filesystem::path& dir, const std::string& hostname) {
  auto cert_path = dir / "cert.pem";
  auto key_path = dir / "key.pem";
  if (std::filesystem::exists(cert_path) && std::filesystem::exists(key_path)) return false;
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);

  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("cannot generate EC key");
  x509_ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn = hostname.empty() ? "localhost" : hostname.substr(0, 64);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mailfort self-signed"),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + cn;
  if (cn != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  add_ext(cert.get(), NID_subject_alt_name, san);
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) throw std::runtime_error("cannot sign certificate");

  write_file(key_path, 0600,
             [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  write_file(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  return true;
}

}  // namespace mailfort::tls
