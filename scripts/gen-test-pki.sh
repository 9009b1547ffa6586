#!/usr/bin/env bash
# scripts/gen-test-pki.sh: make a throwaway test PKI (CA, localhost leaf, expired leaf) with openssl at test time.
# SPDX-License-Identifier: MIT
#
# Usage: scripts/gen-test-pki.sh OUTDIR
# Writes into OUTDIR (created if missing):
#   ca.pem, ca.key                 a test CA (EC P-256, 30 days)
#   localhost.pem, localhost.key   leaf for localhost / 127.0.0.1 / ::1 signed by the CA (serverAuth)
#   chain.pem                      localhost.pem followed by ca.pem
#   expired.pem, expired.key       leaf for localhost signed by the CA, valid only in January 2020
# Keys are generated on every run and never committed: a key in the repository would be a key anyone can use.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 2; }

out=$1
mkdir -p "$out"
cd "$out"
umask 077

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# --- CA -----------------------------------------------------------------------------------------------------------
newkey ca.key
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/O=mailfort test/CN=mailfort test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null

cat >leaf.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EOF

# --- localhost leaf -------------------------------------------------------------------------------------------------
newkey localhost.key
openssl req -new -key localhost.key -subj "/CN=localhost" -out localhost.csr 2>/dev/null
openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 30 \
    -extfile leaf.ext -out localhost.pem 2>/dev/null
cat localhost.pem ca.pem >chain.pem

# --- expired leaf: `openssl x509 -req` cannot backdate, `openssl ca` can (-startdate/-enddate) ---------------------
newkey expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>/dev/null
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca.cnf <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $PWD/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PWD/ca.pem
private_key = $PWD/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
openssl ca -batch -config ca.cnf -in expired.csr -out expired.pem -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z -extfile leaf.ext 2>/dev/null

rm -rf localhost.csr expired.csr leaf.ext ca.cnf ca-db ca.srl
chmod 644 ./*.pem
echo "test PKI written to $PWD"
