"""Option registration of the hook: without nova, and with stand-ins for the
option machinery of each nova generation (gflags in Cactus/Diablo, cfg behind
nova.flags in Essex/Folsom, oslo.config's global CONF in Grizzly..Liberty,
nova.conf.CONF from Mitaka on). The stand-ins copy the behaviour that
matters: gflags refuses a second DEFINE of a name, cfg's register_opt()
returns False for an identical option and raises DuplicateOptError for a
different one. Runs on Python 2.7 and 3."""

import types
import unittest

from garp_support import UnixServer, VlanManager, load_hook, patched_modules


# ---- stand-in for python-gflags behind nova.flags (Cactus, Diablo)

class DuplicateFlagError(Exception):
    pass


class FakeFlagValues(object):
    def __init__(self):
        self.__dict__['_flags'] = {}

    def __contains__(self, name):
        return name in self._flags

    def __getattr__(self, name):
        try:
            return self._flags[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self._flags[name] = value


def make_gflags_nova(flags_values):
    nova = types.ModuleType('nova')
    flags = types.ModuleType('nova.flags')
    flags.FLAGS = flags_values
    flags.defined = []

    def define(name, default, help):
        if name in flags_values:
            raise DuplicateFlagError(name)
        flags.defined.append(name)
        setattr(flags_values, name, default)

    flags.DEFINE_string = define
    flags.DEFINE_float = define
    flags.DEFINE_integer = define
    nova.flags = flags
    return {'nova': nova, 'nova.flags': flags}


# ---- stand-in for cfg (nova.openstack.common.cfg, oslo.config, oslo_config)

class DuplicateOptError(Exception):
    pass


class Opt(object):
    def __init__(self, name, default=None, help=None):
        self.name = name
        self.default = default
        self.help = help

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __ne__(self, other):
        return not self == other


class StrOpt(Opt):
    pass


class FloatOpt(Opt):
    pass


class FakeConf(object):
    def __init__(self, **overrides):
        self._opts = {}
        self._overrides = overrides

    def register_opt(self, opt, group=None):
        old = self._opts.get(opt.name)
        if old is not None:
            if old != opt:
                raise DuplicateOptError(opt.name)
            return False
        self._opts[opt.name] = opt
        return True

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        if name not in self._opts:
            raise AttributeError('no such option %s' % name)
        return self._overrides.get(name, self._opts[name].default)


def make_cfg_module(name, conf):
    cfg = types.ModuleType(name)
    cfg.StrOpt = StrOpt
    cfg.FloatOpt = FloatOpt
    cfg.DuplicateOptError = DuplicateOptError
    cfg.CONF = conf
    return cfg


def make_folsom_nova(conf):
    nova = types.ModuleType('nova')
    flags = types.ModuleType('nova.flags')
    flags.FLAGS = conf
    flags.cfg = make_cfg_module('nova.openstack.common.cfg', conf)
    nova.flags = flags
    return {'nova': nova, 'nova.flags': flags}


def make_grizzly_nova(conf):
    nova = types.ModuleType('nova')
    oslo = types.ModuleType('oslo')
    oslo.__path__ = []
    config = types.ModuleType('oslo.config')
    config.__path__ = []
    config.cfg = make_cfg_module('oslo.config.cfg', conf)
    oslo.config = config
    return {'nova': nova, 'oslo': oslo, 'oslo.config': config,
            'oslo.config.cfg': config.cfg,
            # Make sure a real oslo_config on this machine is not found.
            'oslo_config': None, 'oslo_config.cfg': None}


def make_newton_nova(conf):
    nova = types.ModuleType('nova')
    nova.__path__ = []
    nova_conf = types.ModuleType('nova.conf')
    nova_conf.CONF = conf
    nova.conf = nova_conf
    oslo_config = types.ModuleType('oslo_config')
    oslo_config.__path__ = []
    # A different global CONF: the hook must use nova.conf.CONF.
    oslo_config.cfg = make_cfg_module('oslo_config.cfg', FakeConf())
    oslo_config_cfg = oslo_config.cfg
    return {'nova': nova, 'nova.conf': nova_conf, 'nova.flags': None,
            'oslo_config': oslo_config, 'oslo_config.cfg': oslo_config_cfg}


NO_NOVA = {'nova': None}


class TestWithoutNova(unittest.TestCase):
    def test_registration_works_without_nova(self):
        with patched_modules(NO_NOVA):
            hook = load_hook()
            self.assertEqual(hook.register_opts(), 'none')
            self.assertEqual(hook.register_opts(), 'none')
        self.assertEqual(hook.get_socket_path(), '/run/nova-garp/control.sock')
        self.assertEqual(hook.get_timeout(), 0.5)

    def test_defaults(self):
        hook = load_hook()
        self.assertEqual(hook.DEFAULT_SOCKET, '/run/nova-garp/control.sock')
        self.assertEqual(hook.DEFAULT_TIMEOUT, 0.5)


class TestGflags(unittest.TestCase):
    def test_defines_both_flags_once(self):
        values = FakeFlagValues()
        modules = make_gflags_nova(values)
        with patched_modules(modules):
            hook = load_hook()
            self.assertEqual(hook._backend[0], 'gflags')
            # Loaded twice (e.g. reload) and registered again: no error.
            self.assertEqual(load_hook().register_opts(), 'gflags')
            self.assertEqual(hook.register_opts(), 'gflags')
        self.assertEqual(sorted(modules['nova.flags'].defined),
                         ['garp_sidecar_socket', 'garp_sidecar_timeout'])
        self.assertEqual(values.garp_sidecar_socket,
                         '/run/nova-garp/control.sock')
        self.assertEqual(values.garp_sidecar_timeout, 0.5)

    def test_flag_values_are_used(self):
        values = FakeFlagValues()
        with patched_modules(make_gflags_nova(values)):
            hook = load_hook()
        values.garp_sidecar_timeout = 0.2
        with UnixServer() as server:
            values.garp_sidecar_socket = server.path
            self.assertEqual(hook.get_timeout(), 0.2)
            self.assertIs(hook.notify_started(VlanManager()), True)
        self.assertEqual(len(server.requests), 1)

    def test_host_flag_when_manager_has_no_host(self):
        values = FakeFlagValues()
        values.host = 'flag-host'
        with patched_modules(make_gflags_nova(values)):
            hook = load_hook()
        self.assertEqual(hook._manager_host(object()), 'flag-host')


class TestCfg(unittest.TestCase):
    def check_backend(self, modules, conf):
        with patched_modules(modules):
            hook = load_hook()
            self.assertEqual(hook._backend, ('cfg', conf))
            self.assertEqual(load_hook().register_opts(), 'cfg')
            self.assertEqual(hook.register_opts(), 'cfg')
        self.assertEqual(sorted(conf._opts),
                         ['garp_sidecar_socket', 'garp_sidecar_timeout'])
        self.assertIsInstance(conf._opts['garp_sidecar_timeout'], FloatOpt)
        self.assertEqual(hook.get_socket_path(), '/run/nova-garp/control.sock')
        self.assertEqual(hook.get_timeout(), 0.5)
        return hook

    def test_folsom_nova_flags(self):
        conf = FakeConf()
        self.check_backend(make_folsom_nova(conf), conf)

    def test_grizzly_oslo_config(self):
        conf = FakeConf()
        self.check_backend(make_grizzly_nova(conf), conf)

    def test_newton_nova_conf(self):
        conf = FakeConf()
        self.check_backend(make_newton_nova(conf), conf)

    def test_already_registered_differently_is_not_an_error(self):
        conf = FakeConf(garp_sidecar_timeout=1.5)
        conf.register_opt(FloatOpt('garp_sidecar_timeout', default=2.0,
                                   help='someone else'))
        with patched_modules(make_newton_nova(conf)):
            hook = load_hook()
        self.assertEqual(hook._backend[0], 'cfg')
        self.assertEqual(hook.get_timeout(), 1.5)
        self.assertIn('garp_sidecar_socket', conf._opts)

    def test_configured_values_are_used(self):
        with UnixServer() as server:
            conf = FakeConf(garp_sidecar_socket=server.path,
                            garp_sidecar_timeout='0.25')
            with patched_modules(make_newton_nova(conf)):
                hook = load_hook()
            self.assertEqual(hook.get_socket_path(), server.path)
            self.assertEqual(hook.get_timeout(), 0.25)
            self.assertIs(hook.notify_started(VlanManager()), True)
        self.assertEqual(len(server.requests), 1)

    def test_broken_config_falls_back_to_defaults(self):
        conf = FakeConf(garp_sidecar_socket='', garp_sidecar_timeout=-3)
        with patched_modules(make_folsom_nova(conf)):
            hook = load_hook()
        self.assertEqual(hook.get_socket_path(), '/run/nova-garp/control.sock')
        self.assertEqual(hook.get_timeout(), 0.5)

    def test_registration_that_explodes_is_swallowed(self):
        class Angry(FakeConf):
            def register_opt(self, opt, group=None):
                raise RuntimeError('config frozen')
        conf = Angry()
        with patched_modules(make_folsom_nova(conf)):
            hook = load_hook()
        self.assertEqual(hook.get_timeout(), 0.5)


if __name__ == '__main__':
    unittest.main()
