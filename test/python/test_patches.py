"""The per-release patches, build-patches.sh and apply.sh.

Always runs: the new-file hunk of every patch is exactly
patches/nova_garp_hook.py, each patch hooks both managers, and apply.sh
works (detect, dry run, apply, refuse twice, revert, conflicts) on
synthetic trees whose manager.py is made only of the patch's own context
lines. Runs only when a nova checkout is available:
  NOVA_TREES_DIR=DIR  DIR/<tag> for the tags in PRISTINE (2011.2 .. 20.0.0)
                      are pristine nova trees; `apply.sh DIR/<tag> --check`
                      must succeed with the right patch, and a real apply on
                      a copy of nova/network must hook both managers.
  NOVA_GIT_DIR=DIR    a clone of openstack/nova; verify-tags.sh checks the
                      patch apply.sh picks at those tags and a few -eol tags.
"""

import filecmp
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from garp_support import (HOOK_PATH, PATCHES, PATCH_NAME, RELEASES, not_run,
                          requirement)

APPLY = os.path.join(PATCHES, 'apply.sh')
BUILD = os.path.join(PATCHES, 'build-patches.sh')
VERIFY = os.path.join(PATCHES, 'verify-tags.sh')
TARGET = 'nova/network/garp_hook.py'
CALL = 'garp_hook.notify_started(self)'

HUNK = re.compile(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@')


def patch_path(release):
    return os.path.join(PATCHES, release, PATCH_NAME)


def read(path):
    with open(path) as f:
        return f.read()


def split_files(text):
    """{path: [lines of that file's diff after the +++ line]}"""
    files = {}
    current = None
    for line in text.split('\n'):
        if line.startswith('diff --git '):
            current = None
        elif line.startswith('+++ b/'):
            current = line[len('+++ b/'):]
            files[current] = []
        elif current is not None:
            files[current].append(line)
    return files


def hunks(lines):
    """[(old_start, [(tag, text)])] for the hunks of one file."""
    out = []
    for line in lines:
        m = HUNK.match(line)
        if m:
            out.append((int(m.group(1)), []))
        elif out and line[:1] in (' ', '+', '-'):
            out[-1][1].append((line[:1], line[1:]))
    return out


def synthetic_manager(release):
    """A stand-in manager.py: the pre-image lines of every hunk at their
    original line numbers, filler comment lines in between."""
    files = split_files(read(patch_path(release)))
    lines = []
    for start, body in hunks(files['nova/network/manager.py']):
        while len(lines) < start - 1:
            lines.append('# filler line %d' % (len(lines) + 1))
        lines.extend(text for tag, text in body if tag in (' ', '-'))
    lines.extend('# filler tail %d' % i for i in range(5))
    return '\n'.join(lines) + '\n'


VERSION_FILES = {
    '2011.2': ('nova/version.py', "NOVA_VERSION = ['2011', '2']\n"
                                  "YEAR, COUNT = NOVA_VERSION\n"),
    '2012.2': ('nova/version.py', "NOVA_VERSION = ['2012', '2', None]\n"
                                  "YEAR, COUNT, REVISION = NOVA_VERSION\n"),
    '2011.3': ('nova/version.py', "NOVA_VERSION = ['2011', '3']\n"
                                  "YEAR, COUNT = NOVA_VERSION\n"),
    '2013.1': ('PKG-INFO', 'Metadata-Version: 1.1\nName: nova\n'
                           'Version: 2013.1.5\n'),
    '2013.2': ('nova-2014.1.egg-info/PKG-INFO', 'Metadata-Version: 1.1\n'
                                               'Name: nova\nVersion: 2014.1\n'),
    '2014.2': ('nova.egg-info/PKG-INFO', 'Metadata-Version: 1.1\nName: nova\n'
                                         'Version: 2015.1.0\n'),
    '14.0.0': ('PKG-INFO', 'Metadata-Version: 1.1\nName: nova\n'
                           'Version: 14.0.0\n'),
}


def tools():
    found = []
    if shutil.which('git'):
        found.append('git')
    if shutil.which('patch'):
        found.append('patch')
    return found


class TestPatchFiles(unittest.TestCase):
    def test_every_release_has_a_patch(self):
        for release in RELEASES:
            self.assertTrue(os.path.isfile(patch_path(release)), release)

    def test_new_file_hunk_is_the_module(self):
        module = read(HOOK_PATH)
        for release in RELEASES:
            with self.subTest(release=release):
                text = read(patch_path(release))
                self.assertIn('diff --git a/%s b/%s\nnew file mode 100644\n'
                              '--- /dev/null\n+++ b/%s\n'
                              % (TARGET, TARGET, TARGET), text)
                body = split_files(text)[TARGET]
                found = hunks(body)
                self.assertEqual(len(found), 1)
                self.assertEqual(found[0][0], 0)
                self.assertTrue(all(tag == '+' for tag, _ in found[0][1]))
                installed = '\n'.join(t for _, t in found[0][1]) + '\n'
                self.assertEqual(installed, module,
                                 'patch %s is stale: run patches/build-patches.sh'
                                 % release)
                m = HUNK.match([l for l in body if l.startswith('@@')][0])
                self.assertEqual(int(m.group(4)), module.count('\n'))

    def test_only_manager_and_hook_are_touched(self):
        for release in RELEASES:
            with self.subTest(release=release):
                files = split_files(read(patch_path(release)))
                self.assertEqual(sorted(files),
                                 ['nova/network/garp_hook.py',
                                  'nova/network/manager.py'])

    def test_both_managers_are_hooked_and_nothing_removed(self):
        for release in RELEASES:
            with self.subTest(release=release):
                body = split_files(read(patch_path(release)))[
                    'nova/network/manager.py']
                found = hunks(body)
                self.assertEqual(len(found), 2)
                context = []
                for _, lines in found:
                    self.assertFalse([t for tag, t in lines if tag == '-'])
                    added = [t for tag, t in lines if tag == '+']
                    self.assertEqual(added[-1].strip(), CALL)
                    self.assertIn('from nova.network import garp_hook',
                                  [a.strip() for a in added])
                    # Context is small: at most 3 lines on each side.
                    self.assertLessEqual(len(lines) - len(added), 6)
                    context.append('\n'.join(t for _, t in lines))
                # One hunk each for FlatDHCPManager and VlanManager (the
                # hunks' context differs, so neither can land twice).
                self.assertNotEqual(context[0], context[1])

    def test_build_script_agrees(self):
        requirement(self, None if shutil.which('bash') else 'no bash')
        proc = subprocess.run(['bash', BUILD, '--check'], capture_output=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class TestApplyScript(unittest.TestCase):
    def setUp(self):
        requirement(self, None if shutil.which('bash') and tools()
                    else 'needs bash and git or patch')
        self.tmp = tempfile.mkdtemp(prefix='garp-apply-')

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_apply(self, *args, **kw):
        env = dict(os.environ)
        env.pop('NOVA_GARP_PATCH_TOOL', None)
        if kw.get('tool'):
            env['NOVA_GARP_PATCH_TOOL'] = kw['tool']
        return subprocess.run(['bash', APPLY] + list(args), capture_output=True,
                              env=env, text=True, timeout=60)

    def make_tree(self, release, name=None, version_file=None):
        root = os.path.join(self.tmp, name or release)
        os.makedirs(os.path.join(root, 'nova', 'network'))
        with open(os.path.join(root, 'nova', 'network', 'manager.py'), 'w') as f:
            f.write(synthetic_manager(release))
        path, content = version_file or VERSION_FILES[release]
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), 'w') as f:
            f.write(content)
        return root

    def snapshot(self, root):
        copy = root + '.orig'
        shutil.copytree(root, copy)
        return copy

    def assert_same_tree(self, a, b):
        cmp = filecmp.dircmp(a, b)
        def walk(c):
            self.assertEqual((c.left_only, c.right_only, c.diff_files),
                             ([], [], []), c.left)
            for sub in c.subdirs.values():
                walk(sub)
        walk(cmp)

    def test_help(self):
        proc = self.run_apply('--help')
        self.assertEqual(proc.returncode, 0)
        self.assertIn('Usage:', proc.stdout)
        self.assertIn('--revert', proc.stdout)

    def test_full_cycle_on_each_release(self):
        for tool in tools():
            for release in RELEASES:
                with self.subTest(tool=tool, release=release):
                    root = self.make_tree(release, name='%s-%s' % (tool, release))
                    orig = self.snapshot(root)

                    proc = self.run_apply(root, '--check', tool=tool)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertIn('%s/%s' % (release, PATCH_NAME), proc.stdout)
                    self.assert_same_tree(orig, root)

                    proc = self.run_apply(root, tool=tool)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertIn('applied', proc.stdout)
                    self.assertEqual(read(os.path.join(root, TARGET)),
                                     read(HOOK_PATH))
                    manager = read(os.path.join(root, 'nova/network/manager.py'))
                    self.assertEqual(manager.count(CALL), 2)

                    for again in ([], ['--check']):
                        proc = self.run_apply(root, *again, tool=tool)
                        self.assertEqual(proc.returncode, 4, proc.stderr)
                        self.assertIn('already applied', proc.stderr)

                    proc = self.run_apply(root, '--revert', tool=tool)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assert_same_tree(orig, root)

                    proc = self.run_apply(root, '--revert', tool=tool)
                    self.assertEqual(proc.returncode, 4, proc.stderr)
                    self.assertIn('not applied', proc.stderr)
                    self.assert_same_tree(orig, root)

    def test_conflict_changes_nothing(self):
        for tool in tools():
            with self.subTest(tool=tool):
                root = self.make_tree('2012.2', name='conflict-' + tool)
                path = os.path.join(root, 'nova/network/manager.py')
                text = read(path).replace('self.init_host_floating_ips()',
                                          'self.init_host_floating_ips()  # local')
                with open(path, 'w') as f:
                    f.write(text)
                orig = self.snapshot(root)
                proc = self.run_apply(root, tool=tool)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn('does not apply cleanly', proc.stderr)
                self.assert_same_tree(orig, root)

    def test_unknown_release_is_refused(self):
        for i, version in enumerate(("['2011', '1']", "['2010', '1']")):
            root = self.make_tree('2011.2', name='unknown-%d' % i, version_file=(
                'nova/version.py', 'NOVA_VERSION = %s\n' % version))
            orig = self.snapshot(root)
            proc = self.run_apply(root)
            self.assertEqual(proc.returncode, 3, proc.stderr)
            self.assertIn('is not a release this patch set supports', proc.stderr)
            self.assert_same_tree(orig, root)
        for version in ('21.0.0', 'ussuri-eol', '2011.1', 'bexar'):
            root = self.make_tree('14.0.0', name='unknown-' + version)
            proc = self.run_apply(root, '--check', '--release', version)
            self.assertEqual(proc.returncode, 3, proc.stderr)

    def test_every_version_maps_to_its_series_patch(self):
        # What apply.sh picks for each release line, its point releases,
        # pre-releases, the -eol tags and the git-describe forms.
        expected = {
            '2011.2': ['2011.2', '2011.2.1'],
            '2011.3': ['2011.3', '2011.3.1', 'diablo-eol'],
            '2012.2': ['2012.1', '2012.1.3', 'essex-eol', '2012.2', '2012.2.4',
                       'folsom-eol'],
            '2013.1': ['2013.1', '2013.1.5', 'grizzly-eol', '2013.1.rc1'],
            '2013.2': ['2013.2', '2013.2.4', 'havana-eol', '2014.1', '2014.1.5',
                       'icehouse-eol', '2014.1.dev12.gabcdef0'],
            '2014.2': ['2014.2', '2014.2.4', 'juno-eol', '2015.1.0', '2015.1.4',
                       'kilo-eol', '12.0.0', '12.0.6', 'liberty-eol',
                       '12.0.0.0rc1'],
            '14.0.0': ['13.0.0', '13.1.4', 'mitaka-eol', '14.0.0', '14.1.0',
                       'newton-eol', '15.0.0', 'ocata-eol', '16.1.8',
                       'pike-eol', '17.0.13', 'queens-eol', '18.3.0',
                       'rocky-eol', '19.3.2', 'stein-eol', '20.0.0',
                       '20.6.1', 'train-eol'],
        }
        self.assertEqual(sorted(expected), sorted(RELEASES))
        for release, versions in expected.items():
            for version in versions:
                with self.subTest(version=version):
                    proc = self.run_apply('--which', version)
                    self.assertEqual((proc.returncode, proc.stdout.strip()),
                                     (0, release), proc.stderr)

    def test_undetectable_release_is_refused_unless_given(self):
        root = self.make_tree('14.0.0', version_file=('README.rst', 'nova\n'))
        proc = self.run_apply(root, '--check')
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertIn('--release', proc.stderr)
        proc = self.run_apply(root, '--check', '--release', '14.0.0')
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_not_a_nova_tree(self):
        proc = self.run_apply(self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertIn('not a nova tree', proc.stderr)
        proc = self.run_apply(os.path.join(self.tmp, 'missing'))
        self.assertEqual(proc.returncode, 2)
        proc = self.run_apply()
        self.assertEqual(proc.returncode, 2)

    def test_release_detection(self):
        cases = [
            ('2011.2', ('nova/version.py', "NOVA_VERSION = ['2011', '2']\n"), '2011.2'),
            ('2012.2', ('nova/version.py', "NOVA_VERSION = ['2012', '1', None]\n"), '2012.2'),
            ('2012.2', ('nova/version.py', "NOVA_VERSION = ['2012', '2', '4']\n"), '2012.2'),
            ('14.0.0', ('PKG-INFO', 'Name: nova\nVersion: 13.1.4\n'), '14.0.0'),
            ('14.0.0', ('nova.egg-info/PKG-INFO', 'Name: nova\nVersion: 14.0.11.dev4\n'), '14.0.0'),
            ('14.0.0', ('nova-14.1.0.egg-info/PKG-INFO', 'Name: nova\nVersion: 14.1.0\n'), '14.0.0'),
            ('14.0.0', ('nova-15.0.0.dist-info/METADATA', 'Name: nova\nVersion: 15.0.0\n'), '14.0.0'),
            ('2011.3', ('nova/version.py', "NOVA_VERSION = ['2011', '3']\n"), '2011.3'),
            ('2013.1', ('nova-2013.1.4-py2.7.egg-info', 'Name: nova\nVersion: 2013.1.4\n'), '2013.1'),
            ('2013.2', ('nova-2013.2.egg-info/PKG-INFO', 'Name: nova\nVersion: 2013.2\n'), '2013.2'),
            ('2013.2', ('PKG-INFO', 'Name: nova\nVersion: 2014.1.3\n'), '2013.2'),
            ('2014.2', ('nova-2014.2.4.egg-info/PKG-INFO', 'Name: nova\nVersion: 2014.2.4\n'), '2014.2'),
            ('2014.2', ('nova-2015.1.2.dist-info/METADATA', 'Name: nova\nVersion: 2015.1.2\n'), '2014.2'),
            ('2014.2', ('PKG-INFO', 'Name: nova\nVersion: 12.0.3\n'), '2014.2'),
        ]
        for i, (release, (path, content), expected) in enumerate(cases):
            with self.subTest(path=path, content=content):
                tree = self.make_tree(release, name='detect-%d' % i,
                                      version_file=(path, content))
                proc = self.run_apply(tree, '--check')
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn('-> %s/%s' % (expected, PATCH_NAME), proc.stdout)

    def test_release_from_git_tag(self):
        requirement(self, None if shutil.which('git') else 'needs git')
        root = self.make_tree('14.0.0', version_file=('README.rst', 'nova\n'))
        git = ['git', '-C', root, '-c', 'user.name=t', '-c', 'user.email=t@t',
               '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false']
        subprocess.run(git + ['init', '-q'], check=True)
        subprocess.run(git + ['add', '-A'], check=True)
        subprocess.run(git + ['commit', '-qm', 'x'], check=True)
        subprocess.run(git + ['tag', '14.0.3'], check=True)
        with open(os.path.join(root, 'README.rst'), 'a') as f:
            f.write('more\n')
        subprocess.run(git + ['commit', '-qam', 'y'], check=True)
        proc = self.run_apply(root, '--check')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('nova 14.0.3 (from git-describe)', proc.stdout)


# The releases the patch set is checked on (issue 11), and the patch
# apply.sh must pick for each.
PRISTINE = [
    ('2011.2', '2011.2'), ('2011.3', '2011.3'), ('2012.1', '2012.2'),
    ('2012.2', '2012.2'), ('2013.1', '2013.1'), ('2013.2', '2013.2'),
    ('2014.1', '2013.2'), ('2014.2', '2014.2'), ('2015.1.0', '2014.2'),
    ('12.0.0', '2014.2'), ('13.0.0', '14.0.0'), ('14.0.0', '14.0.0'),
    ('15.0.0', '14.0.0'), ('16.0.0', '14.0.0'), ('17.0.0', '14.0.0'),
    ('18.0.0', '14.0.0'), ('19.0.0', '14.0.0'), ('20.0.0', '14.0.0'),
]


class TestPristineNovaTrees(unittest.TestCase):
    """Needs real nova sources, which are not in this repository (nova's
    files are never copied here): opt-in with NOVA_TREES_DIR/NOVA_GIT_DIR."""

    def trees(self):
        base = os.environ.get('NOVA_TREES_DIR')
        if not base:
            not_run(self, 'NOVA_TREES_DIR is not set: no pristine nova trees '
                    '(see patches/README.md, "Repeating the check")')
        found = [(t, p) for t, p in PRISTINE
                 if os.path.isdir(os.path.join(base, t))]
        if not found:
            not_run(self, 'NOVA_TREES_DIR=%s holds none of %s'
                    % (base, ' '.join(t for t, _ in PRISTINE)))
        return base, found

    def test_apply_check_on_pristine_trees(self):
        base, found = self.trees()
        for tag, release in found:
            tree = os.path.join(base, tag)
            with self.subTest(tag=tag):
                proc = subprocess.run(['bash', APPLY, tree, '--check'],
                                      capture_output=True, text=True, timeout=120)
                if proc.returncode == 3 and 'cannot tell' in proc.stderr:
                    # A plain export of a pbr-era tag carries no version.
                    proc = subprocess.run(['bash', APPLY, tree, '--check',
                                           '--release', tag],
                                          capture_output=True, text=True,
                                          timeout=120)
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                self.assertIn('-> %s/%s' % (release, PATCH_NAME), proc.stdout)

    def test_real_apply_hooks_both_managers(self):
        # On a copy of nova/network (the tree itself stays pristine).
        base, found = self.trees()
        for tag, release in found:
            with self.subTest(tag=tag):
                root = tempfile.mkdtemp(prefix='garp-real-')
                try:
                    shutil.copytree(os.path.join(base, tag, 'nova', 'network'),
                                    os.path.join(root, 'nova', 'network'))
                    run = lambda *a: subprocess.run(
                        ['bash', APPLY, root, '--release', tag] + list(a),
                        capture_output=True, text=True, timeout=120)
                    proc = run()
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    manager = read(os.path.join(root, 'nova/network/manager.py'))
                    self.assertEqual(init_host_tails(manager),
                                     {'FlatDHCPManager': CALL,
                                      'VlanManager': CALL})
                    self.assertEqual(read(os.path.join(root, TARGET)),
                                     read(HOOK_PATH))
                    proc = run('--check')
                    self.assertEqual(proc.returncode, 4, proc.stderr)
                    self.assertIn('already applied', proc.stderr)
                    proc = run('--revert')
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertFalse(os.path.exists(os.path.join(root, TARGET)))
                finally:
                    shutil.rmtree(root, ignore_errors=True)

    def test_git_apply_check_at_each_tag(self):
        git_dir = os.environ.get('NOVA_GIT_DIR')
        if not git_dir:
            not_run(self, 'NOVA_GIT_DIR is not set: no openstack/nova clone to '
                    'check the patches against')
        tags = [t for t, _ in PRISTINE] + ['2011.3.1', 'diablo-eol',
                                           'grizzly-eol', 'kilo-eol',
                                           'liberty-eol', 'train-eol',
                                           '21.0.0']
        proc = subprocess.run(['bash', VERIFY, git_dir] + tags,
                              capture_output=True, text=True, timeout=900)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for tag, release in PRISTINE:
            self.assertRegex(proc.stdout, r'(?m)^%s\s+%s\s+ok$'
                             % (re.escape(tag), re.escape(release)))
        self.assertRegex(proc.stdout, r'(?m)^21\.0\.0\s+\(no nova/network/manager.py\)$')
        self.assertIn('all green', proc.stdout)


def init_host_tails(source):
    """{class: last line of its init_host()} for the two hooked managers,
    read from the text (the file may be Python 2 only)."""
    tails = {}
    cls = None
    lines = source.split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'class (\w+)\(', line)
        if m:
            cls = m.group(1)
        if cls in ('FlatDHCPManager', 'VlanManager') and \
                line == '    def init_host(self):':
            j = i + 1
            last = None
            while j < len(lines) and (not lines[j].strip() or
                                      lines[j].startswith('        ')):
                if lines[j].strip():
                    last = lines[j].strip()
                j += 1
            tails[cls] = last
    return tails


if __name__ == '__main__':
    unittest.main()
