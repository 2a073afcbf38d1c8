import { parseIp } from '../../src/net/ip-address.js';
import { echoReplyId, echoRequest } from './icmp-echo.js';
import { IcmpSocket, Poller, RECV_BATCH, ReceiveVector, SendVector } from './icmp-socket.js';
import { inNetns } from '../netns/setns.js';
import { emit, now, StdinLines } from './child-stdio.js';
import type { ProbeRecord } from './outage.js';

/**
 * The lab's prober, a process of its own so its timing does not depend on the lab's event loop
 * (which is busy spawning ip, arping and the sidecar during the failover).
 *
 * It opens one raw ICMP socket per (namespace, family) with setns, then runs a blocking 1 ms
 * loop: send every echo request that is due (each destination once per interval, destinations
 * spread evenly over the interval), drain the replies, sleep in poll(2) on its command pipe.
 * Times are CLOCK_MONOTONIC milliseconds, the clock the parent uses too. Receive times are the
 * loop tick that drained them: up to 1 ms late, small next to the probe interval.
 *
 * stdin: first line the JSON config, then commands `steady`, `freeze`, `t0 <ms>`, `back-after <ms>`, `stop`.
 * stdout: JSON lines {type:"ready"}, {type:"status",...} every 250 ms, {type:"result",...} last.
 */

export interface ProberConfig {
  intervalMs: number;
  gapThresholdMs: number;
  groups: Array<{ netnsPath: string; from: string; family: 4 | 6; addresses: string[] }>;
}

export interface ProberStatus {
  type: 'status';
  t: number;
  /** Destinations that answered within the last 3 intervals. */
  up: number;
  /** Destinations that answered after t0 (0 before t0 is known). */
  back: number;
  total: number;
  sent: number;
  received: number;
  maxLateMs: number;
}

export interface ProberResult {
  type: 'result';
  records: ProbeRecord[];
  maxLateMs: number;
  /** Sends more than half an interval late. */
  lateSends: number;
  steadySent: number;
  steadyReceived: number;
  startedAt: number;
  stoppedAt: number;
  sendErrors: number;
}

interface Group {
  sock: IcmpSocket;
  vec: SendVector;
  family: 4 | 6;
  /** Index of each destination in the flat record list. */
  first: number;
  n: number;
  /** Sends done so far in schedule order: send m goes to destination m % n at start + m·I/n. */
  cursor: number;
  byKey: Map<string, number>;
}

const key = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function main(): void {
  const stdin = new StdinLines();
  const poller = new Poller(0);
  let line: string | null = null;
  while ((line = stdin.next()) === null) {
    if (stdin.closed) return;
    if (poller.wait(1000)) stdin.fill();
  }
  const config = JSON.parse(line) as ProberConfig;
  const id = process.pid & 0xffff;
  const I = config.intervalMs;

  const records: ProbeRecord[] = [];
  const groups: Group[] = [];
  for (const g of config.groups) {
    const dests = g.addresses.map((a) => {
      const p = parseIp(a);
      if (p === null || p.family !== g.family) throw new Error(`not an IPv${g.family} address: ${a}`);
      return p.bytes;
    });
    const sock = inNetns(g.netnsPath, () => IcmpSocket.open(g.family));
    const byKey = new Map<string, number>();
    dests.forEach((d, i) => byKey.set(key(d), records.length + i));
    groups.push({ sock, vec: new SendVector(g.family, dests, () => echoRequest(g.family, id, 1)), family: g.family, first: records.length, n: dests.length, cursor: 0, byKey });
    for (const a of g.addresses) records.push({ address: a, from: g.from, sent: 0, received: 0, firstReply: null, lastReply: null, gaps: [] });
  }
  const total = records.length;
  const last = new Float64Array(total).fill(-1);
  const recv = new ReceiveVector();

  let t0: number | null = null;
  /** `back` counts replies after this moment (default t0): with a real HA manager, its takeover. */
  let backAfter: number | null = null;
  let steady = false;
  let steadyFrozen = false;
  let steadySent = 0;
  let steadyReceived = 0;
  let sent = 0;
  let received = 0;
  let maxLateMs = 0;
  let lateSends = 0;
  let sendErrors = 0;
  const startedAt = now();
  let nextStatus = startedAt;
  emit({ type: 'ready', t: startedAt, total });

  const onReply = (g: Group, t: number) => (r: { data: Uint8Array; length: number; source: Uint8Array }) => {
    if (echoReplyId(g.family, r.data, r.length) !== id) return;
    const i = g.byKey.get(key(r.source));
    if (i === undefined) return;
    const rec = records[i]!;
    const prev = last[i]!;
    if (prev >= 0 && t - prev > config.gapThresholdMs) rec.gaps.push([prev, t]);
    if (rec.firstReply === null) rec.firstReply = t;
    last[i] = t;
    rec.received++;
    received++;
    if (steady) steadyReceived++;
  };

  for (;;) {
    const t = now();
    for (const g of groups) {
      const due = Math.floor(((t - startedAt) * g.n) / I) + 1;
      // More than a whole interval behind: skip ahead rather than send a destination twice at once.
      if (due - g.cursor > g.n) g.cursor = due - g.n;
      const late = t - (startedAt + (g.cursor * I) / g.n);
      if (due > g.cursor) {
        if (late > maxLateMs) maxLateMs = late;
        if (late > I / 2) lateSends += due - g.cursor;
      }
      while (g.cursor < due) {
        const from = g.cursor % g.n;
        const count = Math.min(due - g.cursor, g.n - from);
        const r = g.vec.send(g.sock, from, count);
        if (r === -11 /* EAGAIN */ || r === -105 /* ENOBUFS */) break;
        const took = r < 0 ? 1 : r;
        if (r < 0) sendErrors++;
        for (let k = 0; k < took; k++) records[g.first + from + k]!.sent++;
        g.cursor += took;
        sent += took;
        if (steady && !steadyFrozen) steadySent += took;
      }
    }
    const tr = now();
    for (const g of groups) {
      const each = onReply(g, tr);
      while (recv.receive(g.sock, each) === RECV_BATCH);
    }
    if (tr >= nextStatus) {
      nextStatus = tr + 250;
      let up = 0;
      let back = 0;
      for (let i = 0; i < total; i++) {
        if (last[i]! >= tr - 3 * I - 100) up++;
        if (t0 !== null && last[i]! >= (backAfter ?? t0)) back++;
      }
      emit({ type: 'status', t: tr, up, back, total, sent, received, maxLateMs } satisfies ProberStatus);
    }
    if (poller.wait(1)) {
      stdin.fill();
      let cmd: string | null;
      while ((cmd = stdin.next()) !== null) {
        if (cmd === 'steady') steady = true;
        // Sent just before the primary's links go down: probes sent from then on may be lost
        // in flight, which is the failover, not prober loss.
        else if (cmd === 'freeze') steadyFrozen = true;
        else if (cmd.startsWith('back-after ')) backAfter = Number(cmd.slice(11));
        else if (cmd.startsWith('t0 ')) {
          t0 = Number(cmd.slice(3));
          steady = false;
        } else if (cmd === 'stop' || cmd === '\u0004') {
          finish();
          return;
        }
      }
      if (stdin.closed) {
        finish();
        return;
      }
    }
  }

  function finish(): void {
    records.forEach((r, i) => (r.lastReply = last[i]! >= 0 ? last[i]! : null));
    const result: ProberResult = { type: 'result', records, maxLateMs, lateSends, steadySent, steadyReceived, startedAt, stoppedAt: now(), sendErrors };
    emit(result);
    for (const g of groups) {
      g.sock.close();
      g.vec.free();
    }
    recv.free();
  }
}

main();
