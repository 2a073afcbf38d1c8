import { describe, expect, it } from 'vitest';
import { parseAnnounceRequest, parseEventRequest, RequestError } from '../../src/sidecar/announce-request.js';

describe('control socket bodies', () => {
  it('validates the hook event', () => {
    expect(parseEventRequest({ event: 'nova-network-started', host: 'net1', manager: 'VlanManager', pid: 42 })).toEqual({ event: 'nova-network-started', host: 'net1', manager: 'VlanManager', pid: 42 });
    expect(() => parseEventRequest({ event: 'nova-network-started', host: '' })).toThrow(RequestError);
    expect(() => parseEventRequest(null)).toThrow(/object/);
  });
  it('validates announce requests and sets bad addresses aside', () => {
    expect(parseAnnounceRequest({ addresses: ['10.0.0.1', 'bogus', '2001:DB8::1'], kinds: ['floating'] })).toEqual({
      addresses: ['10.0.0.1', '2001:db8::1'],
      kinds: ['floating'],
      reason: 'request',
      invalid: ['bogus'],
    });
    expect(parseAnnounceRequest({})).toMatchObject({ addresses: null, kinds: null });
    expect(() => parseAnnounceRequest({ kinds: ['router'] })).toThrow(/kinds/);
    expect(() => parseAnnounceRequest({ addresses: [1] })).toThrow(/strings/);
  });
});
