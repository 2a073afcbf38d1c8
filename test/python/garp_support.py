"""Helpers for the hook tests: load the hook module, run unix-socket servers."""

import importlib.util
import itertools
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PATCHES = os.path.join(REPO, 'patches')
HOOK_PATH = os.path.join(PATCHES, 'nova_garp_hook.py')
RELEASES = ('2011.2', '2012.2', '14.0.0')
PATCH_NAME = 'nova-garp-hook.patch'
LOGGER = 'nova.network.garp_hook'

_counter = itertools.count()


def load_hook():
    """A fresh copy of patches/nova_garp_hook.py (option detection runs again)."""
    name = 'nova_garp_hook_under_test_%d' % next(_counter)
    spec = importlib.util.spec_from_file_location(name, HOOK_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        self._thread = threading.Thread(target=self._run, daemon=True)

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
            except OSError:
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
            except OSError:
                return
            self._conns.append(conn)
            conn.settimeout(2)
            try:
                self._serve(conn)
            except OSError:
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
            for byte in b'HTTP/1.1 202 Accepted':
                if self._stop.wait(0.1):
                    break
                conn.send(bytes([byte]))
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
