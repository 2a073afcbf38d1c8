import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { readInterfaces } from '../../src/link/interfaces.js';
import { run } from '../../src/shell.js';

export interface Pair {
  group: NamespaceGroup;
  sender: string;
  router: string;
  senderIf: string;
  routerIf: string;
  senderMac: string;
  tag: string;
}

/**
 * Two namespaces joined by a veth: `sender` (runs nova-garp) and `router` (a Linux host with
 * default neighbour settings whose neighbour table is the judge).
 */
export async function createPair(): Promise<Pair> {
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngt${tag}-`);
  const sender = await group.add('snd');
  const router = await group.add('rtr');
  const senderIf = `ngs${tag}`;
  const routerIf = `ngr${tag}`;
  await group.veth({ ns: sender, name: senderIf }, { ns: router, name: routerIf });
  await group.ip(sender, 'addr', 'add', '10.77.0.1/24', 'dev', senderIf);
  await group.ip(router, 'addr', 'add', '10.77.0.254/24', 'dev', routerIf);
  await group.ip(sender, 'addr', 'add', '2001:db8:77::1/64', 'dev', senderIf, 'nodad');
  await group.ip(router, 'addr', 'add', '2001:db8:77::fe/64', 'dev', routerIf, 'nodad');
  const senderMac = (await run(['ip', 'netns', 'exec', sender, 'cat', `/sys/class/net/${senderIf}/address`])).trim();
  return { group, sender, router, senderIf, routerIf, senderMac, tag };
}

export const OLD_MAC = '02:00:00:00:0e:ad';

/** Makes the router believe `address` lives at OLD_MAC, as it would after the old primary died. */
export async function staleEntry(p: Pair, address: string): Promise<void> {
  await p.group.ip(p.router, 'neigh', 'replace', address, 'lladdr', OLD_MAC, 'dev', p.routerIf, 'nud', 'stale');
}

export async function neighbourMac(p: Pair, address: string): Promise<string | null> {
  const out = JSON.parse(await p.group.ip(p.router, '-j', 'neigh', 'show', address, 'dev', p.routerIf)) as Array<{ lladdr?: string }>;
  return out[0]?.lladdr ?? null;
}

export async function ifindexIn(ns: string, ifname: string): Promise<number> {
  const out = await run(['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/ifindex`]);
  return Number(out.trim());
}

export { readInterfaces };
