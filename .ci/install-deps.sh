#!/usr/bin/env bash
# Installs the Debian packages the tests (and, with --bench, the benchmarks) use.
# Packages that ship daemons (postfix, dovecot, nginx, kea, dnsmasq) must not start them:
# a policy-rc.d that exits 101 tells invoke-rc.d to leave them alone.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-deps: needs root (apt-get)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
test_pkgs="curl swaks python3 make g++ dovecot-imapd fetchmail isync mutt busybox isc-dhcp-client dhcpcd-base iproute2 openssl procps sslscan chromium bind9-dnsutils dnsmasq-base tcpdump tshark iputils-ping iputils-arping poppler-utils zbar-tools"
bench_pkgs="wrk gcc nginx-light postfix dovecot-pop3d kea-dhcp4-server kea-admin dnsmasq-base sslscan dnsperf"
pkgs="$test_pkgs"
[ "${1:-}" = "--bench" ] && pkgs="$test_pkgs $bench_pkgs"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
