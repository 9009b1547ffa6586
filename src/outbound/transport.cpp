// outbound/transport.cpp: the outbound event loop (see transport.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/transport.hpp"

#include "log/logger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;

transport::transport(dns::resolver_options ropts, engine_settings s) : work_(io_.get_executor()) {
  resolver_ = std::make_unique<dns::resolver>(io_.get_executor(), std::move(ropts));
  if (s.dane && s.smarthost.empty()) {
    // Blocking self-check; safe here: no lookup is in flight on this resolver yet.
    if (!resolver_->validates_dnssec()) {
      log::warning(
          "dane_unavailable",
          {{"reason", "the resolver does not validate DNSSEC (no trust anchor, or the upstream strips DNSSEC)"},
           {"note",
            "DANE is OFF: TLSA records are ignored and delivery falls back to MTA-STS or "
            "opportunistic STARTTLS. Configure dns.root_anchor or dns.trust_anchor and a "
            "DNSSEC-capable upstream."}});
      s.dane = false;
    } else {
      log::info("dane_available", {});
    }
  }
  engine_ = std::make_unique<engine>(io_.get_executor(), *resolver_, std::move(s));
}

transport::~transport() { stop(); }

void transport::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { io_.run(); });
}

void transport::stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void transport::submit(queue::remote_job job, done_fn done) {
  auto j = std::make_shared<queue::remote_job>(std::move(job));
  asio::co_spawn(
      io_,
      [this, j, done = std::move(done)]() -> asio::awaitable<void> {
        delivery_request rq;
        rq.queue_id = j->queue_id;
        rq.sender = j->sender;
        rq.domain = j->domain;
        rq.recipients = j->recipients;
        rq.message = j->message;
        rq.eight_bit = j->eight_bit;
        rq.smtputf8 = j->smtputf8;
        std::vector<queue::remote_result> out;
        try {
          auto r = co_await engine_->deliver(rq);
          for (auto& o : r.rcpts) {
            queue::remote_result q;
            q.k = o.status == rcpt_status::delivered ? queue::remote_result::kind::delivered
                  : o.status == rcpt_status::perm    ? queue::remote_result::kind::perm
                                                     : queue::remote_result::kind::temp;
            q.code = o.code;
            q.reason = o.reply;
            q.relay = r.relay;
            q.remote = o.remote;
            out.push_back(std::move(q));
          }
          if (!r.tls.empty())
            for (auto& q : out) q.relay += " (" + r.tls + ")";
        } catch (const std::exception& e) {
          log::error("delivery_error", {{"queue_id", j->queue_id}, {"error", e.what()}});
        }
        out.resize(j->recipients.size(), queue::remote_result{queue::remote_result::kind::temp, "4.3.0",
                                                              "internal delivery error", "", false});
        done(std::move(out));
      },
      asio::detached);
}

}  // namespace mailfort::outbound
