#!/usr/bin/env bash
# Makes a throw-away CA and a server certificate for 127.0.0.1 (EC P-256, valid 2 days) in
# the current directory, with the openssl command line: ca.pem, ca.key, server.pem,
# server.key. Used by the TLS benchmarks (tls-cost.sh, callgrind-per-request.sh).
set -euo pipefail
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n' > leaf.cnf
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench" -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile leaf.cnf \
    -out server.pem 2>/dev/null
