"""patches/nova_garp_hook.py against real unix-socket servers (Python 2.7 and 3)."""

import json
import logging
import os
import socket
import time
import unittest

from garp_support import (FlatDHCPManager, LOGGER, UnixServer, VlanManager,
                          capture_logs, load_hook, now, parse_request,
                          short_tempdir, sub_test)

TIMEOUT = 0.3
# Scheduling slack allowed on top of the hook's deadline.
SLACK = 0.25


class HookTestCase(unittest.TestCase):
    def setUp(self):
        self.hook = load_hook()

    def notify(self, manager, path, timeout=TIMEOUT):
        start = now()
        result = self.hook.notify_started(manager, socket_path=path,
                                          timeout=timeout)
        return result, now() - start

    def assert_one_warning(self, logs, *needles):
        self.assertEqual(len(logs.records), 1, logs.output)
        record = logs.records[0]
        self.assertEqual(record.levelno, logging.WARNING)
        message = record.getMessage()
        for needle in needles:
            self.assertIn(needle, message)
        return message


class TestRequest(HookTestCase):
    def test_sends_the_event_and_accepts_202(self):
        with UnixServer() as server:
            records = []
            handler = logging.Handler(logging.WARNING)
            handler.emit = records.append
            logging.getLogger(LOGGER).addHandler(handler)
            try:
                result, _ = self.notify(VlanManager('node-7'), server.path)
            finally:
                logging.getLogger(LOGGER).removeHandler(handler)
        self.assertIs(result, True)
        self.assertEqual(records, [])
        self.assertEqual(len(server.requests), 1)
        line, headers, body = parse_request(server.requests[0])
        self.assertEqual(line, 'POST /v1/events HTTP/1.1')
        self.assertEqual(headers['content-type'], 'application/json')
        self.assertEqual(int(headers['content-length']), len(body))
        self.assertIn('host', headers)
        self.assertEqual(json.loads(body.decode('utf-8')), {
            'event': 'nova-network-started',
            'host': 'node-7',
            'manager': 'VlanManager',
            'pid': os.getpid(),
        })

    def test_manager_class_name_is_sent(self):
        with UnixServer() as server:
            result, _ = self.notify(FlatDHCPManager(), server.path)
        self.assertIs(result, True)
        body = parse_request(server.requests[0])[2]
        self.assertEqual(json.loads(body.decode('utf-8'))['manager'],
                         'FlatDHCPManager')

    def test_host_falls_back_when_manager_has_none(self):
        class Bare(object):
            pass
        with UnixServer() as server:
            result, _ = self.notify(Bare(), server.path)
        self.assertIs(result, True)
        body = json.loads(parse_request(server.requests[0])[2].decode('utf-8'))
        self.assertEqual(body['host'], socket.gethostname())
        self.assertEqual(body['manager'], 'Bare')

    def test_any_2xx_is_success(self):
        with UnixServer(response=b'HTTP/1.1 200 OK\r\n\r\n') as server:
            result, _ = self.notify(VlanManager(), server.path)
        self.assertIs(result, True)

    def test_build_request_is_complete_http(self):
        raw = self.hook.build_request({'event': 'x'})
        line, headers, body = parse_request(raw)
        self.assertEqual(line, 'POST /v1/events HTTP/1.1')
        self.assertEqual(headers['connection'], 'close')
        self.assertEqual(body, b'{"event":"x"}')


class TestFailuresAreSwallowed(HookTestCase):
    def test_socket_missing(self):
        d = short_tempdir()
        path = os.path.join(d, 'absent.sock')
        try:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), path)
        finally:
            os.rmdir(d)
        self.assertIs(result, False)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, path, 'No such file')

    def test_refused_connection(self):
        # A socket file that nobody listens on (stale file of a dead sidecar).
        d = short_tempdir()
        path = os.path.join(d, 'stale.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        try:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), path)
        finally:
            os.unlink(path)
            os.rmdir(d)
        self.assertIs(result, False)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, path, 'refused')

    def test_server_that_never_answers(self):
        with UnixServer(mode='silent') as server:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), server.path)
            self.assertEqual(len(server.requests), 1)
        self.assertIs(result, False)
        self.assertGreaterEqual(elapsed, TIMEOUT * 0.9)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, server.path, 'timeout')

    def test_server_that_never_accepts(self):
        with UnixServer(mode='backlog') as server:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), server.path)
        self.assertIs(result, False)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, server.path)

    def test_deadline_is_total_not_per_read(self):
        # One byte every 0.1 s: each recv() finishes quickly, but the
        # status line never completes. The hook must still stop at its
        # deadline.
        with UnixServer(mode='drip') as server:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), server.path,
                                              timeout=0.45)
        self.assertIs(result, False)
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 0.45 + SLACK)
        self.assert_one_warning(logs, 'timeout')

    def test_server_answers_500(self):
        body = b'{"error":"snapshot store unavailable"}'
        response = (b'HTTP/1.1 500 Internal Server Error\r\n'
                    b'Content-Type: application/json\r\n'
                    b'Content-Length: ' + str(len(body)).encode() +
                    b'\r\n\r\n' + body)
        with UnixServer(response=response) as server:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), server.path)
        self.assertIs(result, False)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, '500', 'snapshot store unavailable')

    def test_server_answers_400_without_body(self):
        with UnixServer(response=b'HTTP/1.1 400 Bad Request\r\n\r\n') as server:
            with capture_logs(LOGGER) as logs:
                result, _ = self.notify(VlanManager(), server.path)
        self.assertIs(result, False)
        self.assert_one_warning(logs, '400')

    def test_server_closes_without_answer(self):
        with UnixServer(mode='close') as server:
            with capture_logs(LOGGER) as logs:
                result, elapsed = self.notify(VlanManager(), server.path)
        self.assertIs(result, False)
        self.assertLess(elapsed, TIMEOUT + SLACK)
        self.assert_one_warning(logs, server.path)

    def test_garbage_answer(self):
        with UnixServer(response=b'SSH-2.0-OpenSSH\r\n') as server:
            with capture_logs(LOGGER) as logs:
                result, _ = self.notify(VlanManager(), server.path)
        self.assertIs(result, False)
        self.assert_one_warning(logs, 'not an HTTP answer')

    def test_no_exception_escapes(self):
        class Exploding(object):
            @property
            def host(self):
                raise RuntimeError('boom')

        cases = [
            (VlanManager(), '/nonexistent/dir/control.sock', TIMEOUT),
            (VlanManager(), '/tmp/' + 'x' * 200, TIMEOUT),      # path too long
            (VlanManager(), 12345, TIMEOUT),                     # not a path
            (VlanManager(), '/tmp/absent-garp.sock', -1),        # bad timeout
            (Exploding(), '/tmp/absent-garp.sock', TIMEOUT),
            (None, '/tmp/absent-garp.sock', TIMEOUT),
        ]
        for manager, path, timeout in cases:
            with sub_test(self, path=path, timeout=timeout):
                start = now()
                with capture_logs(LOGGER) as logs:
                    try:
                        result = self.hook.notify_started(
                            manager, socket_path=path, timeout=timeout)
                    except Exception as exc:  # pragma: no cover
                        self.fail('notify_started raised %r' % (exc,))
                self.assertIs(result, False)
                self.assertLess(now() - start,
                                self.hook.DEFAULT_TIMEOUT + SLACK)
                self.assertEqual(len(logs.records), 1, logs.output)

    def test_invalid_timeouts_fall_back_to_the_default(self):
        for bad in (-1, 0, 'soon', None, float('nan'), float('inf'), 1e9):
            with sub_test(self, timeout=bad):
                self.assertEqual(self.hook._valid_timeout(bad),
                                 self.hook.DEFAULT_TIMEOUT)
        self.assertEqual(self.hook._valid_timeout('0.25'), 0.25)

    def test_exploding_host_attribute_still_notifies(self):
        class Exploding(object):
            @property
            def host(self):
                raise RuntimeError('boom')
        with UnixServer() as server:
            result, _ = self.notify(Exploding(), server.path)
        self.assertIs(result, True)
        body = json.loads(parse_request(server.requests[0])[2].decode('utf-8'))
        self.assertEqual(body['host'], socket.gethostname())

    def test_logging_failure_does_not_escape(self):
        class BrokenLogger(object):
            def warning(self, *args):
                raise RuntimeError('log handler down')
        self.hook._log = BrokenLogger()
        self.assertIs(self.hook.notify_started(
            VlanManager(), socket_path='/tmp/absent-garp.sock',
            timeout=TIMEOUT), False)

    def test_default_socket_and_timeout_are_used(self):
        # Without nova the defaults apply; point the default elsewhere to
        # prove notify_started() reads the option when given no override.
        with UnixServer() as server:
            self.hook.DEFAULT_SOCKET = server.path
            result = self.hook.notify_started(VlanManager())
        self.assertIs(result, True)
        self.assertEqual(len(server.requests), 1)


if __name__ == '__main__':
    unittest.main()
