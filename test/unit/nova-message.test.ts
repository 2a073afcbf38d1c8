import { describe, expect, it } from 'vitest';
import { MessageError, NOVA_RPC_SERIES, parseNovaMessage, type RpcSend } from '../../src/amqp/nova-message.js';

const oslo = (inner: unknown): string => JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });

describe('nova RPC messages on network.<host>', () => {
  it('reads a Cactus cast (plain body, flattened context)', () => {
    const body = JSON.stringify({ method: 'associate_floating_ip', args: { floating_address: '192.0.2.10', fixed_address: '10.0.0.3' }, _context_user: 'u', _context_is_admin: true });
    expect(parseNovaMessage(Buffer.from(body))).toEqual({
      envelope: 'plain',
      event: { type: 'associate', address: '192.0.2.10', interface: null, method: 'associate_floating_ip', fixedAddress: '10.0.0.3', instanceUuid: null, call: false, version: null, route: null },
    });
  });

  it('reads a Folsom host-targeted call with interface', () => {
    const body = JSON.stringify({ method: '_associate_floating_ip', args: { floating_address: '192.0.2.11', fixed_address: '10.0.0.4', interface: 'eth1' }, _msg_id: 'abc' });
    expect(parseNovaMessage(body).event).toMatchObject({ type: 'associate', address: '192.0.2.11', interface: 'eth1' });
  });

  it('unwraps the oslo envelope (Havana on) and reads Newton disassociation', () => {
    const m = parseNovaMessage(oslo({ method: '_disassociate_floating_ip', args: { address: '192.0.2.12', interface: 'eth0', instance_uuid: 'x' }, version: '1.6', _reply_q: 'reply_1' }));
    expect(m).toEqual({
      envelope: 'oslo',
      event: { type: 'disassociate', address: '192.0.2.12', interface: 'eth0', method: '_disassociate_floating_ip', instanceUuid: 'x', call: false, version: '1.6', route: null },
    });
    expect(parseNovaMessage(JSON.stringify({ method: 'disassociate_floating_ip', args: { floating_address: '192.0.2.13' } })).event).toMatchObject({ address: '192.0.2.13' });
  });

  it('recognises network-host changes, reannounce requests and ignores the rest', () => {
    expect(parseNovaMessage(JSON.stringify({ method: 'set_network_host', args: { network_id: 3 } })).event.type).toBe('network-host');
    expect(parseNovaMessage(oslo({ method: 'rpc_setup_network_on_host', args: { network_id: 3, teardown: false } })).event.type).toBe('network-host');
    expect(parseNovaMessage(JSON.stringify({ method: 'nova_garp_reannounce', args: { addresses: ['10.0.0.1'], reason: 'drill' } })).event).toEqual({
      type: 'reannounce',
      addresses: ['10.0.0.1'],
      kinds: null,
      reason: 'drill',
    });
    expect(parseNovaMessage(JSON.stringify({ method: 'lease_fixed_ip', args: { address: '10.0.0.9' } })).event).toEqual({ type: 'ignored', method: 'lease_fixed_ip', call: false, version: null, route: null });
  });

  it('rejects malformed bodies with a reason label', () => {
    const bad: Array<[string, string]> = [
      ['nope', 'not_json'],
      ['[1]', 'not_object'],
      ['{"args":{}}', 'no_method'],
      ['{"method":"associate_floating_ip","args":[]}', 'bad_args'],
      ['{"method":"associate_floating_ip","args":{"floating_address":"10.0.0.300"}}', 'bad_address'],
      ['{"method":"associate_floating_ip","args":{"floating_address":17}}', 'bad_args'],
      ['{"oslo.version":"2.0","oslo.message":5}', 'bad_envelope'],
      ['{"oslo.version":"2.0","oslo.message":"[]"}', 'bad_envelope'],
    ];
    for (const [body, reason] of bad) {
      try {
        parseNovaMessage(body);
        expect.unreachable(body);
      } catch (err) {
        expect(err).toBeInstanceOf(MessageError);
        expect((err as MessageError).reason, body).toBe(reason);
      }
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Every release series, in the format it put on the wire (nova's rpc code at each tag): the
// association, the disassociation and set_network_host, on the topic the release sent them to.

const HOST = 'net-a';
const MSG_ID = '3f1c9a0c8f2b4a8e9d7e6c5b4a392817';

/** Flattened request context as each generation's `context.to_dict()` put it in the body. */
const CONTEXT: Record<string, Record<string, unknown>> = {
  cactus: { _context_user: 'admin', _context_project: 'demo', _context_is_admin: true, _context_read_deleted: false, _context_remote_address: '192.0.2.50', _context_timestamp: '2011-05-02T10:00:00Z', _context_request_id: 'REQ-1' },
  diablo: { _context_user_id: 'admin', _context_project_id: 'demo', _context_is_admin: true, _context_read_deleted: 'no', _context_roles: ['admin'], _context_remote_address: '192.0.2.50', _context_timestamp: '2011-10-02T10:00:00Z', _context_request_id: 'req-1', _context_auth_token: null, _context_strategy: 'noauth' },
  folsom: { _context_user_id: 'u1', _context_project_id: 'p1', _context_is_admin: false, _context_read_deleted: 'no', _context_roles: ['Member'], _context_remote_address: '192.0.2.50', _context_timestamp: '2012-10-02T10:00:00.000000', _context_request_id: 'req-2', _context_auth_token: 'tok', _context_quota_class: null, _context_user_name: 'alice', _context_service_catalog: [], _context_project_name: 'demo', _context_instance_lock_checked: false },
};
CONTEXT.essex = CONTEXT.diablo as Record<string, unknown>;
CONTEXT.grizzly = CONTEXT.folsom as Record<string, unknown>;
CONTEXT.modern = { ...(CONTEXT.folsom as Record<string, unknown>), _context_is_admin_project: true, _context_tenant: 'p1', _context_user: 'u1' };

const NETWORK_DICT = { id: 3, uuid: '5eed0000-0000-4000-8000-000000000003', label: 'vlan103', host: null, multi_host: false, bridge: 'br103', gateway: '10.0.3.1', cidr: '10.0.3.0/24', vlan: 103, deleted: false };
const NETWORK_OBJECT = {
  'nova_object.name': 'Network',
  'nova_object.namespace': 'nova',
  'nova_object.version': '1.2',
  'nova_object.data': { ...NETWORK_DICT, deleted: false, dhcp_server: '10.0.3.1', share_address: false, enable_dhcp: true, mtu: null },
  'nova_object.changes': [],
};

interface Sample {
  name: string;
  routingKey: string;
  body: string;
  expect: Record<string, unknown>;
}

function plain(context: Record<string, unknown>, method: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ method, args, ...context, ...extra });
}

function enveloped(context: Record<string, unknown>, method: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return oslo({ method, args, ...context, _unique_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', ...extra });
}

const hostKey = `network.${HOST}`;
const call = (version?: string, reply = false): Record<string, unknown> => ({ _msg_id: MSG_ID, ...(version === undefined ? {} : { version }), ...(reply ? { _reply_q: 'reply_8e2c1f0d9b7a4c3e' } : {}) });

const SERIES_SAMPLES: Record<string, Sample[]> = {
  cactus: [
    { name: 'associate (cast to the network host)', routingKey: hostKey, body: plain(CONTEXT.cactus!, 'associate_floating_ip', { floating_address: '192.0.2.10', fixed_address: '10.0.0.3' }), expect: { type: 'associate', address: '192.0.2.10', fixedAddress: '10.0.0.3', interface: null, call: false, version: null, route: 'host' } },
    { name: 'disassociate (cast)', routingKey: hostKey, body: plain(CONTEXT.cactus!, 'disassociate_floating_ip', { floating_address: '192.0.2.10' }), expect: { type: 'disassociate', address: '192.0.2.10', call: false, route: 'host' } },
    { name: 'set_network_host (call to the shared topic)', routingKey: 'network', body: plain(CONTEXT.cactus!, 'set_network_host', { network_id: 3 }, call()), expect: { type: 'network-host', networkId: 3, call: true, version: null, route: 'shared' } },
  ],
  diablo: [
    { name: 'associate (cast)', routingKey: hostKey, body: plain(CONTEXT.diablo!, 'associate_floating_ip', { floating_address: '192.0.2.11', fixed_address: '10.0.0.4' }), expect: { type: 'associate', address: '192.0.2.11', fixedAddress: '10.0.0.4', call: false, route: 'host' } },
    { name: 'disassociate (call)', routingKey: hostKey, body: plain(CONTEXT.diablo!, 'disassociate_floating_ip', { floating_address: '192.0.2.11' }, call()), expect: { type: 'disassociate', address: '192.0.2.11', call: true, route: 'host' } },
    { name: 'set_network_host (network_ref dict)', routingKey: 'network', body: plain(CONTEXT.diablo!, 'set_network_host', { network_ref: NETWORK_DICT }, call()), expect: { type: 'network-host', networkId: 3, call: true, route: 'shared' } },
  ],
  essex: [
    { name: 'public associate (call to the shared topic)', routingKey: 'network', body: plain(CONTEXT.essex!, 'associate_floating_ip', { floating_address: '192.0.2.12', fixed_address: '10.0.0.5', affect_auto_assigned: false }, call()), expect: { type: 'associate', method: 'associate_floating_ip', address: '192.0.2.12', interface: null, call: true, route: 'shared' } },
    { name: '_associate (cast to the owner)', routingKey: hostKey, body: plain(CONTEXT.essex!, '_associate_floating_ip', { floating_address: '192.0.2.12', fixed_address: '10.0.0.5', interface: 'eth2' }), expect: { type: 'associate', method: '_associate_floating_ip', interface: 'eth2', call: false, route: 'host' } },
    { name: 'public disassociate (cast to the shared topic)', routingKey: 'network', body: plain(CONTEXT.essex!, 'disassociate_floating_ip', { address: '192.0.2.12', affect_auto_assigned: false }), expect: { type: 'disassociate', address: '192.0.2.12', call: false, route: 'shared' } },
    { name: '_disassociate (cast)', routingKey: hostKey, body: plain(CONTEXT.essex!, '_disassociate_floating_ip', { address: '192.0.2.12', interface: 'eth2' }), expect: { type: 'disassociate', interface: 'eth2', call: false, route: 'host' } },
    { name: 'set_network_host', routingKey: 'network', body: plain(CONTEXT.essex!, 'set_network_host', { network_ref: NETWORK_DICT }, call()), expect: { type: 'network-host', networkId: 3 } },
  ],
  folsom: [
    { name: 'public associate (call to the shared topic)', routingKey: 'network', body: plain(CONTEXT.folsom!, 'associate_floating_ip', { floating_address: '192.0.2.13', fixed_address: '10.0.0.6', affect_auto_assigned: false }, call()), expect: { type: 'associate', address: '192.0.2.13', call: true, route: 'shared' } },
    { name: '_associate (call to the owner)', routingKey: hostKey, body: plain(CONTEXT.folsom!, '_associate_floating_ip', { floating_address: '192.0.2.13', fixed_address: '10.0.0.6', interface: 'eth0' }, call()), expect: { type: 'associate', interface: 'eth0', fixedAddress: '10.0.0.6', call: true, version: null, route: 'host' } },
    { name: 'public disassociate (call)', routingKey: 'network', body: plain(CONTEXT.folsom!, 'disassociate_floating_ip', { address: '192.0.2.13', affect_auto_assigned: false }, call()), expect: { type: 'disassociate', call: true, route: 'shared' } },
    { name: '_disassociate (call)', routingKey: hostKey, body: plain(CONTEXT.folsom!, '_disassociate_floating_ip', { address: '192.0.2.13', interface: 'eth0' }, call()), expect: { type: 'disassociate', address: '192.0.2.13', interface: 'eth0', call: true } },
    { name: 'set_network_host', routingKey: 'network', body: plain(CONTEXT.folsom!, 'set_network_host', { network_ref: NETWORK_DICT }, call()), expect: { type: 'network-host', networkId: 3 } },
  ],
  grizzly: [
    { name: '_associate (call 1.6 from nova-api)', routingKey: hostKey, body: plain(CONTEXT.grizzly!, '_associate_floating_ip', { floating_address: '192.0.2.14', fixed_address: '10.0.0.7', interface: 'eth0', instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000007' }, { ...call('1.6'), _unique_id: 'u1' }), expect: { type: 'associate', address: '192.0.2.14', instanceUuid: 'b1e2c3d4-0000-4000-8000-000000000007', call: true, version: '1.6', route: 'host' } },
    { name: '_disassociate (call 1.6)', routingKey: hostKey, body: plain(CONTEXT.grizzly!, '_disassociate_floating_ip', { address: '192.0.2.14', interface: 'eth0', instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000007' }, { ...call('1.6'), _unique_id: 'u2' }), expect: { type: 'disassociate', version: '1.6', instanceUuid: 'b1e2c3d4-0000-4000-8000-000000000007' } },
    { name: 'set_network_host (call 1.0)', routingKey: 'network', body: plain(CONTEXT.grizzly!, 'set_network_host', { network_ref: NETWORK_DICT }, call('1.0')), expect: { type: 'network-host', networkId: 3, version: '1.0', route: 'shared' } },
  ],
  'havana-kilo': [
    { name: '_associate (oslo envelope, call 1.6)', routingKey: hostKey, body: enveloped(CONTEXT.grizzly!, '_associate_floating_ip', { floating_address: '192.0.2.15', fixed_address: '10.0.0.8', interface: 'eth0', instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000008' }, call('1.6', true)), expect: { type: 'associate', address: '192.0.2.15', call: true, version: '1.6', route: 'host' } },
    { name: '_disassociate (oslo envelope)', routingKey: hostKey, body: enveloped(CONTEXT.grizzly!, '_disassociate_floating_ip', { address: '192.0.2.15', interface: 'eth0', instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000008' }, call('1.6', true)), expect: { type: 'disassociate', address: '192.0.2.15', version: '1.6' } },
    { name: 'set_network_host (dict, 1.0)', routingKey: 'network', body: enveloped(CONTEXT.grizzly!, 'set_network_host', { network_ref: NETWORK_DICT }, call('1.0', true)), expect: { type: 'network-host', networkId: 3, version: '1.0' } },
  ],
  'liberty-train': [
    { name: '_associate (oslo envelope, call 1.6)', routingKey: hostKey, body: enveloped(CONTEXT.modern!, '_associate_floating_ip', { floating_address: '2001:db8::10', fixed_address: '10.0.0.9', interface: 'eth0', instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000009' }, call('1.6', true)), expect: { type: 'associate', address: '2001:db8::10', call: true, version: '1.6', route: 'host' } },
    { name: '_disassociate (oslo envelope)', routingKey: hostKey, body: enveloped(CONTEXT.modern!, '_disassociate_floating_ip', { address: '192.0.2.16', interface: null, instance_uuid: 'b1e2c3d4-0000-4000-8000-000000000009' }, call('1.6', true)), expect: { type: 'disassociate', address: '192.0.2.16', interface: null } },
    { name: 'set_network_host (Network object, 1.15)', routingKey: 'network', body: enveloped(CONTEXT.modern!, 'set_network_host', { network_ref: NETWORK_OBJECT }, call('1.15', true)), expect: { type: 'network-host', networkId: 3, version: '1.15', route: 'shared' } },
  ],
};

describe('nova RPC messages of every release series', () => {
  it('has samples for every series in NOVA_RPC_SERIES, and nothing else', () => {
    expect(Object.keys(SERIES_SAMPLES).sort()).toEqual(NOVA_RPC_SERIES.map((s) => s.series).sort());
  });

  for (const series of NOVA_RPC_SERIES) {
    describe(`${series.series} (${series.releases}, ${series.envelope})`, () => {
      for (const s of SERIES_SAMPLES[series.series] ?? []) {
        it(s.name, () => {
          const parsed = parseNovaMessage(Buffer.from(s.body), { routingKey: s.routingKey });
          expect(parsed.envelope).toBe(series.envelope);
          expect(parsed.event).toMatchObject(s.expect);
        });
      }

      it('the table matches the samples: methods, args, topic, call or cast, version', () => {
        const sends = [series.publicAssociate, series.hostAssociate, series.publicDisassociate, series.hostDisassociate, series.setNetworkHost].filter((x): x is RpcSend => x !== null);
        for (const send of sends) {
          const key = send.topic === 'network' ? 'network' : hostKey;
          const matching = (SERIES_SAMPLES[series.series] ?? []).filter((s) => s.routingKey === key && parseNovaMessage(s.body).event.type !== 'reannounce' && (parseNovaMessage(s.body).event as { method: string }).method === send.method);
          expect(matching, `${series.series} ${send.method} on ${send.topic}`).toHaveLength(1);
          const inner = JSON.parse(series.envelope === 'oslo' ? (JSON.parse(matching[0]!.body) as Record<string, string>)['oslo.message']! : matching[0]!.body) as Record<string, unknown>;
          expect(Object.keys(inner.args as object).sort(), send.method).toEqual([...send.args].sort());
          expect('_msg_id' in inner, `${send.method} is a ${send.type}`).toBe(send.type === 'call');
          expect(inner.version ?? null).toBe(send.version);
        }
        expect(series.bindKeys).toEqual(['network.<host>', 'network']);
      });
    });
  }

  it('without a routing key the route is unknown; other keys are not nova topics', () => {
    const body = plain(CONTEXT.cactus!, 'associate_floating_ip', { floating_address: '192.0.2.10', fixed_address: '10.0.0.3' });
    expect(parseNovaMessage(body).event).toMatchObject({ route: null });
    expect(parseNovaMessage(body, { routingKey: 'compute.node1' }).event).toMatchObject({ route: null });
    expect(parseNovaMessage(body, { routingKey: 'network.node-1.example.com' }).event).toMatchObject({ route: 'host' });
  });

  it('tolerates odd optional fields instead of rejecting the message', () => {
    const odd = parseNovaMessage(oslo({ method: '_associate_floating_ip', args: { floating_address: '192.0.2.20', fixed_address: 'not-an-ip', interface: 'bad name!', instance_uuid: 7 }, version: 16 }));
    expect(odd.event).toMatchObject({ type: 'associate', address: '192.0.2.20', fixedAddress: null, interface: null, instanceUuid: null, version: null, call: false });
    const net = parseNovaMessage(JSON.stringify({ method: 'set_network_host', args: { network_ref: { 'nova_object.data': { id: 'x' } } } }));
    expect(net.event).toMatchObject({ type: 'network-host', networkId: null });
    expect(parseNovaMessage(JSON.stringify({ method: 'rpc_setup_network_on_host', args: { network_id: '12', teardown: true } })).event).toMatchObject({ networkId: 12, teardown: true });
  });
});
