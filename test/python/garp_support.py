"""Helpers for the hook tests: load the hook module, run unix-socket servers.

test_hook.py and test_options.py, and this module, run on Python 2.7 as well
as Python 3 (nova ran on Python 2 until Ocata): no importlib.util, no mock,
no assertLogs/subTest/time.monotonic in those files, only the shims below.
"""

import contextlib
import glob
import itertools
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PATCHES = os.path.join(REPO, 'patches')
HOOK_PATH = os.path.join(PATCHES, 'nova_garp_hook.py')
# One directory per distinct init_host() context (see patches/README.md).
RELEASES = ('2011.2', '2011.3', '2012.2', '2013.1', '2013.2', '2014.2', '14.0.0')
PATCH_NAME = 'nova-garp-hook.patch'
LOGGER = 'nova.network.garp_hook'

_counter = itertools.count()

now = getattr(time, 'monotonic', time.time)


def load_hook():
    """A fresh copy of patches/nova_garp_hook.py (option detection runs again)."""
    name = 'nova_garp_hook_under_test_%d' % next(_counter)
    module = types.ModuleType(name)
    module.__file__ = HOOK_PATH
    with open(HOOK_PATH) as f:
        code = compile(f.read(), HOOK_PATH, 'exec')
    exec(code, module.__dict__)
    # Python 2 clears a module's globals when the module object dies, which
    # would break `load_hook().register_opts()`: keep every copy alive.
    _loaded.append(module)
    return module


_loaded = []


# ---- what cannot run: the same loud banner as test/helpers/requirements.ts

BAR = '!' * 78


def banner(text):
    sys.stderr.write('\n%s\n%s\n%s\n\n' % (BAR, text, BAR))
    sys.stderr.flush()


def _suite_name(testcase):
    return '%s.%s' % (type(testcase).__name__, testcase._testMethodName)


def requirement(testcase, missing):
    """Outside CI a missing requirement skips the test with a loud banner;
    under CI=true it fails, so a green CI means the test ran."""
    if missing is None:
        return
    suite = _suite_name(testcase)
    if os.environ.get('CI') == 'true':
        testcase.fail('%s must run under CI=true but cannot: %s' % (suite, missing))
    banner('SKIPPED %s: %s' % (suite, missing))
    testcase.skipTest(missing)


def not_run(testcase, why):
    """Opt-in checks against real nova sources, which this repository does
    not hold (CI included): banner, then skip."""
    banner('NOT RUN (opt-in) %s: %s' % (_suite_name(testcase), why))
    testcase.skipTest(why)


# ---- Python 2.7 stand-ins for unittest/mock features of Python 3

class _Records(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class capture_logs(object):
    """with capture_logs(LOGGER) as logs: ... -> logs.records, logs.output
    (assertLogs without its "nothing logged" failure; callers count)."""

    def __init__(self, name, level=logging.WARNING):
        self.logger = logging.getLogger(name)
        self.level = level
        self.handler = _Records()

    def __enter__(self):
        self._old = (self.logger.level, self.logger.propagate)
        self.logger.addHandler(self.handler)
        self.logger.setLevel(self.level)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self._old[0])
        self.logger.propagate = self._old[1]
        return False

    @property
    def records(self):
        return self.handler.records

    @property
    def output(self):
        return ['%s:%s:%s' % (r.levelname, r.name, r.getMessage())
                for r in self.records]


@contextlib.contextmanager
def _nothing():
    yield


def sub_test(testcase, **params):
    """testcase.subTest(**params) where it exists (Python 3.4+)."""
    if hasattr(testcase, 'subTest'):
        return testcase.subTest(**params)
    return _nothing()


@contextlib.contextmanager
def patched_modules(mapping):
    """mock.patch.dict(sys.modules, mapping): a None entry makes that import
    fail, on Python 2 and 3 alike."""
    saved = dict(sys.modules)
    sys.modules.update(mapping)
    try:
        yield
    finally:
        sys.modules.clear()
        sys.modules.update(saved)


def python2_candidates():
    """$PYTHON2, python2.7/python2 on PATH, then pyenv's 2.7 builds."""
    found = [os.environ.get('PYTHON2')]
    for name in ('python2.7', 'python2'):
        for d in os.environ.get('PATH', '').split(os.pathsep):
            found.append(os.path.join(d, name))
    roots = [os.environ.get('PYENV_ROOT'), os.path.expanduser('~/.pyenv'),
             '/root/.pyenv']
    for root in roots:
        if root:
            found.extend(sorted(glob.glob(os.path.join(
                root, 'versions', '2.7*', 'bin', 'python2.7')), reverse=True))
    return [f for f in found if f]


def find_python2():
    """A working Python 2 interpreter, or None."""
    for exe in python2_candidates():
        if not os.access(exe, os.X_OK):
            continue
        try:
            out = subprocess.Popen(
                [exe, '-c', 'import sys; print(sys.version_info[0])'],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE).communicate()[0]
        except OSError:
            continue
        if out.strip() == b'2':
            return exe
    return None


class FakeManager(object):
    def __init__(self, host='net-node-1'):
        self.host = host


class VlanManager(FakeManager):
    pass


class FlatDHCPManager(FakeManager):
    pass


def short_tempdir():
    # AF_UNIX paths are limited to 108 bytes: stay under /tmp.
    return tempfile.mkdtemp(prefix='garp-', dir='/tmp')


class UnixServer(object):
    """A unix-socket server in a thread.

    mode:
      'answer'  read the whole request, then send `response`
      'silent'  accept and read, never answer (hold the connection)
      'backlog' listen but never accept
      'close'   accept and close at once
      'drip'    accept, then send one byte of a status line every 0.1 s
    """

    def __init__(self, mode='answer',
                 response=b'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n'):
        self.mode = mode
        self.response = response
        self.dir = short_tempdir()
        self.path = os.path.join(self.dir, 'control.sock')
        self.requests = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(8)
        self._sock.settimeout(0.05)
        self._conns = []
        self._thread = threading.Thread(target=self._run)
        self._thread.daemon = True

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for c in self._conns:
            try:
                c.close()
            except (OSError, socket.error):
                pass
        self._sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self):
        while not self._stop.is_set():
            if self.mode == 'backlog':
                time.sleep(0.02)
                continue
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except (OSError, socket.error):
                return
            self._conns.append(conn)
            conn.settimeout(2)
            try:
                self._serve(conn)
            except (OSError, socket.error):
                pass

    def _read_request(self, conn):
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n')[1:]:
            name, _, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                break
            body += chunk
        return head + b'\r\n\r\n' + body

    def _serve(self, conn):
        if self.mode == 'close':
            conn.close()
            return
        self.requests.append(self._read_request(conn))
        if self.mode == 'answer':
            conn.sendall(self.response)
            conn.close()
        elif self.mode == 'silent':
            self._stop.wait()
        elif self.mode == 'drip':
            line = b'HTTP/1.1 202 Accepted'
            for i in range(len(line)):
                if self._stop.wait(0.1):
                    break
                conn.send(line[i:i + 1])
            self._stop.wait()


def parse_request(raw):
    """(request line, {lower-case header: value}, body bytes)."""
    head, _, body = raw.partition(b'\r\n\r\n')
    lines = head.decode('ascii').split('\r\n')
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body
