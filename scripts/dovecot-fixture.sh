#!/bin/sh
# dovecot-fixture.sh - a throw-away Dovecot POP3 server on loopback, for the
# POP3 tests (see ../shared/notes/dovecot-pop3.md for why each setting is
# there).  Nothing here reads /etc/dovecot, uses systemd, writes outside DIR
# or listens anywhere but 127.0.0.1 (and ::1 with --ipv6).  Processes are
# stopped by the PID in DIR/run/master.pid and by its process group, never
# by name.
#
#   dovecot-fixture.sh available
#       exit 0 when dovecot can be used here, 77 (meson's skip) otherwise
#   dovecot-fixture.sh start DIR [--port P] [--user U] [--password PW]
#                                [--tls-port P2] [--ipv6]
#       DIR: an empty or new folder, at most 80 characters (Unix socket
#       paths live under it).  Prints "PORT=<port>" (and "TLS_PORT=", and
#       "CAFILE=" with --tls-port) once the server greets.  Default user
#       alice, password wonderland.  Without --port a free port is picked.
#   dovecot-fixture.sh seed DIR FILE...
#       drop messages into the user's Maildir new/ in this order
#   dovecot-fixture.sh session-pids DIR
#       PIDs of the running pop3 session processes (to simulate a crash)
#   dovecot-fixture.sh stop DIR
#       SIGTERM to the master, then whatever is left of its process group
#   dovecot-fixture.sh kill DIR
#       SIGKILL to the master's process group at once (tests: a throw-away
#       server need not shut down gracefully, and this saves a second)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

die() { echo "dovecot-fixture: $*" >&2; exit 1; }

DOVECOT=${DOVECOT:-$(command -v dovecot 2>/dev/null || ls /usr/sbin/dovecot 2>/dev/null || true)}

have_dovecot() {
	[ -n "$DOVECOT" ] && [ -x "$DOVECOT" ] || return 1
	# dovecot-pop3d provides the pop3 service binary
	[ -x /usr/lib/dovecot/pop3 ] || [ -x /usr/libexec/dovecot/pop3 ] || return 1
	command -v python3 >/dev/null 2>&1 || return 1
}

free_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Wait until 127.0.0.1:$1 sends a greeting starting with +OK (5 s max).
wait_greeting() {
	python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
end = time.time() + 5
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.settimeout(2)
        data = s.recv(512)
        s.close()
        if data.startswith(b"+OK"):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
sys.exit(1)
EOF
}

master_pid() {
	[ -f "$1/run/master.pid" ] && cat "$1/run/master.pid" || true
}

cmd_start() {
	dir=$1; shift
	port=""; user=alice; pass=wonderland; tls_port=""; ipv6=""
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift 2 ;;
		--user) user=$2; shift 2 ;;
		--password) pass=$2; shift 2 ;;
		--tls-port) tls_port=$2; shift 2 ;;
		--ipv6) ipv6=1; shift ;;
		*) die "unknown option $1" ;;
		esac
	done
	have_dovecot || die "dovecot (dovecot-core + dovecot-pop3d) is not installed"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ${#dir} -le 80 ] || die "$dir is longer than 80 characters (Unix socket paths)"
	rm -rf "$dir/run"
	mkdir -p "$dir/run" "$dir/state" "$dir/mail/$user/cur" "$dir/mail/$user/new" \
		"$dir/mail/$user/tmp"
	chmod 0711 "$dir"
	printf '%s:{PLAIN}%s::::::\n' "$user" "$pass" > "$dir/passwd"
	listen=127.0.0.1
	[ -n "$ipv6" ] && listen="127.0.0.1, ::1"
	if [ "$(id -u)" = 0 ]; then
		ids="mail_uid = nobody
mail_gid = nogroup"
		chroot_line=""
		chown -R nobody:nogroup "$dir/mail"
		chgrp dovecot "$dir/passwd"
		chmod 0640 "$dir/passwd"
		# every parent must be searchable by dovecot and nobody
		p=$(dirname "$dir")
		while [ "$p" != / ]; do
			perm=$(stat -c %a "$p")
			case $perm in *[1357]) ;; *) die "$p is not searchable by other users (mode $perm)" ;; esac
			p=$(dirname "$p")
		done
	else
		me=$(id -un); grp=$(id -gn)
		ids="default_internal_user = $me
default_internal_group = $grp
default_login_user = $me"
		chroot_line="  chroot ="
	fi
	ssl="ssl = no"
	tls_listener=""
	if [ -n "$tls_port" ]; then
		mkdir -p "$dir/tls"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
			-keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" >/dev/null 2>&1 ||
			die "openssl could not make a certificate"
		chmod 0644 "$dir/tls/key.pem"
		ssl="ssl = yes
ssl_cert = <$dir/tls/cert.pem
ssl_key = <$dir/tls/key.pem"
		tls_listener="  inet_listener pop3s {
    port = $tls_port
    ssl = yes
  }"
	fi
	tries=0
	while :; do
		tries=$((tries + 1))
		[ -n "$port" ] || { port=$(free_port); auto_port=1; }
		cat > "$dir/dovecot.conf" <<EOF
instance_name = mimeo-test-$$
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = pop3
listen = $listen
$ssl
disable_plaintext_auth = no
auth_mechanisms = plain apop
$ids
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
}
mail_location = maildir:$dir/mail/%u
pop3_uidl_format = %08Xu%08Xv
auth_failure_delay = 0
service pop3-login {
$chroot_line
  inet_listener pop3 {
    port = $port
  }
$tls_listener
}
service anvil {
$chroot_line
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
		: > "$dir/dovecot.log"
		if "$DOVECOT" -c "$dir/dovecot.conf" 2>"$dir/start.err" && wait_greeting "$port"; then
			break
		fi
		cmd_stop "$dir" >/dev/null 2>&1 || true
		# binding to port 0 and closing is racy: another test may
		# have taken the port meanwhile; try another one
		if [ "${auto_port:-}" = 1 ] && [ $tries -lt 5 ] &&
		   grep -qs "in use" "$dir/start.err" "$dir/dovecot.log"; then
			port=""
			rm -rf "$dir/run"; mkdir -p "$dir/run"
			continue
		fi
		cat "$dir/start.err" "$dir/dovecot.log" >&2 2>/dev/null || true
		die "dovecot did not start"
	done
	echo "PORT=$port"
	if [ -n "$tls_port" ]; then
		echo "TLS_PORT=$tls_port"
		echo "CAFILE=$dir/tls/cert.pem"
	fi
}

cmd_seed() {
	dir=$1; shift
	user=$(cut -d: -f1 "$dir/passwd")
	new="$dir/mail/$user/new"
	# Dovecot numbers new messages by sorting file names (seconds, then
	# M<usecs>): make them increase in the order given.
	base=$(date +%s)
	n=$(find "$new" "$dir/mail/$user/cur" -type f | wc -l)
	for f in "$@"; do
		n=$((n + 1))
		name=$(printf '%s.M%06dP%dQ%d.mimeo-seed' "$base" "$n" $$ "$n")
		cp "$f" "$dir/mail/$user/tmp/$name"
		[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir/mail/$user/tmp/$name"
		mv "$dir/mail/$user/tmp/$name" "$new/$name"
	done
}

cmd_session_pids() {
	pid=$(master_pid "$1")
	[ -n "$pid" ] || return 0
	for st in /proc/[0-9]*/stat; do
		line=$(cat "$st" 2>/dev/null) || continue
		comm=${line#*(}; comm=${comm%)*}
		rest=${line##*) }
		# rest: state ppid pgrp ...
		pgrp=$(echo "$rest" | cut -d' ' -f3)
		p=${st#/proc/}; p=${p%/stat}
		[ "$pgrp" = "$pid" ] && [ "$comm" = pop3 ] && echo "$p"
	done
	return 0
}

# Is $1 the PID of the master of DIR $2?  (its command line names our
# config; a recycled PID is left alone)
is_our_master() {
	tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-c $2/dovecot.conf"
}

cmd_kill() {
	dir=$(cd "$1" && pwd)
	pid=$(master_pid "$dir")
	[ -n "$pid" ] || return 0
	is_our_master "$pid" "$dir" || return 0
	# the master leads its own process group (it daemonized with setsid)
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	return 0
}

cmd_stop() {
	dir=$(cd "$1" && pwd)
	pid=$(master_pid "$dir")
	[ -n "$pid" ] || return 0
	is_our_master "$pid" "$dir" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while [ $i -lt 40 ]; do
		# a zombie (state Z) counts as gone: PID 1 may reap late
		state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || state=""
		[ -z "$state" ] || [ "$state" = Z ] && break
		sleep 0.05
		i=$((i + 1))
	done
	# leftovers of its process group (a pop3 process with a client
	# still connected keeps running after the master's SIGTERM)
	kill -TERM -- "-$pid" 2>/dev/null || true
	sleep 0.1
	kill -KILL -- "-$pid" 2>/dev/null || true
	return 0
}

[ $# -ge 1 ] || die "usage: $0 available|start|seed|session-pids|stop|kill DIR ..."
cmd=$1; shift
case $cmd in
available) have_dovecot && exit 0; exit 77 ;;
start) [ $# -ge 1 ] || die "start needs DIR"; cmd_start "$@" ;;
seed) [ $# -ge 2 ] || die "seed needs DIR FILE..."; cmd_seed "$@" ;;
session-pids) [ $# -eq 1 ] || die "session-pids needs DIR"; cmd_session_pids "$1" ;;
stop) [ $# -eq 1 ] || die "stop needs DIR"; cmd_stop "$1" ;;
kill) [ $# -eq 1 ] || die "kill needs DIR"; cmd_kill "$1" ;;
*) die "unknown command $cmd" ;;
esac
