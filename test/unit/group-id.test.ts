import { describe, expect, it } from 'vitest';
import { gidFromGroupFile } from '../../src/sidecar/group-id.js';

describe('control socket group', () => {
  it('finds a gid in /etc/group text', () => {
    const text = 'root:x:0:\nnova:x:117:nova\nnovadmin:x:118:\n';
    expect(gidFromGroupFile(text, 'nova')).toBe(117);
    expect(gidFromGroupFile(text, 'nov')).toBeNull();
  });
});
