#!/bin/sh
# Make sure redis-server is on PATH for the Redis state-store tests. Idempotent.
# Installs the Debian package only; no service is started (the tests run their own server).
set -eu

if command -v redis-server >/dev/null 2>&1; then
    echo "redis-server present: $(redis-server --version)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "redis-server is missing and installing it needs root: apt-get install redis-server" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101 keeps the package's init scripts from starting a service on install
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
echo "installed: $(redis-server --version)"
