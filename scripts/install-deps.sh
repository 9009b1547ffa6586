#!/usr/bin/env bash
# install-deps.sh: install every build, test and run dependency of mailfort from Debian 12 (apt-get only).
# SPDX-License-Identifier: MIT
# Idempotent and quiet when everything is present: it checks dpkg first and only calls apt-get for what is missing.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang lld libclang-rt-14-dev clang-tidy clang-format
  libboost1.81-dev
  libssl-dev openssl
  libunbound-dev libpsl-dev libidn2-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libsqlite3-dev sqlite3 libsodium-dev libhiredis-dev
  googletest libgtest-dev libgmock-dev
  python3 python3-pytest python3-pytest-xdist python3-milter swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl python3-dkim python3-spf python3-dnspython
  redis-server nsd ldnsutils dns-root-data libyaml-cpp-dev libbenchmark-dev prometheus
  libxml2-utils python3-jsonschema  # xmllint and jsonschema: reports checked against RFC 7489 / RFC 8460 schemas
  postfix  # a peer for tests (the auditor's, started privately on high ports); never the system MTA
  chromium  # headless, renders the auditor's HTML report in a test
  clamav-daemon clamav-milter  # real milters for tests (test_clamav.py: own clamd + database, no freshclam)
  rspamd  # a real milter for tests (test_rspamd.py starts its own offline proxy worker); never the system service
  dovecot-core dovecot-imapd dovecot-pop3d  # IMAP/POP3 ([imap]): mailfort starts its own Dovecot, never the system service
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix must not configure itself as the system MTA on port 25: "No configuration" leaves it unstarted.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# Debian starts redis-server, nsd, prometheus, dovecot, rspamd, clamd and freshclam as system services on install;
# tests start their own on loopback (prometheus is installed only for promtool; mailfort serve runs Dovecot with its
# own configuration; freshclam would download signatures from the Internet). A policy-rc.d that refuses every start
# keeps them from starting during the install (when none exists already); they are then disabled for good.
policy_rc=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  policy_rc=/usr/sbin/policy-rc.d
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
  [ -n "$policy_rc" ] && $SUDO rm -f "$policy_rc"
  exit 1
}
[ -n "$policy_rc" ] && $SUDO rm -f "$policy_rc"
for svc in redis-server nsd prometheus postfix dovecot rspamd clamav-daemon clamav-freshclam clamav-milter; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
