#!/bin/sh
# sandcat agent-side setup. Use it as the agent container's entrypoint (any image, POSIX sh):
#
#   entrypoint: ["sh", "/sandcat/public/sandcat-agent-init.sh"]   # the daemon publishes this file
#   command: ["sleep", "infinity"]                                 # or your agent / shell
#
# It waits for the proxy's public files, then
#   - installs the sandcat CA into the system trust store (when root and a trust tool exists);
#   - points NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and GIT_SSL_CAINFO
#     at it, and builds a Java truststore (JAVA_TOOL_OPTIONS) when `keytool` exists;
#   - sources sandcat.env (configured env values and secret placeholders, never real secrets);
#   - sets the git identity from GIT_USER_NAME / GIT_USER_EMAIL and rewrites GitHub SSH remotes to HTTPS;
#   - seeds ~/.claude.json with {"hasCompletedOnboarding": true} when ANTHROPIC_API_KEY is set,
#     and defines the `claude-yolo` alias (claude --dangerously-skip-permissions) for shells;
#   - writes a shell snippet so `docker exec … bash` shells get the same environment;
#   - drops to SANDCAT_AGENT_USER (if set and running as root), then execs the command.
#
# Environment: SANDCAT_PUBLIC_DIR (/sandcat/public), SANDCAT_AGENT_USER (unset: stay as is),
# SANDCAT_WAIT seconds to wait for the proxy (120). With no command it just prepares and exits.
set -eu

PUB=${SANDCAT_PUBLIC_DIR:-/sandcat/public}
CA="$PUB/ca.pem"
ENV_FILE="$PUB/sandcat.env"
STAGE=${SANDCAT_INIT_STAGE:-system}

say() { printf 'sandcat-agent-init: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if [ "$STAGE" = system ]; then
  waited=0
  limit=${SANDCAT_WAIT:-120}
  while [ ! -f "$PUB/ready" ] || [ ! -s "$CA" ]; do
    if [ "$waited" -ge "$limit" ]; then
      say "no $PUB/ready after ${limit}s: is the sandcat proxy running, and is its public volume mounted at $PUB?"
      exit 1
    fi
    [ "$waited" -eq 0 ] && say "waiting for the sandcat proxy ($PUB/ready)"
    sleep 1
    waited=$((waited + 1))
  done
fi

# Pick up the CA env set by a root stage that already ran (`docker exec` as root), or build it here.
ROOT=0
[ "$STAGE" = system ] && [ "$(id -u)" = 0 ] && ROOT=1

system_bundle() {
  for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 0
}
# Does this bundle really hold the sandcat CA? (A trust tool may be missing or may have failed.)
holds_ca() { [ -n "$1" ] && [ -f "$1" ] && grep -qF "$(sed -n 2p "$CA")" "$1"; }

if [ "$STAGE" = system ]; then
  if [ "$ROOT" = 1 ]; then
    STATE=/var/lib/sandcat-agent
    SNIPPET=/etc/profile.d/sandcat.sh
    if have update-ca-certificates && [ -d /usr/local/share/ca-certificates ]; then
      # Debian, Ubuntu, Alpine. Skip the (slow) rebuild when the installed copy is current.
      if ! cmp -s "$CA" /usr/local/share/ca-certificates/sandcat.crt; then
        cp "$CA" /usr/local/share/ca-certificates/sandcat.crt
        update-ca-certificates >/dev/null 2>&1 || say "update-ca-certificates failed; using a private bundle"
      fi
    elif have update-ca-trust && [ -d /etc/pki/ca-trust/source/anchors ]; then
      # Fedora, RHEL.
      if ! cmp -s "$CA" /etc/pki/ca-trust/source/anchors/sandcat.pem; then
        cp "$CA" /etc/pki/ca-trust/source/anchors/sandcat.pem
        update-ca-trust extract >/dev/null 2>&1 || say "update-ca-trust failed; using a private bundle"
      fi
    fi
  else
    # Not root: the system store is out of reach; everything goes through the variables below.
    STATE="$HOME/.local/share/sandcat"
    SNIPPET="$HOME/.sandcat-profile.sh"
  fi
  mkdir -p "$STATE" "$(dirname "$SNIPPET")"
  BUNDLE=$(system_bundle)
  if ! holds_ca "$BUNDLE"; then
    { [ -n "$BUNDLE" ] && cat "$BUNDLE"; cat "$CA"; } >"$STATE/ca-bundle.pem"
    BUNDLE="$STATE/ca-bundle.pem"
  fi

  # Java ignores the system store: a copy of the JDK's cacerts plus the sandcat CA.
  JAVA_STORE=""
  if have keytool; then
    JAVA_STORE="$STATE/cacerts"
    java_home=${JAVA_HOME:-}
    if [ -z "$java_home" ] && have java; then java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")"); fi
    rm -f "$JAVA_STORE"
    for f in "$java_home/lib/security/cacerts" "$java_home/jre/lib/security/cacerts" /etc/ssl/certs/java/cacerts; do
      [ -f "$f" ] && { cp "$f" "$JAVA_STORE"; break; }
    done
    if keytool -importcert -noprompt -alias sandcat -file "$CA" -keystore "$JAVA_STORE" -storepass changeit >/dev/null 2>&1; then
      chmod 0644 "$JAVA_STORE"
    else
      say "keytool could not build $JAVA_STORE; Java will not trust the sandcat CA"
      JAVA_STORE=""
    fi
  fi

  # The environment as a snippet, sourced below and by later shells (`docker exec … bash`).
  tmp="$SNIPPET.tmp.$$"
  {
    echo '# written by sandcat-agent-init.sh: trust the sandcat CA, load sandcat.env'
    echo "export NODE_EXTRA_CA_CERTS='$CA'"
    for v in SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO; do echo "export $v='$BUNDLE'"; done
    if [ -n "$JAVA_STORE" ]; then
      echo "case \" \${JAVA_TOOL_OPTIONS:-} \" in *sandcat*) ;; *) export JAVA_TOOL_OPTIONS=\"\${JAVA_TOOL_OPTIONS:+\$JAVA_TOOL_OPTIONS }-Djavax.net.ssl.trustStore=$JAVA_STORE -Djavax.net.ssl.trustStorePassword=changeit\" ;; esac"
    fi
    echo "if [ -r '$ENV_FILE' ]; then set -a; . '$ENV_FILE'; set +a; fi"
    echo "alias claude-yolo='claude --dangerously-skip-permissions' 2>/dev/null || true"
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$SNIPPET"
  # Interactive non-login shells read these rc files, not /etc/profile.d.
  if [ "$ROOT" = 1 ]; then
    for rc in /etc/bash.bashrc /etc/bash/bashrc /etc/zsh/zshrc; do
      if [ -f "$rc" ] && ! grep -q 'profile.d/sandcat.sh' "$rc"; then
        printf '\n[ -r /etc/profile.d/sandcat.sh ] && . /etc/profile.d/sandcat.sh\n' >>"$rc"
      fi
    done
  else
    grep -qs 'sandcat-profile.sh' "$HOME/.bashrc" || printf '\n[ -r "$HOME/.sandcat-profile.sh" ] && . "$HOME/.sandcat-profile.sh"\n' >>"$HOME/.bashrc"
  fi
  # shellcheck disable=SC1090
  . "$SNIPPET"
fi

# ---- drop to the agent user; the variables above are exported and survive the switch ----
if [ "$ROOT" = 1 ] && [ -n "${SANDCAT_AGENT_USER:-}" ] && [ "$SANDCAT_AGENT_USER" != root ]; then
  uid=$(id -u "$SANDCAT_AGENT_USER") || { say "no user $SANDCAT_AGENT_USER in this image"; exit 1; }
  gid=$(id -g "$SANDCAT_AGENT_USER")
  home=$(getent passwd "$SANDCAT_AGENT_USER" 2>/dev/null | cut -d: -f6)
  [ -n "$home" ] || home=/home/$SANDCAT_AGENT_USER
  mkdir -p "$home"
  # A fresh named volume over the home directory is root-owned; hand it to the user once.
  [ "$(stat -c %u "$home" 2>/dev/null || echo "$uid")" = "$uid" ] || chown "$uid:$gid" "$home"
  export HOME="$home" USER="$SANDCAT_AGENT_USER" LOGNAME="$SANDCAT_AGENT_USER" SANDCAT_INIT_STAGE=user
  if have setpriv; then exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- sh "$0" "$@"; fi
  if have runuser; then exec runuser -u "$SANDCAT_AGENT_USER" -- sh "$0" "$@"; fi
  if have su-exec; then exec su-exec "$SANDCAT_AGENT_USER" sh "$0" "$@"; fi
  if have gosu; then exec gosu "$SANDCAT_AGENT_USER" sh "$0" "$@"; fi
  say "cannot drop to $SANDCAT_AGENT_USER: no setpriv, runuser, su-exec or gosu"
  exit 1
fi

# ---- per-user stage: git and Claude Code ----
if [ -n "${HOME:-}" ] && [ -w "$HOME" ]; then
  if have git; then
    [ -n "${GIT_USER_NAME:-}" ] && git config --global user.name "$GIT_USER_NAME"
    [ -n "${GIT_USER_EMAIL:-}" ] && git config --global user.email "$GIT_USER_EMAIL"
    # No SSH keys in the sandbox: GitHub over HTTPS, where the proxy substitutes the token.
    git config --global --unset-all url.https://github.com/.insteadOf >/dev/null 2>&1 || true
    git config --global --add url.https://github.com/.insteadOf git@github.com:
    git config --global --add url.https://github.com/.insteadOf ssh://git@github.com/
  fi
  if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
    # API-key mode: skip Claude Code's interactive onboarding. The key itself is a placeholder.
    if [ ! -s "$HOME/.claude.json" ]; then
      printf '{"hasCompletedOnboarding": true}\n' >"$HOME/.claude.json"
    elif have node && ! grep -q '"hasCompletedOnboarding": *true' "$HOME/.claude.json"; then
      node -e 'const f=process.argv[1],fs=require("fs");const j=JSON.parse(fs.readFileSync(f,"utf8"));j.hasCompletedOnboarding=true;fs.writeFileSync(f,JSON.stringify(j,null,2)+"\n")' "$HOME/.claude.json" \
        || say "could not update $HOME/.claude.json"
    fi
  fi
fi

[ "$#" -gt 0 ] || exit 0
exec "$@"
