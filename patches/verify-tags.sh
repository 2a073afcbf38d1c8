#!/usr/bin/env bash
# Check which nova release tags each nova-garp patch applies to, with
# `git apply --check` on a pristine export of the tag (nothing is modified).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: patches/verify-tags.sh NOVA_GIT_DIR [TAG...]

NOVA_GIT_DIR is a clone (bare or not) of the public openstack/nova repository.
For every TAG (default: the release tags from 2011.2 to 21.x and the
diablo/essex/folsom/grizzly/.../newton -eol tags that exist in NOVA_GIT_DIR)
and every patches/<release>/nova-garp-hook.patch, export nova/network at TAG
into a temporary directory and run `git apply --check -p1` there.

Prints one line per tag and patch: "ok" or "FAIL"; exits 0 if every patch
applies at its own tag (patches/<TAG>/), 1 otherwise.
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
nova_git="$1"; shift
git --git-dir="$nova_git" rev-parse --git-dir >/dev/null 2>&1 || {
  # A non-bare clone: use its .git
  if [ -d "$nova_git/.git" ]; then nova_git="$nova_git/.git"; else
    echo "verify-tags: $nova_git is not a git directory" >&2; exit 2; fi
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
patches=()
for p in "$here"/*/nova-garp-hook.patch; do [ -f "$p" ] && patches+=("$p"); done
[ ${#patches[@]} -gt 0 ] || { echo "verify-tags: no patches under $here" >&2; exit 2; }

tags=("$@")
if [ ${#tags[@]} -eq 0 ]; then
  while IFS= read -r t; do tags+=("$t"); done < <(
    git --git-dir="$nova_git" tag --list |
      grep -E '^(201[1-5]\.[0-9.]+|(1[2-9]|2[01])\.[0-9]+\.[0-9]+|[a-z]+-eol)$' |
      grep -Ev '^(2011\.1|2010)' |
      sort -V)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
for tag in "${tags[@]}"; do
  dir="$tmp/$tag"
  mkdir -p "$dir"
  if ! git --git-dir="$nova_git" archive "$tag" nova/network 2>/dev/null | tar -x -C "$dir" 2>/dev/null \
     || [ ! -f "$dir/nova/network/manager.py" ]; then
    printf '%-14s (no nova/network/manager.py)\n' "$tag"
    rm -rf "$dir"
    continue
  fi
  line=$(printf '%-14s' "$tag")
  for p in "${patches[@]}"; do
    rel=$(basename "$(dirname "$p")")
    if (cd "$dir" && git apply --check -p1 "$p" >/dev/null 2>&1); then
      line+=" $rel:ok"
    else
      line+=" $rel:FAIL"
      [ "$rel" != "$tag" ] || status=1
    fi
  done
  echo "$line"
  rm -rf "$dir"
done
exit "$status"
