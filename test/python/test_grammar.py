"""patches/nova_garp_hook.py must stay valid Python 2.6/2.7 (nova Cactus..Kilo
run on Python 2) as well as Python 3."""

import ast
import os
import shutil
import subprocess
import sys
import unittest
import warnings

from garp_support import HOOK_PATH, REPO, UnixServer, find_python2, requirement

with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # lib2to3 is deprecated since 3.9
    try:
        from lib2to3 import pygram, pytree
        from lib2to3.pgen2 import driver, parse
    except ImportError:  # removed in Python 3.13
        pygram = None


def source():
    with open(HOOK_PATH) as f:
        return f.read()


class TestPython2Grammar(unittest.TestCase):
    def test_parses_with_the_python2_grammar(self):
        if pygram is None:
            requirement(self, 'lib2to3 is not in this Python (3.13+): run the suite with 3.12 or older')
        # python_grammar has the print statement and exec statement, i.e. it
        # is Python 2's grammar (plus a few 3-isms checked below by ast).
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            d = driver.Driver(pygram.python_grammar, convert=pytree.convert)
            try:
                d.parse_string(source(), debug=False)
            except parse.ParseError as exc:
                self.fail('not Python 2 syntax: %s' % (exc,))

    def test_the_grammar_check_can_fail(self):
        if pygram is None:
            requirement(self, 'lib2to3 is not in this Python (3.13+): run the suite with 3.12 or older')
        # Guard against a check that accepts anything.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            d = driver.Driver(pygram.python_grammar, convert=pytree.convert)
            with self.assertRaises(parse.ParseError):
                d.parse_string('x = 1 if\n')
            # Valid Python 3, but not with Python 2's print statement.
            with self.assertRaises(parse.ParseError):
                d.parse_string('print("x", end="")\n')

    def test_no_python3_or_27_only_constructs(self):
        # lib2to3's grammar also accepts some Python 3 syntax; rule those
        # out explicitly, plus what 2.6 lacks (set literals, dict/set
        # comprehensions, multi-item with, '{}'.format auto-numbering).
        tree = ast.parse(source())
        problems = []
        # f(a, *args) is Python 2 too; f(*a, b) and f(*a, *b) are not.
        fine_starred = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                stars = [a for a in node.args if isinstance(a, ast.Starred)]
                if stars == [node.args[-1]] and not any(
                        k.arg is None for k in node.keywords):
                    fine_starred.add(id(node.args[-1]))
        for node in ast.walk(tree):
            if id(node) in fine_starred:
                continue
            line = getattr(node, 'lineno', '?')
            bad = {
                ast.JoinedStr: 'f-string',
                ast.Nonlocal: 'nonlocal',
                ast.YieldFrom: 'yield from',
                ast.AnnAssign: 'variable annotation',
                ast.AsyncFunctionDef: 'async def',
                ast.Await: 'await',
                ast.NamedExpr: 'walrus',
                ast.Starred: 'starred expression',
                ast.Set: 'set literal (2.7+)',
                ast.SetComp: 'set comprehension (2.7+)',
                ast.DictComp: 'dict comprehension (2.7+)',
            }
            for kind, what in bad.items():
                if isinstance(node, kind):
                    problems.append('%s: %s' % (line, what))
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                args = node.args
                if args.kwonlyargs or args.posonlyargs:
                    problems.append('%s: keyword/positional-only args' % line)
                for a in args.args + [args.vararg, args.kwarg]:
                    if a is not None and a.annotation is not None:
                        problems.append('%s: annotation' % line)
                if getattr(node, 'returns', None) is not None:
                    problems.append('%s: return annotation' % line)
            if isinstance(node, ast.With) and len(node.items) > 1:
                problems.append('%s: with A, B (2.7+)' % line)
            if isinstance(node, ast.Raise) and node.cause is not None:
                problems.append('%s: raise ... from' % line)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if '{}' in node.value or '{:' in node.value:
                    problems.append('%s: str.format auto-numbering (2.7+)' % line)
        self.assertEqual(problems, [])

    def test_only_standard_library_imports(self):
        allowed = {'json', 'logging', 'os', 'socket', 'time', 'nova'}
        tree = ast.parse(source())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.assertIn(alias.name.split('.')[0], allowed)
            elif isinstance(node, ast.ImportFrom):
                self.fail('from-import in the hook: %s' % node.module)


class TestUnderPython2(unittest.TestCase):
    def test_hook_runs_under_python2(self):
        exe = find_python2()
        if exe is None:
            requirement(self, 'no Python 2 interpreter (set PYTHON2=/path/to/python2.7, or '
                        'install one on PATH or under ~/.pyenv/versions/2.7*)')
        code = (
            'import sys, logging\n'
            'sys.path.insert(0, sys.argv[1])\n'
            'logging.basicConfig()\n'
            'import nova_garp_hook as h\n'
            'class VlanManager(object):\n'
            '    host = u"py2-host"\n'
            'ok = h.notify_started(VlanManager(), socket_path=sys.argv[2])\n'
            'bad = h.notify_started(VlanManager(), socket_path=sys.argv[2] + ".x")\n'
            'print("%s %s %s" % (ok, bad, h.register_opts()))\n')
        with UnixServer() as server:
            proc = subprocess.run(
                [exe, '-c', code, os.path.dirname(HOOK_PATH), server.path],
                capture_output=True, timeout=30, cwd=REPO)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), b'True False none')
        self.assertIn(b'not notified', proc.stderr)
        self.assertEqual(len(server.requests), 1)
        self.assertIn(b'"host":"py2-host"', server.requests[0])


if __name__ == '__main__':
    unittest.main()
