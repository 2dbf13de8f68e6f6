#!/bin/sh
# deps.sh - make sure the Debian packages mimeo needs are installed.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact `sudo apt-get install ...` line and fails.
#   scripts/deps.sh [--optional]   (--optional also pulls GMime, libidn2, Dovecot,
#                                   AFL++, clang, and the Python binding's
#                                   cffi, pytest, dask, distributed, pandas)
set -eu

required="meson ninja-build pkg-config gcc libc6-dev zlib1g-dev check python3"
optional="libgmime-3.0-dev libssl-dev libidn2-dev dovecot-core dovecot-pop3d clang libclang-rt-14-dev afl++
python3-cffi python3-pytest python3-dask python3-distributed python3-pandas"

want="$required"
[ "${1:-}" = "--optional" ] && want="$required $optional"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Dovecot's maintainer scripts try to start the service; we never want
	# the system instance (tests run their own on loopback).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get update -qq >/dev/null || true
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		# Optional packages may be unavailable on some mirrors: retry one by one.
		for p in $missing; do
			apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
				echo "deps: could not install $p" >&2
		done
	fi
	# Required ones must be there now.
	for p in $required; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
			echo "deps: required package $p is still missing" >&2
			exit 1
		}
	done
	exit 0
fi

req_missing=""
for p in $missing; do
	case " $required " in *" $p "*) req_missing="$req_missing $p" ;; esac
done
if [ -n "$req_missing" ]; then
	echo "mimeo needs these Debian packages; run:" >&2
	echo "  sudo apt-get install$req_missing" >&2
	exit 1
fi
echo "deps: optional packages missing (tests using them will be skipped):" >&2
echo "  sudo apt-get install$missing" >&2
exit 0
