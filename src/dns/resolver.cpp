// dns/resolver.cpp: libunbound's async API driven from Asio: its result pipe is awaited with a
// posix::stream_descriptor, each query is bounded by a steady_timer and cancelled with ub_cancel.
// SPDX-License-Identifier: MIT
#include "dns/resolver.hpp"

#include "common/ascii.hpp"
#include "dns/records.hpp"
#include "dns/upstream.hpp"
#include "log/logger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <unbound.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mailfort::dns {

namespace asio = boost::asio;

// An answer with more records than this is cut: nothing we look up legitimately needs more, and it
// bounds what one hostile zone can make us hold per cache entry.
constexpr std::size_t max_records = 256;

// One in-flight query. It lives in the frame of the lookup that started it; libunbound holds a raw
// pointer to it until the callback runs or ub_cancel returns, and the guard in lookup() makes sure
// one of the two always happens before the frame goes away.
struct resolver::query_state {
  resolver* owner = nullptr;  // null once the resolver is destroyed: then nothing may touch it
  asio::steady_timer* timer = nullptr;
  int async_id = 0;
  bool done = false;
  lookup_result result;
};

namespace {

lookup_result failure(status st, std::string why) {
  lookup_result r;
  r.st = st;
  r.error = std::move(why);
  return r;
}

std::string cache_key(const std::string& name, int rrtype) {
  std::string k = common::to_lower(name);
  if (k.size() > 1 && k.back() == '.') k.pop_back();  // "a.example." and "a.example" are one name
  return k + "/" + std::to_string(rrtype);
}

// The owner name of the first record in a trust-anchor file ("signed.test. 3600 IN DS ...").
std::string first_anchor_owner(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  for (int n = 0; n < 10000 && std::getline(in, line); ++n) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == ';' || line[start] == '$') continue;
    auto end = line.find_first_of(" \t", start);
    return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  return {};
}

}  // namespace

resolver::resolver(asio::any_io_executor ex, resolver_options opts) : ex_(std::move(ex)), opts_(std::move(opts)) {
  ctx_ = ub_ctx_create();
  if (!ctx_) throw std::runtime_error("dns: ub_ctx_create failed");
  auto fail = [this](const std::string& what, int rc) {
    std::string msg = "dns: " + what + ": " + ub_strerror(rc);
    ub_ctx_delete(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error(msg);
  };
  // Threads, not fork(): a forked helper would inherit the whole server (keys, sockets).
  if (int rc = ub_ctx_async(ctx_, 1)) fail("ub_ctx_async", rc);
  // libunbound's default refuses 127.0.0.0/8 and ::1 as servers; local resolvers (and the test
  // servers) live exactly there. We never iterate by ourselves when servers are given, so this only
  // opens the servers the operator named.
  if (int rc = ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no")) fail("do-not-query-localhost", rc);
  if (opts_.servers.empty()) {
    if (int rc = ub_ctx_resolvconf(ctx_, nullptr)) {
      // No usable resolv.conf: libunbound then recurses from the root itself, which still works.
      log::warning("dns_resolvconf_failed", {{"error", ub_strerror(rc)}});
    }
  } else {
    for (const auto& s : opts_.servers) {
      auto u = parse_upstream(s);
      if (!u) fail("invalid DNS server '" + common::printable(s) + "'", UB_SYNTAX);
      // Forwarding (RD set) works with recursive resolvers and with an authoritative-only server such as
      // nsd for the zones it holds. A stub for "." does not: the iterator's queries for parent names
      // are REFUSED by nsd (tried, tests/integration/test_dns.py uses forwarding).
      int rc = ub_ctx_set_fwd(ctx_, u->unbound_form().c_str());
      if (rc) fail("server " + s, rc);
    }
  }
  if (!opts_.root_anchor_file.empty()) {
    anchor_owner_ = first_anchor_owner(opts_.root_anchor_file);
    if (anchor_owner_.empty())
      fail("root trust anchor " + opts_.root_anchor_file +
               ": unreadable or no records (install dns-root-data, or set dns.root_anchor = \"\" to run without "
               "DNSSEC validation from the root)",
           UB_READFILE);
    if (int rc = ub_ctx_add_ta_file(ctx_, opts_.root_anchor_file.c_str()))
      fail("root trust anchor " + opts_.root_anchor_file, rc);
  }
  if (!opts_.trust_anchor_file.empty()) {
    // libunbound reads the file only on the first query; check it now so a missing anchor stops startup.
    const std::string owner = first_anchor_owner(opts_.trust_anchor_file);
    if (anchor_owner_.empty()) anchor_owner_ = owner;
    if (owner.empty()) fail("trust anchor " + opts_.trust_anchor_file + ": unreadable or no records", UB_READFILE);
    if (int rc = ub_ctx_add_ta_file(ctx_, opts_.trust_anchor_file.c_str()))
      fail("trust anchor " + opts_.trust_anchor_file, rc);
  }
  // Last, because removing a local zone finalizes the context (no options can be set after it).
  for (const auto& z : opts_.resolve_special_zones) {
    if (z.empty() || z.size() > 253 || z.find('\0') != std::string::npos)
      fail("invalid special zone '" + common::printable(z) + "'", UB_SYNTAX);
    if (int rc = ub_ctx_zone_remove(ctx_, z.c_str())) fail("special zone " + z, rc);
  }
  // libunbound's own trace on stderr, for debugging test zones; never set in production.
  if (std::getenv("MAILFORT_DNS_DEBUG")) ub_ctx_debuglevel(ctx_, 4);
  int fd = ub_fd(ctx_);
  if (fd < 0) fail("ub_fd", UB_PIPE);
  fd_ = std::make_unique<asio::posix::stream_descriptor>(ex_, fd);
  alive_ = std::make_shared<bool>(true);
}

resolver::~resolver() {
  *alive_ = false;
  // Lookups still suspended on their timers must not call back into us when they wake.
  for (auto* q : live_) q->owner = nullptr;
  live_.clear();
  if (fd_) {
    fd_->release();  // the pipe belongs to libunbound; ub_ctx_delete closes it
    fd_.reset();
  }
  if (ctx_) ub_ctx_delete(ctx_);  // cancels outstanding queries without calling their callbacks
}

bool resolver::valid_query_name(const std::string& name) {
  // A NUL would silently truncate the C string libunbound sees, so a different name would be looked
  // up than the one policy checked. Length: RFC 1035 presentation form, plus an optional final dot.
  if (name.empty() || name.size() > 254) return false;
  for (char c : name)
    if (c == '\0') return false;
  return true;
}

void resolver::on_result(void* data, int err, ub_result* res) {
  auto* q = static_cast<query_state*>(data);
  lookup_result r;
  if (err != 0 || res == nullptr) {
    r = failure(status::servfail, ub_strerror(err));
  } else {
    r.rcode = res->rcode;
    r.ttl = res->ttl > 0 ? static_cast<std::uint32_t>(res->ttl) : 0;
    r.sec = res->secure ? dnssec::secure : (res->bogus ? dnssec::bogus : dnssec::insecure);
    if (r.sec == dnssec::bogus) {
      // Tampered or broken signatures: drop the data so nobody can use it (see resolver.hpp).
      r.st = status::servfail;
      r.why_bogus = res->why_bogus ? res->why_bogus : "bogus";
      r.error = "dnssec validation failed";
      r.ttl = 0;
    } else if (res->rcode == 3 || res->nxdomain) {
      r.st = status::nxdomain;
    } else if (res->rcode != 0) {
      r.st = status::servfail;
      r.error = "rcode " + std::to_string(res->rcode);
    } else if (!res->havedata) {
      r.st = status::nodata;
    } else {
      r.st = status::ok;
      for (std::size_t i = 0; res->data && res->data[i] && i < max_records; ++i)
        r.records.emplace_back(res->data[i], static_cast<std::size_t>(res->len[i] > 0 ? res->len[i] : 0));
    }
  }
  if (res) ub_resolve_free(res);
  q->result = std::move(r);
  q->done = true;
  if (q->owner && q->owner->in_flight_ > 0) --q->owner->in_flight_;
  if (q->timer) q->timer->cancel();  // wakes the lookup coroutine
}

void resolver::cancel_query(query_state& q) {
  ub_cancel(ctx_, q.async_id);  // after this libunbound never calls on_result for q
  q.done = true;
  if (in_flight_ > 0) --in_flight_;
}

const lookup_result* resolver::cache_get(const std::string& key) {
  if (opts_.cache_entries == 0) return nullptr;
  auto it = cache_.find(key);
  if (it == cache_.end()) return nullptr;
  if (it->second.expires <= std::chrono::steady_clock::now()) {
    cache_.erase(it);
    return nullptr;
  }
  return &it->second.result;
}

void resolver::cache_put(const std::string& key, const lookup_result& r) {
  // Only definite answers are cached; failures are retried, bogus data never stored.
  if (opts_.cache_entries == 0 || r.ttl == 0) return;
  if (r.st != status::ok && r.st != status::nxdomain && r.st != status::nodata) return;
  auto now = std::chrono::steady_clock::now();
  if (cache_.size() >= opts_.cache_entries && !cache_.contains(key)) {
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (cache_.size() >= opts_.cache_entries) {
      // Still full: evict the entry closest to expiry (O(n), n is small and bounded).
      auto victim = cache_.begin();
      for (auto it = cache_.begin(); it != cache_.end(); ++it)
        if (it->second.expires < victim->second.expires) victim = it;
      cache_.erase(victim);
    }
  }
  auto ttl = std::min<std::chrono::seconds>(std::chrono::seconds(r.ttl), opts_.max_cache_ttl);
  cache_[key] = cache_entry{r, now + ttl};
}

asio::awaitable<void> resolver::pump() {
  auto alive = alive_;  // our own copy: `this` may be gone when a wait completes
  while (*alive && in_flight_ > 0) {
    // Check before waiting: Asio's epoll reactor is edge-triggered, and results that arrived while
    // nobody waited would otherwise sit in the pipe until the next one.
    if (ub_poll(ctx_)) {
      ub_process(ctx_);
      continue;
    }
    boost::system::error_code ec;
    co_await fd_->async_wait(asio::posix::stream_descriptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;  // destroyed while we waited: touch nothing
    if (ec && ec != asio::error::operation_aborted) {
      log::error("dns_pipe_error", {{"error", ec.message()}});
      break;
    }
    ub_process(ctx_);
  }
  pumping_ = false;
}

asio::awaitable<lookup_result> resolver::lookup(std::string name, int rrtype) {
  if (!valid_query_name(name)) co_return failure(status::servfail, "invalid query name");
  auto key = cache_key(name, rrtype);
  if (const auto* c = cache_get(key)) {
    lookup_result r = *c;
    r.from_cache = true;
    co_return r;
  }
  asio::steady_timer timer(ex_, opts_.timeout);
  query_state q;
  q.owner = this;
  q.timer = &timer;
  if (int rc = ub_resolve_async(ctx_, name.c_str(), rrtype, 1, &q, &resolver::on_result, &q.async_id))
    co_return failure(status::servfail, ub_strerror(rc));
  ++in_flight_;
  live_.insert(&q);
  // If this frame is destroyed while suspended (its io_context torn down), cancel the query so
  // libunbound never writes into the dead frame.
  struct guard {
    query_state* q;
    ~guard() {
      if (q->owner) {
        if (!q->done) q->owner->cancel_query(*q);
        q->owner->live_.erase(q);
      }
    }
  } g{&q};
  if (!pumping_) {
    pumping_ = true;  // set now, not when the pump first runs, so a burst of lookups starts one pump
    asio::co_spawn(ex_, pump(), asio::detached);
  }
  if (!q.done) {
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!q.owner) co_return failure(status::servfail, "resolver destroyed");
  if (!q.done) {
    cancel_query(q);
    // Let the pump stop when nothing is left, so an idle resolver does not keep io_context::run alive.
    if (in_flight_ == 0) fd_->cancel();
    co_return failure(status::timeout, "no answer within " + std::to_string(opts_.timeout.count()) + " ms");
  }
  cache_put(key, q.result);
  co_return std::move(q.result);
}

lookup_result resolver::lookup_sync(std::string name, int rrtype) {
  if (!valid_query_name(name)) return failure(status::servfail, "invalid query name");
  auto key = cache_key(name, rrtype);
  if (const auto* c = cache_get(key)) {
    lookup_result r = *c;
    r.from_cache = true;
    return r;
  }
  query_state q;
  q.owner = this;
  if (int rc = ub_resolve_async(ctx_, name.c_str(), rrtype, 1, &q, &resolver::on_result, &q.async_id))
    return failure(status::servfail, ub_strerror(rc));
  ++in_flight_;
  auto deadline = std::chrono::steady_clock::now() + opts_.timeout;
  while (!q.done) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{ub_fd(ctx_), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
    if (ub_poll(ctx_)) ub_process(ctx_);
  }
  if (!q.done) {
    cancel_query(q);
    return failure(status::timeout, "no answer within " + std::to_string(opts_.timeout.count()) + " ms");
  }
  cache_put(key, q.result);
  return std::move(q.result);
}

bool resolver::validates_dnssec() {
  if (anchor_owner_.empty()) return false;
  auto r = lookup_sync(anchor_owner_, rr_type::dnskey);
  return r.st == status::ok && r.sec == dnssec::secure;
}

dnssec_probe probe_dnssec(resolver_options opts) {
  dnssec_probe p;
  p.anchors = !opts.root_anchor_file.empty() || !opts.trust_anchor_file.empty();
  if (p.anchors) {
    asio::io_context io;
    resolver r(io.get_executor(), opts);
    p.validating = r.validates_dnssec();
  }
  if (p.unvalidated()) {
    opts.root_anchor_file.clear();
    opts.trust_anchor_file.clear();
  }
  p.opts = std::move(opts);
  return p;
}

}  // namespace mailfort::dns
