import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createPair, type Pair } from '../helpers/pair.js';
import { runCli } from '../helpers/cli.js';
import { waitForFrames } from '../helpers/wait-for.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { run } from '../../src/shell.js';

const enabled = requirement('frames-vs-arping namespace tests', missingRoot());

/** Live comparison with iputils arping on the same interface: the reference implementation. */
describe.runIf(enabled)('frames compared with iputils arping, live', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await createPair();
    await p.group.ip(p.sender, 'addr', 'add', '10.77.1.5/32', 'dev', p.senderIf);
  });
  afterAll(async () => {
    await p?.group.cleanup();
  });

  async function frameOf(cmd: () => Promise<unknown>, op: number): Promise<Uint8Array> {
    const cap = await Capture.start(p.router, p.routerIf, `arp and ether src ${p.senderMac}`);
    await cmd();
    const wanted = (d: Uint8Array): boolean => parseArpFrame(d)?.op === op && parseArpFrame(d)?.senderIp === '10.77.1.5';
    const frames = await waitForFrames(cap, (fs) => fs.some((x) => wanted(x.data)), { what: `an ARP op ${op} frame from 10.77.1.5 at the router` });
    await cap.stop();
    return frames.map((x) => x.data).find(wanted)!;
  }

  const arping = (...args: string[]) => run(['ip', 'netns', 'exec', p.sender, 'arping', '-c', '1', '-w', '1', '-I', p.senderIf, ...args]).catch(() => '');
  const ours = (form: string) => runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.1.5', '--rounds', '1', '--form', form]);

  it('sends the reply form byte for byte as arping -A', async () => {
    const theirs = await frameOf(() => arping('-A', '10.77.1.5'), 2);
    const mine = await frameOf(() => ours('reply'), 2);
    expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
  });

  it('sends the request form as arping -U, but for the RFC 5227 zero target MAC', async () => {
    const theirs = await frameOf(() => arping('-U', '10.77.1.5'), 1);
    const mine = await frameOf(() => ours('request'), 1);
    const mask = (b: Uint8Array) => Buffer.concat([b.subarray(0, 32), b.subarray(38)]).toString('hex');
    expect(mask(mine)).toBe(mask(theirs));
    expect(Buffer.from(mine.subarray(32, 38)).toString('hex')).toBe('000000000000');
  });
});
