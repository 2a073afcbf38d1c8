import { describe, expect, it } from 'vitest';
import { MessageError, parseNovaMessage } from '../../src/amqp/nova-message.js';

const oslo = (inner: unknown): string => JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });

describe('nova RPC messages on network.<host>', () => {
  it('reads a Cactus cast (plain body, flattened context)', () => {
    const body = JSON.stringify({ method: 'associate_floating_ip', args: { floating_address: '192.0.2.10', fixed_address: '10.0.0.3' }, _context_user: 'u', _context_is_admin: true });
    expect(parseNovaMessage(Buffer.from(body))).toEqual({ envelope: 'plain', event: { type: 'associate', address: '192.0.2.10', interface: null, method: 'associate_floating_ip' } });
  });

  it('reads a Folsom host-targeted call with interface', () => {
    const body = JSON.stringify({ method: '_associate_floating_ip', args: { floating_address: '192.0.2.11', fixed_address: '10.0.0.4', interface: 'eth1' }, _msg_id: 'abc' });
    expect(parseNovaMessage(body).event).toMatchObject({ type: 'associate', address: '192.0.2.11', interface: 'eth1' });
  });

  it('unwraps the oslo envelope (Havana on) and reads Newton disassociation', () => {
    const m = parseNovaMessage(oslo({ method: '_disassociate_floating_ip', args: { address: '192.0.2.12', interface: 'eth0', instance_uuid: 'x' }, version: '1.6', _reply_q: 'reply_1' }));
    expect(m).toEqual({ envelope: 'oslo', event: { type: 'disassociate', address: '192.0.2.12', interface: 'eth0', method: '_disassociate_floating_ip' } });
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
    expect(parseNovaMessage(JSON.stringify({ method: 'lease_fixed_ip', args: { address: '10.0.0.9' } })).event).toEqual({ type: 'ignored', method: 'lease_fixed_ip' });
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
