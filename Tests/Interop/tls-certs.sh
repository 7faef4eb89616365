#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR (created if missing), with Debian's `openssl`:
#
#   ca.pem            the test CA (key ca.key), and other-ca.pem, a CA nobody trusts
#   server.pem/.key   127.0.0.1 and localhost, serverAuth and clientAuth (etcd's gateway dials its own
#                     member with the server certificate, so etcd needs both)
#   server-expired    the same, expired yesterday;  server-other: signed by other-ca
#   client.pem/.key   CN orders-client, SAN DNS orders.client.test, URI spiffe://beacon.test/orders
#   client-payments   CN payments-client;  client-expired: expired;  client-other: signed by other-ca
#
# Usage: tls-certs.sh DIR        (EC P-256 keys: quick to make and to handshake with)
set -euo pipefail
dir=${1:?usage: tls-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

authority() { # NAME
    key "$1"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=Beacon test $1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # NAME CA DAYS SUBJECT SAN EXTENDED-KEY-USAGE   (DAYS -1: expired yesterday)
    key "$1"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$4" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
        "$6" "$5" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days "$3" -out "$1.pem" \
        -extfile "$1.ext" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

authority ca
authority other-ca
server_names="IP:127.0.0.1,DNS:localhost"
leaf server ca 30 /CN=localhost "$server_names" serverAuth,clientAuth
leaf server-expired ca -1 /CN=localhost "$server_names" serverAuth,clientAuth
leaf server-other other-ca 30 /CN=localhost "$server_names" serverAuth,clientAuth
orders_names="DNS:orders.client.test,URI:spiffe://beacon.test/orders"
leaf client ca 30 /CN=orders-client "$orders_names" clientAuth
leaf client-payments ca 30 /CN=payments-client "DNS:payments.client.test" clientAuth
leaf client-expired ca -1 /CN=orders-client "$orders_names" clientAuth
leaf client-other other-ca 30 /CN=orders-client "$orders_names" clientAuth
chmod 600 ./*.key
