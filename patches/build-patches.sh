#!/usr/bin/env bash
# Regenerate the nova-garp patch set under patches/<release>/nova-garp-hook.patch.
#
# Each patch has two parts:
#   1. nova/network/manager.py: the call at the end of init_host() of
#      FlatDHCPManager and VlanManager (only rebuilt with --nova-git);
#   2. nova/network/garp_hook.py: a new-file diff whose content is exactly
#      patches/nova_garp_hook.py (always rebuilt, so the two cannot drift).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: patches/build-patches.sh [--check] [--nova-git GIT_DIR] [RELEASE...]

Rebuild patches/<RELEASE>/nova-garp-hook.patch for each RELEASE (default:
every release directory under patches/).

  (no option)        rewrite the nova/network/garp_hook.py new-file part of
                     each patch from patches/nova_garp_hook.py; the
                     manager.py part is kept as it is.
  --nova-git DIR     also rebuild the manager.py part from the pristine
                     nova/network/manager.py at tag RELEASE of the openstack/nova
                     git directory DIR (bare or not); needed to add a release.
  --check            change nothing; exit 1 if any patch is not what this
                     script would write (use in tests/CI).
  -h, --help         this text.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/nova_garp_hook.py"
patch_name="nova-garp-hook.patch"
target="nova/network/garp_hook.py"
check=0
nova_git=""
releases=()

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --check) check=1 ;;
    --nova-git)
      [ $# -ge 2 ] || { echo "build-patches: --nova-git needs a directory" >&2; exit 2; }
      nova_git="$2"; shift ;;
    -*) echo "build-patches: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) releases+=("$1") ;;
  esac
  shift
done

if [ ${#releases[@]} -eq 0 ]; then
  for d in "$here"/*/; do
    d=${d%/}
    [ -f "$d/$patch_name" ] || [ -n "$nova_git" ] || continue
    releases+=("$(basename "$d")")
  done
fi
if [ ${#releases[@]} -eq 0 ]; then
  echo "build-patches: no release directories with $patch_name under $here" >&2
  exit 2
fi

if [ -n "$(tail -c1 "$module")" ]; then
  echo "build-patches: $module must end with a newline" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The new-file diff for nova/network/garp_hook.py, from the module.
new_file_part() {
  local n
  n=$(wc -l <"$module")
  printf 'diff --git a/%s b/%s\n' "$target" "$target"
  printf 'new file mode 100644\n'
  printf -- '--- /dev/null\n'
  printf '+++ b/%s\n' "$target"
  printf '@@ -0,0 +1,%d @@\n' "$n"
  sed 's/^/+/' "$module"
}

# Everything in an existing patch before the garp_hook.py new-file part.
kept_part() {
  awk -v t="diff --git a/$target b/$target" '$0 == t { exit } { print }' "$1"
}

# The manager.py part, from the pristine file at tag $1.
manager_part() {
  local tag="$1"
  git --git-dir="$nova_git" show "$tag:nova/network/manager.py" >"$tmp/a.py" || {
    echo "build-patches: no nova/network/manager.py at $tag in $nova_git" >&2
    return 1
  }
  python3 - "$tmp/a.py" "$tmp/b.py" <<'PY'
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
lines = open(src).read().split('\n')
CALL = ['        # nova-garp: every address is bound; tell the sidecar (never raises).',
        '        from nova.network import garp_hook',
        '        garp_hook.notify_started(self)']


def end_of_init_host(cls):
    start = None
    for i, line in enumerate(lines):
        if re.match(r'class %s\(' % cls, line):
            start = i
            break
    if start is None:
        sys.exit('class %s not found' % cls)
    for i in range(start + 1, len(lines)):
        if lines[i].startswith('class '):
            break
        if lines[i] == '    def init_host(self):':
            j = i + 1
            while j < len(lines) and (lines[j].strip() == '' or lines[j].startswith('        ')):
                j += 1
            # j: first line of the next def/class; back over blank lines.
            k = j
            while lines[k - 1].strip() == '':
                k -= 1
            return k
    sys.exit('%s.init_host not found' % cls)


points = sorted([end_of_init_host('FlatDHCPManager'), end_of_init_host('VlanManager')],
                reverse=True)
for p in points:
    lines[p:p] = CALL
open(dst, 'w').write('\n'.join(lines))
PY
  printf 'diff --git a/nova/network/manager.py b/nova/network/manager.py\n'
  local rc=0
  diff -u --label a/nova/network/manager.py --label b/nova/network/manager.py \
    "$tmp/a.py" "$tmp/b.py" || rc=$?
  [ "$rc" -eq 1 ] || { echo "build-patches: diff failed for $tag" >&2; return 1; }
}

status=0
for rel in "${releases[@]}"; do
  out="$here/$rel/$patch_name"
  {
    if [ -n "$nova_git" ]; then
      manager_part "$rel"
    elif [ -f "$out" ]; then
      kept_part "$out"
    else
      echo "build-patches: $out does not exist; create it with --nova-git" >&2
      exit 1
    fi
    new_file_part
  } >"$tmp/new.patch"
  if [ "$check" -eq 1 ]; then
    if [ -f "$out" ] && cmp -s "$tmp/new.patch" "$out"; then
      echo "ok: $rel/$patch_name is up to date"
    else
      echo "STALE: $rel/$patch_name differs from what build-patches.sh writes" >&2
      status=1
    fi
  else
    mkdir -p "$here/$rel"
    cp "$tmp/new.patch" "$out"
    echo "wrote $rel/$patch_name"
  fi
done
exit "$status"
