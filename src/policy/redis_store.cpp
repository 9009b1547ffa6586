// policy/redis_store.cpp: hiredis client for shared bans (see redis_store.hpp).
// SPDX-License-Identifier: MIT
#include "policy/redis_store.hpp"

#include "common/host_port.hpp"

#include <hiredis/hiredis.h>

#include <sstream>

namespace mailfort::policy {

namespace {
struct reply_ptr {
  redisReply* r;
  explicit reply_ptr(void* p) : r(static_cast<redisReply*>(p)) {}
  ~reply_ptr() {
    if (r) freeReplyObject(r);
  }
  redisReply* operator->() const { return r; }
  explicit operator bool() const { return r != nullptr && r->type != REDIS_REPLY_ERROR; }
};
}  // namespace

redis_store::redis_store(std::string url) {
  std::string rest = url;
  if (rest.rfind("redis://", 0) == 0) rest = rest.substr(8);
  auto slash = rest.find('/');
  if (slash != std::string::npos) rest = rest.substr(0, slash);
  if (auto hp = common::parse_host_port(rest)) {
    host_ = hp->host;
    if (hp->port) port_ = *hp->port;
  }
  if (host_.empty()) host_ = "127.0.0.1";
}

redis_store::~redis_store() {
  if (ctx_) redisFree(ctx_);
}

void redis_store::fail(const std::string& what) {
  error_ = what + (ctx_ && ctx_->errstr[0] ? std::string(": ") + ctx_->errstr : std::string());
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  next_try_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
}

bool redis_store::ensure() {
  if (ctx_) return true;
  if (std::chrono::steady_clock::now() < next_try_) return false;
  timeval tv{0, 300000};
  ctx_ = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (!ctx_ || ctx_->err) {
    fail("cannot connect to redis at " + host_ + ":" + std::to_string(port_));
    return false;
  }
  redisSetTimeout(ctx_, tv);
  reply_ptr pong(redisCommand(ctx_, "PING"));
  if (!pong) {
    fail("redis PING failed");
    return false;
  }
  return true;
}

std::optional<double> redis_store::add_score(const std::string& source, double points, std::chrono::seconds window) {
  if (!ensure()) return std::nullopt;
  std::string key = "mf:score:" + source;
  std::string pts = std::to_string(points);
  reply_ptr r(redisCommand(ctx_, "INCRBYFLOAT %b %b", key.data(), key.size(), pts.data(), pts.size()));
  if (!r) {
    fail("redis INCRBYFLOAT failed");
    return std::nullopt;
  }
  double total = r->str ? std::stod(r->str) : 0.0;
  std::string secs = std::to_string(window.count());
  reply_ptr e(redisCommand(ctx_, "EXPIRE %b %b NX", key.data(), key.size(), secs.data(), secs.size()));
  if (!e) {
    fail("redis EXPIRE failed");
    return std::nullopt;
  }
  return total;
}

std::optional<long long> redis_store::count_in_window(const std::string& key, std::chrono::seconds window,
                                                      std::int64_t now) {
  if (!ensure()) return std::nullopt;
  auto w = std::max<std::int64_t>(1, window.count());
  std::string k = "mf:rl:" + key + ":" + std::to_string(now / w);
  reply_ptr r(redisCommand(ctx_, "INCR %b", k.data(), k.size()));
  if (!r || r->type != REDIS_REPLY_INTEGER) {
    fail("redis INCR failed");
    return std::nullopt;
  }
  if (r->integer == 1) {
    std::string secs = std::to_string(w * 2);
    reply_ptr e(redisCommand(ctx_, "EXPIRE %b %b", k.data(), k.size(), secs.data(), secs.size()));
    if (!e) {
      fail("redis EXPIRE failed");
      return std::nullopt;
    }
  }
  return r->integer;
}

void redis_store::clear_score(const std::string& source) {
  if (!ensure()) return;
  std::string key = "mf:score:" + source;
  reply_ptr r(redisCommand(ctx_, "DEL %b", key.data(), key.size()));
  if (!r) fail("redis DEL failed");
}

std::optional<unsigned> redis_store::next_ban_count(const std::string& source) {
  if (!ensure()) return std::nullopt;
  std::string ck = "mf:bancount:" + source;
  reply_ptr c(redisCommand(ctx_, "INCR %b", ck.data(), ck.size()));
  if (!c || c->type != REDIS_REPLY_INTEGER) {
    fail("redis INCR failed");
    return std::nullopt;
  }
  return static_cast<unsigned>(c->integer);
}

bool redis_store::set_ban(const std::string& source, std::int64_t until, unsigned count, const std::string& reason) {
  if (!ensure()) return false;
  std::string key = "mf:ban:" + source;
  std::string val = std::to_string(until) + " " + std::to_string(count) + " " + reason;
  std::string at = std::to_string(until);
  reply_ptr r(
      redisCommand(ctx_, "SET %b %b EXAT %b", key.data(), key.size(), val.data(), val.size(), at.data(), at.size()));
  if (!r) {
    fail("redis SET failed");
    return false;
  }
  clear_score(source);
  return true;
}

bool redis_store::unban(const std::string& source) {
  if (!ensure()) return false;
  std::string key = "mf:ban:" + source;
  reply_ptr r(redisCommand(ctx_, "DEL %b", key.data(), key.size()));
  if (!r) {
    fail("redis DEL failed");
    return false;
  }
  return r->type == REDIS_REPLY_INTEGER && r->integer > 0;
}

std::optional<std::vector<redis_store::remote_ban>> redis_store::bans() {
  if (!ensure()) return std::nullopt;
  std::vector<remote_ban> out;
  std::string cursor = "0";
  do {
    reply_ptr r(redisCommand(ctx_, "SCAN %b MATCH mf:ban:* COUNT 1000", cursor.data(), cursor.size()));
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      fail("redis SCAN failed");
      return std::nullopt;
    }
    cursor = r->element[0]->str ? r->element[0]->str : "0";
    auto* keys = r->element[1];
    for (std::size_t i = 0; i < keys->elements && out.size() < 100000; ++i) {
      std::string key(keys->element[i]->str, keys->element[i]->len);
      reply_ptr v(redisCommand(ctx_, "GET %b", key.data(), key.size()));
      if (!v) {
        fail("redis GET failed");
        return std::nullopt;
      }
      if (v->type != REDIS_REPLY_STRING) continue;  // expired meanwhile
      remote_ban b;
      b.source = key.substr(7);
      std::istringstream in(std::string(v->str, v->len));
      in >> b.until >> b.count;
      std::getline(in >> std::ws, b.reason);
      out.push_back(std::move(b));
    }
  } while (cursor != "0");
  return out;
}

}  // namespace mailfort::policy
