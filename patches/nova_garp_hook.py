# vim: tabstop=4 shiftwidth=4 softtabstop=4

#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""nova-garp hook: tell the nova-garp sidecar that nova-network has started.

Installed by the nova-garp patch set as nova/network/garp_hook.py and called
at the end of init_host() of VlanManager and FlatDHCPManager, when every
gateway and floating address is bound and RPC is not yet consumed.

It sends one request over the sidecar's unix control socket:

    POST /v1/events HTTP/1.1
    Content-Type: application/json

    {"event": "nova-network-started", "host": ..., "manager": ..., "pid": ...}

and waits at most garp_sidecar_timeout seconds in total (connect, send and
the status line together). Whatever happens (no socket, no listener, no
answer, an error answer) it logs one warning and returns: nova-network must
start whether or not the sidecar runs.

One file for every nova release: it must stay valid Python 2.6, 2.7 and 3
and use only the standard library. The canonical copy lives in the
nova-garp repository as patches/nova_garp_hook.py.
"""

import json
import logging as _std_logging
import os
import socket
import time

DEFAULT_SOCKET = '/run/nova-garp/control.sock'
DEFAULT_TIMEOUT = 0.5
EVENT_PATH = '/v1/events'
EVENT_STARTED = 'nova-network-started'
LOGGER_NAME = 'nova.network.garp_hook'

_OPT_SOCKET = 'garp_sidecar_socket'
_OPT_TIMEOUT = 'garp_sidecar_timeout'
_HELP_SOCKET = 'Unix socket of the nova-garp sidecar control API'
_HELP_TIMEOUT = ('Seconds nova-network waits at most for the nova-garp '
                 'sidecar to accept the start event')

_MAX_RESPONSE = 8192

if hasattr(time, 'monotonic'):
    _now = time.monotonic
else:
    _now = time.time

# What register_opts() found: (kind, conf) with kind one of 'gflags',
# 'cfg' or 'none'.
_backend = None
_log = None


class _HookError(Exception):
    pass


def _flag_defined(flags_obj, name):
    try:
        return name in flags_obj
    except Exception:
        return False


def _register_gflags(nova_flags):
    flags_obj = nova_flags.FLAGS
    if not _flag_defined(flags_obj, _OPT_SOCKET):
        try:
            nova_flags.DEFINE_string(_OPT_SOCKET, DEFAULT_SOCKET,
                                     _HELP_SOCKET)
        except Exception:
            pass
    if not _flag_defined(flags_obj, _OPT_TIMEOUT):
        try:
            nova_flags.DEFINE_float(_OPT_TIMEOUT, DEFAULT_TIMEOUT,
                                    _HELP_TIMEOUT)
        except Exception:
            pass
    return ('gflags', flags_obj)


def _register_cfg(cfg, conf):
    opts = [cfg.StrOpt(_OPT_SOCKET, default=DEFAULT_SOCKET,
                       help=_HELP_SOCKET),
            cfg.FloatOpt(_OPT_TIMEOUT, default=DEFAULT_TIMEOUT,
                         help=_HELP_TIMEOUT)]
    for opt in opts:
        try:
            # Returns False if the same option is already registered.
            conf.register_opt(opt)
        except Exception:
            # DuplicateOptError: registered differently by someone else;
            # whatever is registered is read as it is.
            pass
    return ('cfg', conf)


def _import(name):
    module = __import__(name)
    for part in name.split('.')[1:]:
        module = getattr(module, part)
    return module


def _find_cfg_module():
    for name in ('oslo_config.cfg', 'oslo.config.cfg',
                 'nova.openstack.common.cfg'):
        try:
            return _import(name)
        except Exception:
            pass
    return None


def _find_backend():
    try:
        import nova
    except Exception:
        # Not running inside nova (for example the hook's own tests).
        return ('none', None)
    # Cactus, Diablo: gflags; Essex, Folsom: cfg behind nova.flags.FLAGS.
    try:
        nova_flags = _import('nova.flags')
    except Exception:
        nova_flags = None
    if nova_flags is not None:
        if hasattr(nova_flags, 'DEFINE_string'):
            return _register_gflags(nova_flags)
        conf = getattr(nova_flags, 'FLAGS', None)
        cfg = getattr(nova_flags, 'cfg', None) or _find_cfg_module()
        if conf is not None and cfg is not None:
            return _register_cfg(cfg, conf)
    # Mitaka and later (Newton: nova.conf.CONF is oslo_config's cfg.CONF).
    try:
        conf = _import('nova.conf').CONF
    except Exception:
        conf = None
    cfg = _find_cfg_module()
    if cfg is None:
        return ('none', None)
    if conf is None:
        # Grizzly .. Liberty: oslo.config / oslo_config global CONF.
        conf = cfg.CONF
    return _register_cfg(cfg, conf)


def register_opts():
    """Register garp_sidecar_socket and garp_sidecar_timeout.

    Uses nova's option machinery of the running release and does nothing
    (but remember the defaults) when nova is not importable. Safe to call
    more than once. Returns 'gflags', 'cfg' or 'none'.
    """
    global _backend
    try:
        _backend = _find_backend()
    except Exception:
        _backend = ('none', None)
    return _backend[0]


def _option(name, default):
    if _backend is None:
        register_opts()
    conf = _backend[1]
    if conf is None:
        return default
    try:
        value = getattr(conf, name)
    except Exception:
        return default
    if value is None:
        return default
    return value


def get_socket_path():
    value = _option(_OPT_SOCKET, DEFAULT_SOCKET)
    if not value:
        return DEFAULT_SOCKET
    return str(value)


def _valid_timeout(value):
    try:
        value = float(value)
    except Exception:
        return DEFAULT_TIMEOUT
    if not 0 < value < 3600:
        # Also catches NaN and infinity.
        return DEFAULT_TIMEOUT
    return value


def get_timeout():
    return _valid_timeout(_option(_OPT_TIMEOUT, DEFAULT_TIMEOUT))


def _get_logger():
    global _log
    if _log is not None:
        return _log
    for name in ('oslo_log.log', 'nova.openstack.common.log', 'nova.log'):
        try:
            _log = _import(name).getLogger(LOGGER_NAME)
            return _log
        except Exception:
            pass
    _log = _std_logging.getLogger(LOGGER_NAME)
    return _log


def _warn(msg, *args):
    try:
        _get_logger().warning(msg, *args)
    except Exception:
        pass


def _to_bytes(text):
    if isinstance(text, bytes):
        return text
    return text.encode('utf-8')


def build_request(payload):
    """The raw HTTP/1.1 request (bytes) carrying payload as JSON."""
    body = _to_bytes(json.dumps(payload, sort_keys=True,
                                separators=(',', ':')))
    head = ('POST %s HTTP/1.1\r\n'
            'Host: localhost\r\n'
            'User-Agent: nova-garp-hook/1\r\n'
            'Content-Type: application/json\r\n'
            'Accept: application/json\r\n'
            'Content-Length: %d\r\n'
            'Connection: close\r\n'
            '\r\n') % (EVENT_PATH, len(body))
    return _to_bytes(head) + body


def _remaining(deadline):
    left = deadline - _now()
    if left <= 0:
        raise socket.timeout('deadline passed')
    return left


def _parse_status(line):
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(_to_bytes('HTTP/')):
        raise _HookError('not an HTTP answer: %r' % (line[:80],))
    try:
        return int(parts[1])
    except ValueError:
        raise _HookError('not an HTTP answer: %r' % (line[:80],))


def _error_text(data):
    # data: the whole response read so far; returns the sidecar's
    # {"error": "..."} text, or a short excerpt of the body, or ''.
    sep = data.find(_to_bytes('\r\n\r\n'))
    if sep < 0:
        return ''
    body = data[sep + 4:].strip()
    if not body:
        return ''
    try:
        decoded = json.loads(body.decode('utf-8'))
        if isinstance(decoded, dict) and 'error' in decoded:
            return '%s' % (decoded['error'],)
    except Exception:
        pass
    return repr(body[:200])


def _body_complete(data):
    sep = data.find(_to_bytes('\r\n\r\n'))
    if sep < 0:
        return False
    length = None
    for line in data[:sep].split(_to_bytes('\r\n'))[1:]:
        name, _, value = line.partition(_to_bytes(':'))
        if name.strip().lower() == _to_bytes('content-length'):
            try:
                length = int(value.strip())
            except ValueError:
                return True
    if length is None:
        return False
    return len(data) - (sep + 4) >= length


def _exchange(path, request, timeout):
    """Send request, return (status, data). Raises on any failure.

    Every blocking step gets only what is left of one total deadline.
    """
    deadline = _now() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(_remaining(deadline))
        sock.connect(path)
        sent = 0
        while sent < len(request):
            sock.settimeout(_remaining(deadline))
            n = sock.send(request[sent:])
            if not n:
                raise _HookError('connection closed while sending')
            sent += n
        data = _to_bytes('')
        newline = _to_bytes('\r\n')
        while newline not in data:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(1024)
            if not chunk:
                raise _HookError('connection closed before an answer')
            data += chunk
            if len(data) > _MAX_RESPONSE:
                raise _HookError('answer too long')
        status = _parse_status(data[:data.find(newline)])
        if not 200 <= status < 300:
            # Best effort: pick up the {"error": ...} body for the log,
            # within what is left of the same deadline.
            try:
                while (len(data) < _MAX_RESPONSE and
                       not _body_complete(data)):
                    sock.settimeout(_remaining(deadline))
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    data += chunk
            except Exception:
                pass
        return status, data
    finally:
        try:
            sock.close()
        except Exception:
            pass


def _describe(exc):
    if isinstance(exc, socket.timeout):
        return 'no answer within the timeout'
    text = '%s' % (exc,)
    if not text:
        text = exc.__class__.__name__
    return text


def send_event(payload, socket_path=None, timeout=None):
    """POST payload to the sidecar. Returns True on a 2xx answer.

    Never raises; a failure is logged once at warning level.
    """
    path = socket_path
    limit = timeout
    try:
        if path is None:
            path = get_socket_path()
        if limit is None:
            limit = get_timeout()
        else:
            limit = _valid_timeout(limit)
        status, data = _exchange(path, build_request(payload), limit)
        if 200 <= status < 300:
            return True
        detail = _error_text(data)
        if detail:
            _warn('nova-garp sidecar at %s refused the %s event: '
                  'HTTP %s: %s', path, payload.get('event'), status,
                  detail)
        else:
            _warn('nova-garp sidecar at %s refused the %s event: '
                  'HTTP %s', path, payload.get('event'), status)
    except Exception as exc:
        try:
            _warn('nova-garp sidecar at %s not notified (%s); nova-network '
                  'goes on without it', path, _describe(exc))
        except Exception:
            pass
    return False


def _manager_host(manager):
    try:
        host = getattr(manager, 'host', None)
    except Exception:
        host = None
    if host:
        return host
    host = _option('host', None)
    if host:
        return host
    try:
        return socket.gethostname()
    except Exception:
        return None


def notify_started(manager, socket_path=None, timeout=None):
    """Tell the nova-garp sidecar that manager finished init_host().

    manager is the nova-network manager instance (its class name and host
    are sent). Returns True if the sidecar accepted the event, else False.
    Never raises and never waits longer than the timeout.
    """
    try:
        payload = {'event': EVENT_STARTED,
                   'host': _manager_host(manager),
                   'manager': manager.__class__.__name__,
                   'pid': os.getpid()}
    except Exception as exc:
        _warn('nova-garp sidecar not notified: cannot describe the '
              'manager (%s)', _describe(exc))
        return False
    return send_event(payload, socket_path=socket_path, timeout=timeout)


register_opts()
