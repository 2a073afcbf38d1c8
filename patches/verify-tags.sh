#!/usr/bin/env bash
# Check, at every nova release tag, that the patch apply.sh picks there applies
# with `git apply --check` to a pristine export of the tag (nothing is modified).
set -euo pipefail

usage() {
  cat <<'EOF2'
Usage: patches/verify-tags.sh [--matrix] NOVA_GIT_DIR [TAG...]

NOVA_GIT_DIR is a clone (bare or not) of the public openstack/nova repository.
For every TAG (default: every release and stable tag from 2011.2 to 21.x, i.e.
2011.2, 2011.3.1, 2012.2.4, 2015.1.0, 12.0.6, 20.6.1 ..., and every
<series>-eol tag that exists in NOVA_GIT_DIR) it exports nova/network at TAG
into a temporary directory, asks `apply.sh --which TAG` which patch apply.sh
uses there, and runs `git apply --check -p1` with that patch.

One line per tag: "TAG  PATCH ok", "TAG  PATCH FAIL", "TAG  (no patch)" when
the tag has nova-network but apply.sh maps it to nothing, or
"TAG  (no nova/network/manager.py)". Then a summary: the tags green per patch.

  --matrix   also try every other patch at every tag (" other:ok|FAIL").

Exits 0 if the picked patch applies at every tag that has nova-network,
1 otherwise, 2 on usage errors.
EOF2
}

matrix=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --matrix) matrix=1; shift ;;
    -*) usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
nova_git="$1"; shift
if ! git --git-dir="$nova_git" rev-parse --git-dir >/dev/null 2>&1; then
  # A non-bare clone: use its .git
  if [ -d "$nova_git/.git" ]; then nova_git="$nova_git/.git"; else
    echo "verify-tags: $nova_git is not a git directory" >&2; exit 2; fi
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apply="$here/apply.sh"
patch_name="nova-garp-hook.patch"
patches=()
for p in "$here"/*/"$patch_name"; do [ -f "$p" ] && patches+=("$(basename "$(dirname "$p")")"); done
[ ${#patches[@]} -gt 0 ] || { echo "verify-tags: no patches under $here" >&2; exit 2; }

tags=("$@")
if [ ${#tags[@]} -eq 0 ]; then
  while IFS= read -r t; do tags+=("$t"); done < <(
    git --git-dir="$nova_git" tag --list |
      grep -E '^(201[1-5]\.[0-9]+(\.[0-9]+)?|(1[2-9]|2[01])\.[0-9]+\.[0-9]+|[a-z]+-eol)$' |
      grep -Ev '^(2010|2011\.1)' |
      sort -V)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A green=()
declare -A red=()
status=0
checked=0
for tag in "${tags[@]}"; do
  dir="$tmp/tree"
  rm -rf "$dir"; mkdir -p "$dir"
  if ! git --git-dir="$nova_git" archive "$tag" nova/network 2>/dev/null | tar -x -C "$dir" 2>/dev/null \
     || [ ! -f "$dir/nova/network/manager.py" ]; then
    printf '%-14s (no nova/network/manager.py)\n' "$tag"
    continue
  fi
  checked=$((checked + 1))
  if ! picked=$(bash "$apply" --which "$tag" 2>/dev/null); then
    printf '%-14s (no patch)\n' "$tag"
    red["(none)"]+=" $tag"
    status=1
    continue
  fi
  if (cd "$dir" && git apply --check -p1 "$here/$picked/$patch_name" >/dev/null 2>&1); then
    line=$(printf '%-14s %-8s ok' "$tag" "$picked")
    green[$picked]+=" $tag"
  else
    line=$(printf '%-14s %-8s FAIL' "$tag" "$picked")
    red[$picked]+=" $tag"
    status=1
  fi
  if [ "$matrix" -eq 1 ]; then
    for rel in "${patches[@]}"; do
      [ "$rel" != "$picked" ] || continue
      if (cd "$dir" && git apply --check -p1 "$here/$rel/$patch_name" >/dev/null 2>&1); then
        line+=" $rel:ok"
      else
        line+=" $rel:FAIL"
      fi
    done
  fi
  echo "$line"
done

echo
echo "summary: $checked tags with nova-network checked"
for rel in "${patches[@]}"; do
  set -- ${green[$rel]:-}
  printf '  %-8s green at %3d tag(s):%s\n' "$rel" "$#" "${green[$rel]:-}"
  if [ -n "${red[$rel]:-}" ]; then printf '  %-8s FAILS at:%s\n' "$rel" "${red[$rel]}"; fi
done
if [ -n "${red["(none)"]:-}" ]; then printf '  no patch for:%s\n' "${red["(none)"]}"; fi
[ "$status" -eq 0 ] && echo "all green" || echo "NOT all green"
exit "$status"
