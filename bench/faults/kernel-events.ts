/**
 * The judge's own ear: runs inside the sender's namespace, listens to rtnetlink address
 * notifications and prints one JSON line per event with the wall-clock time it was received
 * (`ip -ts monitor` stamps a line when it prints it, which lags by seconds in a 5,000-address
 * storm). Prints "ready" once subscribed; stops on SIGTERM.
 */
import { performance } from 'node:perf_hooks';
import { NetlinkListener } from '../../src/link/netlink-socket.js';

const listener = NetlinkListener.open();
const lines: string[] = [];
const flush = (): void => {
  if (lines.length > 0) process.stdout.write(lines.splice(0).join('\n') + '\n');
};
listener.watch(
  () => {
    const r = listener.recvAll();
    const t = performance.timeOrigin + performance.now();
    if (r.overflow || r.truncated) lines.push(JSON.stringify({ t, overflow: true }));
    for (const m of r.messages) if ('address' in m && m.type === 'address') lines.push(JSON.stringify({ t, deleted: m.deleted, address: m.address }));
    flush();
  },
  (e) => process.stderr.write(`kernel-events: ${e.message}\n`),
  200,
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  flush();
  listener.close();
  process.exit(0);
});
