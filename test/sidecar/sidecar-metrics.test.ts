import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { controlRequest } from '../../src/sidecar/control-client.js';

const enabled = requirement('sidecar metrics and reload tests', missingRoot());
const HOST = 'nethost1';

/** Scrapes the sidecar's Prometheus endpoint from inside its namespace (it listens on loopback). */
async function scrape(lab: SidecarLab, port: number): Promise<string> {
  const code = `fetch('http://127.0.0.1:${port}/metrics').then(r => r.text()).then(t => process.stdout.write(t))`;
  return lab.pair.group.exec(lab.pair.sender, [process.execPath, '-e', code]);
}

function value(text: string, metric: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && labels.split(',').every((kv) => l.includes(kv)));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe.runIf(enabled)('nova-garp serve: metrics and SIGHUP', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;
  let inventory: string;
  const port = 19469;

  beforeAll(async () => {
    lab = await createSidecarLab();
    inventory = join(lab.dir, 'inventory.json');
    await writeFile(inventory, JSON.stringify({ targets: [{ kind: 'floating', address: '10.77.0.90', interface: lab.pair.senderIf }] }));
    await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', '10.77.0.90/32', 'dev', lab.pair.senderIf);
    serve = await lab.startServe(['--no-amqp', '--inventory', inventory, '--metrics-listen', `127.0.0.1:${port}`], `[DEFAULT]\nhost = ${HOST}\n`);
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('exports frames, announcements, targets, burst time and rejections in Prometheus text', async () => {
    // announce-on-start announced the bound target; wait for its three rounds to be counted.
    await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'start');
    // Its schedule over, all three rounds were sent and counted.
    await waitFor(async () => ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as { activeSchedules: number }).activeSchedules === 0, {
      what: 'the start schedule (three rounds) over',
    });
    await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: 'wrong' });
    const text = await scrape(lab, port);
    expect(value(text, 'nova_garp_frames_sent_total', `interface="${lab.pair.senderIf}",form="request"`)).toBe(3);
    expect(value(text, 'nova_garp_frames_sent_total', `interface="${lab.pair.senderIf}",form="reply"`)).toBe(3);
    expect(value(text, 'nova_garp_announcements_total', 'kind="floating",trigger="start"')).toBe(1);
    expect(value(text, 'nova_garp_targets', 'kind="floating",bound="true"')).toBe(1);
    expect(value(text, 'nova_garp_rejected_total', 'source="control",reason="wrong_host"')).toBe(1);
    expect(text).toMatch(/^nova_garp_last_burst_seconds \d/m);
    expect(text).toMatch(/^nova_garp_rabbitmq_up 0$/m);
  });

  it('re-reads its inventory on SIGHUP and announces what is new and bound', async () => {
    // A serve of its own (own socket, state and inventory file): the metrics above count only theirs.
    const socket = join(lab.dir, 'sighup.sock');
    const own = join(lab.dir, 'sighup-inventory.json');
    await writeFile(own, JSON.stringify({ targets: [{ kind: 'floating', address: '10.77.0.90', interface: lab.pair.senderIf }] }));
    const hup = await lab.startServe(['--no-amqp', '--inventory', own, '--control-socket', socket, '--state-dir', join(lab.dir, 'sighup-state')], `[DEFAULT]\nhost = ${HOST}\n`);
    try {
      await hup.waitForLog((l) => l.msg === 'ready');
      await lab.pair.group.ip(lab.pair.sender, 'addr', 'replace', '10.77.0.91/32', 'dev', lab.pair.senderIf);
      await writeFile(
        own,
        JSON.stringify({
          targets: [
            { kind: 'floating', address: '10.77.0.90', interface: lab.pair.senderIf },
            { kind: 'floating', address: '10.77.0.91', interface: lab.pair.senderIf },
            { kind: 'floating', address: 'not-an-ip', interface: lab.pair.senderIf },
          ],
        }),
      );
      hup.child.kill('SIGHUP');
      const burst = await hup.waitForLog((l) => l.msg === 'burst' && l.trigger === 'inventory');
      expect(burst).toMatchObject({ announced: 1, targets: 1 });
      await hup.waitForLog((l) => l.msg === 'inventory row skipped');
      const r = await runCli(null, ['reannounce', '--control-socket', socket, '--json']);
      expect(JSON.parse(r.stdout).accepted.sort()).toEqual(['10.77.0.90', '10.77.0.91']);
    } finally {
      await hup.stop();
      await lab.pair.group.ip(lab.pair.sender, 'addr', 'del', '10.77.0.91/32', 'dev', lab.pair.senderIf);
    }
  });
});
