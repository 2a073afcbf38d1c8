#!/usr/bin/env bash
# The Python part of `npm test`: the patch-set suites on Python 3, and the
# hook's own suites (test_hook, test_options) on Python 2.7 too, because nova
# ran the hook on Python 2 until Ocata. Interpreters: python3 on PATH; Python
# 2.7 from $PYTHON2, python2.7/python2 on PATH, or pyenv's 2.7 build
# ($PYENV_ROOT or ~/.pyenv, versions/2.7*/bin/python2.7).
# Outside CI a missing interpreter is skipped with a loud banner; under
# CI=true it fails the run, like test/helpers/requirements.ts.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bar=$(printf '!%.0s' $(seq 1 78))
cannot_run() { # suite why
  if [ "${CI:-}" = "true" ]; then
    printf '\n%s\nFAILED %s must run under CI=true but cannot: %s\n%s\n\n' "$bar" "$1" "$2" "$bar" >&2
    status=1
  else
    printf '\n%s\nSKIPPED %s: %s\n%s\n\n' "$bar" "$1" "$2" "$bar" >&2
  fi
}

works() { # exe major
  [ -n "$1" ] && [ -x "$1" ] &&
    [ "$("$1" -c 'import sys; print(sys.version_info[0])' 2>/dev/null)" = "$2" ]
}

find_python2() {
  local c
  for c in "${PYTHON2:-}" "$(command -v python2.7 2>/dev/null)" "$(command -v python2 2>/dev/null)"; do
    works "$c" 2 && { echo "$c"; return 0; }
  done
  shopt -s nullglob
  for root in "${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv; do
    [ -n "$root" ] || continue
    for c in $(printf '%s\n' "$root"/versions/2.7*/bin/python2.7 | sort -rV); do
      works "$c" 2 && { echo "$c"; return 0; }
    done
  done
  return 1
}

status=0
py3=$(command -v python3 2>/dev/null || true)
py2=$(find_python2 || true)
# test_grammar runs the hook under this Python 2 as well.
[ -n "$py2" ] && export PYTHON2="$py2"

if works "$py3" 3; then
  echo "== Python suites on $("$py3" -V 2>&1) ($py3)"
  "$py3" -m unittest discover -s test/python -t . -v || status=1
else
  cannot_run "Python 3 suites (test/python)" "no python3 on PATH"
fi

if [ -n "$py2" ]; then
  echo "== hook suites on $("$py2" -V 2>&1) ($py2)"
  (cd test/python && "$py2" -m unittest -v test_hook test_options) || status=1
else
  cannot_run "Python 2.7 hook suites (test_hook, test_options)" \
    "no Python 2.7: set PYTHON2, or put python2.7 on PATH or under ~/.pyenv/versions/2.7*"
fi
exit "$status"
