/** The failover variants the lab compares, and what the original experiment measured for each. */

export const MODES = ['none', 'seed-arping', 'nova-arping', 'nova-garp'] as const;
export type ModeName = (typeof MODES)[number];

export interface ModeInfo {
  /** What puts the new MAC address on the wire in this mode. */
  announces: string;
  /** The original experiment's figure for the same situation (heartbeat deadtime 2–4 s), if any. */
  original: string;
}

export const MODE_INFO: Record<ModeName, ModeInfo> = {
  none: { announces: 'nothing: caches age out', original: '24–47 s' },
  'seed-arping': { announces: 'arping -b -c 1 -s ADDR PEER, serial', original: '4–5 s (by hand)' },
  'nova-arping': { announces: 'nova send_arp_for_ha: arping -U -A -c 3 per FIP', original: '-' },
  'nova-garp': { announces: 'hook -> nova-garp serve burst', original: '-' },
};

export function parseModes(text: string): ModeName[] {
  const out: ModeName[] = [];
  for (const raw of text.split(',')) {
    const m = raw.trim();
    if (m === '') continue;
    if (!(MODES as readonly string[]).includes(m)) throw new RangeError(`unknown mode '${m}' (modes: ${MODES.join(', ')})`);
    if (!out.includes(m as ModeName)) out.push(m as ModeName);
  }
  if (out.length === 0) throw new RangeError('no mode given');
  return out;
}
