// cli/dkim.cpp: `mailfort dkim keygen|verify|sign`: make a signing key and its DNS record, check the DKIM
// signatures of a message on stdin, sign a message on stdin.
// SPDX-License-Identifier: MIT
// keygen writes the private key with mode 0600 and never overwrites one (O_EXCL): replacing a key that is
// still published would break every signature in flight. verify prints one line per signature
// (`d=… s=… a=… result=…`, values made printable: d= and s= come from untrusted mail) or JSON; its exit
// code is 0 when every signature passes, 1 otherwise (including no signature), 2 when it could not run.
#include "auth/dkim_sign.hpp"
#include "auth/dkim_verify.hpp"
#include "cli/cli.hpp"
#include "common/ascii.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>

namespace mailfort::cli {

namespace {

// Domain and selector become a file name and a DNS name: LDH labels only, so no "../" and no spaces.
bool valid_label_name(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos)
    return false;
  for (char c : s)
    if (!common::is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

std::string read_stdin() {
  std::cin >> std::noskipws;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Zone-file form: the value cut into quoted <= 255-octet character-strings.
std::string zone_line(const std::string& name, const std::string& value) {
  std::string out = name + ". IN TXT";
  for (std::size_t i = 0; i < value.size(); i += 255) out += " \"" + value.substr(i, 255) + "\"";
  return out;
}

bool write_new_file(const std::string& path, const std::string& data, std::string& err) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    err = errno == EEXIST ? path + " exists; refusing to overwrite a key" : path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    err = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

void register_dkim(CLI::App& app, common_options& opts, int& exit_code) {
  auto* d = app.add_subcommand("dkim", "DKIM keys, signing and verification");
  d->require_subcommand(1);
  static std::string domain, selector, algo = "rsa2048", out_file, key_file, format = "text";
  static std::optional<long long> at;

  auto* kg = d->add_subcommand("keygen", "generate a signing key and print the DNS TXT record to publish");
  kg->add_option("--domain", domain, "signing domain (d=)")->required();
  kg->add_option("--selector", selector, "selector (s=)")->required();
  kg->add_option("--algo", algo, "ed25519 or rsa2048 (default rsa2048: every receiver verifies it)")
      ->check(CLI::IsMember({"ed25519", "rsa2048"}));
  kg->add_option("--out", out_file, "private key file (default DATA_DIR/dkim/DOMAIN.SELECTOR.key)");
  kg->callback([&opts, &exit_code] {
    exit_code = 2;
    if (!valid_label_name(domain) || !valid_label_name(selector)) {
      std::cerr << "mailfort: --domain and --selector must be DNS names (letters, digits, '-', '_', '.')\n";
      return;
    }
    std::string path = out_file;
    if (path.empty()) {
      auto cfg = load_config_or_exit(opts);
      const std::filesystem::path dir = std::filesystem::path(cfg.data_dir) / "dkim";
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        std::cerr << "mailfort: cannot create " << dir.string() << ": " << ec.message() << "\n";
        return;
      }
      ::chmod(dir.c_str(), 0700);
      path = (dir / (domain + "." + selector + ".key")).string();
    }
    auto key = dkim::generate_key(algo == "ed25519" ? dkim::key_type::ed25519 : dkim::key_type::rsa, 2048);
    if (!key) {
      std::cerr << "mailfort: key generation failed\n";
      return;
    }
    std::string err;
    if (!write_new_file(path, dkim::private_key_pem(*key), err)) {
      std::cerr << "mailfort: " << err << "\n";
      return;
    }
    const std::string name = selector + "._domainkey." + domain;
    const std::string value = dkim::dns_txt_record(*key);
    std::cout << "key: " << path << "\n"
              << "name: " << name << "\n"
              << "value: " << value << "\n"
              << "zone: " << zone_line(name, value) << "\n";
    exit_code = 0;
  });

  auto* vf = d->add_subcommand("verify", "verify the DKIM signatures of the message on stdin");
  vf->add_option("--at", at, "verification time, unix seconds (default now; for x= expiry)");
  vf->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  vf->callback([&opts, &exit_code] {
    exit_code = 2;
    auto cfg = load_config_or_exit(opts);
    const std::string msg = read_stdin();
    dkim::verify_options vo;
    vo.now = at ? *at : static_cast<long long>(std::time(nullptr));
    vo.max_signatures = static_cast<std::size_t>(std::max(1, cfg.auth.max_dkim_signatures));
    std::vector<dkim::verify_result> results;
    try {
      boost::asio::io_context io;
      dns::resolver r(io.get_executor(), sender_auth_resolver_options(cfg, opts));
      std::exception_ptr failure;
      boost::asio::co_spawn(io, dkim::verify(r, msg, vo),
                            [&](std::exception_ptr e, std::vector<dkim::verify_result> v) {
                              if (e)
                                failure = e;
                              else
                                results = std::move(v);
                            });
      io.run();
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "mailfort: " << e.what() << "\n";
      return;
    }
    bool all_pass = !results.empty();
    for (const auto& r : results) all_pass = all_pass && r.res == dkim::result::pass;
    if (format == "json") {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& r : results) {
        // Untrusted strings: dump() escapes, and invalid UTF-8 is replaced rather than thrown on.
        j.push_back({{"d", r.domain},
                     {"s", r.selector},
                     {"a", r.algorithm},
                     {"i", r.identity},
                     {"result", dkim::to_string(r.res)},
                     {"reason", r.reason},
                     {"header_b", r.b_prefix},
                     {"testing", r.testing}});
      }
      std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (results.empty()) {
      std::cout << "result=none\n";
    } else {
      for (const auto& r : results) {
        std::cout << "d=" << common::printable(r.domain) << " s=" << common::printable(r.selector)
                  << " a=" << common::printable(r.algorithm) << " result=" << dkim::to_string(r.res);
        if (!r.reason.empty()) std::cout << " reason=\"" << common::printable(r.reason) << "\"";
        if (r.testing) std::cout << " testing=y";
        std::cout << "\n";
      }
    }
    exit_code = all_pass ? 0 : 1;
  });

  auto* sg = d->add_subcommand("sign", "sign the message on stdin and print it with its DKIM-Signature");
  sg->add_option("--domain", domain, "signing domain (d=)")->required();
  sg->add_option("--selector", selector, "selector (s=)")->required();
  sg->add_option("--key", key_file, "PEM private key")->required();
  sg->add_option("--at", at, "signature time t=, unix seconds (default now)");
  sg->callback([&exit_code] {
    exit_code = 2;
    if (!valid_label_name(domain) || !valid_label_name(selector)) {
      std::cerr << "mailfort: --domain and --selector must be DNS names\n";
      return;
    }
    auto key = dkim::load_signing_key(key_file);
    if (!key.key) {
      std::cerr << "mailfort: " << key_file << ": " << key.error << "\n";
      return;
    }
    const std::string msg = read_stdin();
    dkim::sign_options so;
    so.domain = domain;
    so.selector = selector;
    so.timestamp = at ? *at : static_cast<long long>(std::time(nullptr));
    const std::string field = dkim::sign(msg, *key.key, so);
    if (field.empty()) {
      std::cerr << "mailfort: cannot sign: the message has no From or a malformed header (CRLF line ends needed)\n";
      return;
    }
    std::cout << field << msg << std::flush;
    exit_code = 0;
  });
}

}  // namespace mailfort::cli
