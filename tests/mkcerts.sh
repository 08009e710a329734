#!/bin/bash
# mkcerts.sh DIR: create throw-away TLS material (CA, server, client, unrelated CA) for the tests.
#
# Files written to DIR:
#   ca.pem ca.key          test CA
#   server.pem server.key  server cert for 127.0.0.1, ::1 and localhost, signed by the CA
#   client.pem client.key  client cert (clientAuth), signed by the CA, for mutual-TLS tests
#   other-ca.pem           an unrelated CA, for wrong-CA tests
# Idempotent: if every file already exists nothing is regenerated. EC P-256 keeps it fast.
set -eu

dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"

all_present() {
    local f
    for f in ca.pem ca.key server.pem server.key client.pem client.key other-ca.pem; do
        [ -s "$f" ] || return 1
    done
}
all_present && exit 0

# Fresh keys and certificates are written to a temp dir and moved in at the end,
# so an interrupted run never leaves a mismatched set behind.
tmp=$(mktemp -d "./.mkcerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# A self-signed CA: newca NAME CN
newca() {
    newkey "$tmp/$1.key"
    openssl req -x509 -new -key "$tmp/$1.key" -sha256 -days 3650 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$tmp/$1.pem" 2>/dev/null
}

# A leaf signed by ca: newleaf NAME CN EXTENSIONS
newleaf() {
    newkey "$tmp/$1.key"
    openssl req -new -key "$tmp/$1.key" -subj "/CN=$2" -out "$tmp/$1.csr" 2>/dev/null
    printf '%s\n' "$3" > "$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days 3650 \
        -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
}

newca ca "agentwatchd test CA"
newca other-ca "unrelated test CA"
newleaf server localhost "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
newleaf client agentwatchd-test-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

chmod 600 "$tmp"/*.key
for f in ca.pem ca.key server.pem server.key client.pem client.key other-ca.pem; do
    mv -f "$tmp/$f" "$f"
done
