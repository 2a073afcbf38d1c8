#!/usr/bin/env bash
# Install (or remove) the nova-garp hook in a nova source tree.
set -euo pipefail

prog="apply.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
patch_name="nova-garp-hook.patch"

# Exit codes.
E_USAGE=2        # bad arguments, or not a nova tree
E_CONFLICT=1     # the patch neither applies nor reverts cleanly
E_UNKNOWN=3      # release not recognised / no patch for it
E_STATE=4        # already applied (apply, --check) / not applied (--revert)

usage() {
  cat <<'EOF'
Usage: patches/apply.sh NOVA_SOURCE_DIR [--check|--revert] [--release VERSION]
       patches/apply.sh --which VERSION

Install the nova-garp start hook into the nova tree NOVA_SOURCE_DIR: the
directory that holds the "nova" package (a git checkout, an unpacked release
tarball/sdist, or the site-packages/dist-packages directory of an installed
nova). It adds nova/network/garp_hook.py and calls it at the end of
init_host() of FlatDHCPManager and VlanManager in nova/network/manager.py.

The release is detected from the tree:
  nova/version.py NOVA_VERSION (2011.x, 2012.x), else PKG-INFO (sdist),
  nova.egg-info/PKG-INFO, nova-*.egg-info or nova-*.dist-info next to nova/,
  else `git describe --tags` in a git checkout.
and mapped to a patch (a <series>-eol tag name counts as its series):
  2011.2*               (Cactus)             -> patches/2011.2/
  2011.3*               (Diablo)             -> patches/2011.3/
  2012.1*, 2012.2*      (Essex, Folsom)      -> patches/2012.2/
  2013.1*               (Grizzly)            -> patches/2013.1/
  2013.2*, 2014.1*      (Havana, Icehouse)   -> patches/2013.2/
  2014.2*, 2015.1*, 12.* (Juno, Kilo, Liberty) -> patches/2014.2/
  13.* .. 20.*          (Mitaka .. Train)    -> patches/14.0.0/

Every run first dry-runs the patch (git apply --check, or patch --dry-run
when git is missing) and changes nothing unless that succeeds.

Options:
  --check             only dry-run: exit 0 if the patch would apply cleanly.
  --revert            remove the hook again (reverse dry run first).
  --release VERSION   skip detection and use VERSION (e.g. 2012.2.4, 14.0.0,
                      juno-eol).
  --which VERSION     print the patch directory VERSION maps to and exit
                      (no tree needed; exit 3 if none).
  -h, --help          this text.

Exit status: 0 done (or would apply cleanly with --check); 1 conflict;
2 usage error or not a nova tree; 3 unknown release; 4 already applied
(or, with --revert, not applied).
Environment: NOVA_GARP_PATCH_TOOL=git|patch forces the patch tool.
EOF
}

die() { local code="$1"; shift; echo "$prog: $*" >&2; exit "$code"; }
say() { echo "$prog: $*"; }

# Version (or <series>-eol tag) -> patch directory. One directory per distinct
# init_host() context; verify-tags.sh checks this mapping at every tag.
patch_release_for() {
  local v="$1"
  # pbr-era versions may carry a suffix: 2014.1.dev12.gabc, 12.0.0.0rc1, 13.1.4-3-gabc.
  case "$v" in
    diablo-eol) v=2011.3 ;;
    essex-eol) v=2012.1 ;;
    folsom-eol) v=2012.2 ;;
    grizzly-eol) v=2013.1 ;;
    havana-eol) v=2013.2 ;;
    icehouse-eol) v=2014.1 ;;
    juno-eol) v=2014.2 ;;
    kilo-eol) v=2015.1 ;;
    liberty-eol) v=12.0.0 ;;
    mitaka-eol) v=13.0.0 ;;
    newton-eol) v=14.0.0 ;;
    ocata-eol) v=15.0.0 ;;
    pike-eol) v=16.0.0 ;;
    queens-eol) v=17.0.0 ;;
    rocky-eol) v=18.0.0 ;;
    stein-eol) v=19.0.0 ;;
    train-eol) v=20.0.0 ;;
  esac
  case "$v" in
    2011.2|2011.2.*|2011.2-*) echo "2011.2" ;;
    2011.3|2011.3.*|2011.3-*) echo "2011.3" ;;
    2012.1|2012.1.*|2012.1-*|2012.2|2012.2.*|2012.2-*) echo "2012.2" ;;
    2013.1|2013.1.*|2013.1-*) echo "2013.1" ;;
    2013.2|2013.2.*|2013.2-*|2014.1|2014.1.*|2014.1-*) echo "2013.2" ;;
    2014.2|2014.2.*|2014.2-*|2015.1|2015.1.*|2015.1-*|12.*) echo "2014.2" ;;
    1[3-9].*|20.*) echo "14.0.0" ;;
    *) return 1 ;;
  esac
}

mode="apply"
tree=""
release=""
which_version=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --check) mode="check" ;;
    --revert) mode="revert" ;;
    --release)
      [ $# -ge 2 ] || die "$E_USAGE" "--release needs a version"
      release="$2"; shift ;;
    --release=*) release="${1#--release=}" ;;
    --which)
      [ $# -ge 2 ] || die "$E_USAGE" "--which needs a version"
      which_version="$2"; shift ;;
    -*) usage >&2; die "$E_USAGE" "unknown option: $1" ;;
    *)
      [ -z "$tree" ] || die "$E_USAGE" "only one NOVA_SOURCE_DIR, got '$tree' and '$1'"
      tree="$1" ;;
  esac
  shift
done
if [ -n "$which_version" ]; then
  patch_release_for "$which_version" || die "$E_UNKNOWN" "no patch for nova $which_version"
  exit 0
fi
[ -n "$tree" ] || { usage >&2; die "$E_USAGE" "missing NOVA_SOURCE_DIR"; }
[ -d "$tree" ] || die "$E_USAGE" "$tree: no such directory"
tree=$(cd "$tree" && pwd -P)
[ -f "$tree/nova/network/manager.py" ] ||
  die "$E_USAGE" "$tree is not a nova tree with nova-network: no nova/network/manager.py (give the directory that contains 'nova/')"

# ---------------------------------------------------------------- detection

version_from_version_py() {
  # NOVA_VERSION = ['2011', '2'] / ['2012', '2', None] / ['2012', '2', '4']
  local line
  line=$(grep -E "^NOVA_VERSION *= *\[" "$tree/nova/version.py" 2>/dev/null | head -n1) || return 1
  [ -n "$line" ] || return 1
  echo "$line" | sed -e 's/^[^[]*\[//' -e 's/\].*$//' |
    tr ',' '\n' | tr -d " '\"" | grep -v '^None$' | grep -v '^$' | paste -sd. -
}

version_from_pkg_info() {
  # $1: a PKG-INFO or METADATA file
  [ -f "$1" ] || return 1
  local v
  v=$(sed -n 's/^Version: *//p' "$1" | head -n1 | tr -d '\r')
  [ -n "$v" ] || return 1
  echo "$v"
}

version_from_installed_metadata() {
  local found=() f
  shopt -s nullglob
  for f in "$tree"/nova-*.egg-info "$tree"/nova-*.dist-info; do
    if [ -d "$f" ]; then
      [ -f "$f/PKG-INFO" ] && found+=("$f/PKG-INFO")
      [ -f "$f/METADATA" ] && found+=("$f/METADATA")
    elif [ -f "$f" ]; then
      found+=("$f")
    fi
  done
  shopt -u nullglob
  [ ${#found[@]} -eq 1 ] || return 1
  version_from_pkg_info "${found[0]}"
}

version_from_git() {
  [ -e "$tree/.git" ] || return 1
  command -v git >/dev/null 2>&1 || return 1
  local d
  d=$(GIT_CEILING_DIRECTORIES=$(dirname "$tree") git -C "$tree" describe --tags 2>/dev/null) || return 1
  # 14.0.3-12-gdeadbeef -> 14.0.3
  echo "${d%%-[0-9]*-g*}"
}

detect_version() {
  local v
  if v=$(version_from_version_py) && [ -n "$v" ]; then
    echo "$v nova/version.py"; return 0; fi
  if v=$(version_from_pkg_info "$tree/PKG-INFO"); then
    echo "$v PKG-INFO"; return 0; fi
  if v=$(version_from_pkg_info "$tree/nova.egg-info/PKG-INFO"); then
    echo "$v nova.egg-info/PKG-INFO"; return 0; fi
  if v=$(version_from_installed_metadata); then
    echo "$v installed-metadata"; return 0; fi
  if v=$(version_from_git) && [ -n "$v" ]; then
    echo "$v git-describe"; return 0; fi
  return 1
}


source="--release"
if [ -z "$release" ]; then
  detected=$(detect_version) ||
    die "$E_UNKNOWN" "cannot tell which nova release $tree is (no NOVA_VERSION in nova/version.py, no PKG-INFO/egg-info/dist-info, no git tag); give --release VERSION"
  release=${detected% *}
  source=${detected##* }
fi
patch_rel=$(patch_release_for "$release") ||
  die "$E_UNKNOWN" "nova $release ($source) is not a release this patch set supports (2011.2 .. 2015.1, 12 .. 20); nothing changed"
patch_file="$here/$patch_rel/$patch_name"
[ -f "$patch_file" ] || die "$E_UNKNOWN" "missing $patch_file"
say "nova $release (from $source) in $tree -> $patch_rel/$patch_name"

# ---------------------------------------------------------------- patching

tool="${NOVA_GARP_PATCH_TOOL:-}"
if [ -z "$tool" ]; then
  if command -v git >/dev/null 2>&1; then tool=git
  elif command -v patch >/dev/null 2>&1; then tool=patch
  else die "$E_USAGE" "neither git nor patch is installed"; fi
fi

# run_patch forward|reverse dry|real
run_patch() {
  local dir="$1" how="$2"
  case "$tool" in
    git)
      local args=(apply -p1 --whitespace=nowarn)
      [ "$dir" = reverse ] && args+=(-R)
      [ "$how" = dry ] && args+=(--check)
      # Keep git from treating an enclosing repository as the root.
      GIT_CEILING_DIRECTORIES=$(dirname "$tree") git -C "$tree" "${args[@]}" "$patch_file"
      ;;
    patch)
      local args=(-p1 --batch --fuzz=0 --no-backup-if-mismatch -s -d "$tree" -i "$patch_file")
      # --forward: never let patch turn the direction around by itself.
      args+=(--forward)
      [ "$dir" = reverse ] && args+=(-R)
      [ "$how" = dry ] && args+=(--dry-run)
      patch "${args[@]}"
      ;;
    *) die "$E_USAGE" "NOVA_GARP_PATCH_TOOL must be git or patch, not '$tool'" ;;
  esac
}

forward_ok=0
reverse_ok=0
forward_err=$(run_patch forward dry 2>&1) && forward_ok=1
run_patch reverse dry >/dev/null 2>&1 && reverse_ok=1

case "$mode" in
  check|apply)
    if [ "$forward_ok" -eq 0 ]; then
      [ "$reverse_ok" -eq 1 ] &&
        die "$E_STATE" "the nova-garp hook is already applied to $tree; nothing changed (use --revert to remove it)"
      echo "$forward_err" | sed 's/^/  /' >&2
      die "$E_CONFLICT" "$patch_rel/$patch_name does not apply cleanly to $tree (modified or unsupported tree); nothing changed"
    fi
    if [ "$mode" = check ]; then
      say "dry run ok ($tool): $patch_rel/$patch_name applies cleanly; nothing changed"
      exit 0
    fi
    run_patch forward real || die "$E_CONFLICT" "applying $patch_rel/$patch_name failed after a clean dry run"
    say "applied: added nova/network/garp_hook.py, hooked FlatDHCPManager.init_host and VlanManager.init_host in nova/network/manager.py"
    say "restart nova-network to load it (options: garp_sidecar_socket, garp_sidecar_timeout)"
    ;;
  revert)
    if [ "$reverse_ok" -eq 0 ]; then
      [ "$forward_ok" -eq 1 ] &&
        die "$E_STATE" "the nova-garp hook is not applied to $tree; nothing to revert"
      die "$E_CONFLICT" "$patch_rel/$patch_name cannot be reverted cleanly from $tree (files changed since it was applied); nothing changed"
    fi
    run_patch reverse real || die "$E_CONFLICT" "reverting $patch_rel/$patch_name failed after a clean dry run"
    say "reverted: removed nova/network/garp_hook.py and the init_host calls"
    ;;
esac
