import { describe, expect, it } from 'vitest';
import { missingCapabilities } from '../../tools/netns/capabilities.js';

describe('capabilities for namespace work', () => {
  it('reads the CapEff mask of /proc/self/status', () => {
    expect(missingCapabilities('000001ffffffffff')).toEqual([]); // root
    expect(missingCapabilities('0000000000000000')).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN']);
    expect(missingCapabilities('0000000000003000')).toEqual(['CAP_SYS_ADMIN']); // net_admin + net_raw only
  });
});
