import koffi from 'koffi';
import { constants } from 'node:os';
import { errnoName, libc } from '../../src/link/libc.js';
import { emit, now, StdinLines } from './child-stdio.js';
import { inNetns } from '../netns/setns.js';
import { parseWatchDatagram, type WatchConfig, type WatchEvent, type WatchResult } from './router-watch.js';

/**
 * The lab's table watcher, a process of its own (like the prober) so its timestamps do not depend
 * on the lab's busy event loop. It opens one rtnetlink socket per watched namespace with setns:
 * neighbour notifications (RTNLGRP_NEIGH) in the router and the instances, address notifications
 * (IPv4 and IPv6 ifaddr) in the standby. It then blocks in poll(2) on all of them and stamps
 * each datagram with CLOCK_MONOTONIC (the prober's and the lab's clock) right before reading it:
 * an event is at most the read time late, which is microseconds while this process keeps up.
 *
 * stdin: first line the JSON config, then `since <ms>` (events from then on are kept in the
 * result; earlier ones, the warm-up's, are only counted) and `stop`. stdout: {type:"ready"}, then {type:"result",...}.
 */

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x1;
const RTMGRP_NEIGH = 0x4;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
const { EAGAIN, EINTR, ENOBUFS } = constants.errno;

const c = libc;
const SCHED_FIFO = 1;

function openNetlink(groups: number): number {
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE) as number;
  if (fd < 0) throw new Error(`socket(AF_NETLINK) failed: ${errnoName(koffi.errno())}`);
  const sa = new Uint8Array(12);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(8, groups, true);
  if ((c.bind(fd, sa, 12) as number) < 0) throw new Error(`binding the netlink socket failed: ${errnoName(koffi.errno())}`);
  // A failover's ip -batch queues a thousand notifications at once; never drop one.
  const size = new Uint8Array(4);
  new DataView(size.buffer).setInt32(0, 32 * 1024 * 1024, true);
  if ((c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) as number) < 0) c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
  return fd;
}

const BUF = 64 * 1024;

function main(): void {
  const stdin = new StdinLines();
  const config = JSON.parse(stdin.waitLine() ?? 'null') as WatchConfig | null;
  if (config === null) return;
  // The watcher is the measuring instrument: on a busy machine a descheduled watcher would stamp
  // events late. Real-time priority for this thread (it sleeps in poll(2) and uses little CPU; the
  // kernel's RT throttling bounds it anyway), so it reads each notification as it is queued.
  const realtime = (c.sched_setscheduler(0, SCHED_FIFO, [20]) as number) === 0;
  const socks = config.sockets.map((s) => ({ ...s, fd: inNetns(s.netnsPath, () => openNetlink(s.kind === 'neigh' ? RTMGRP_NEIGH : RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)) }));
  const n = socks.length + 1;
  const pollMem = koffi.alloc('uint8_t', 8 * n);
  const pollBase = Number(koffi.address(pollMem));
  const pollView = new DataView(koffi.view(pollMem, 8 * n));
  pollView.setInt32(0, 0, true); // stdin
  pollView.setInt16(4, POLLIN, true);
  socks.forEach((s, i) => {
    pollView.setInt32(8 * (i + 1), s.fd, true);
    pollView.setInt16(8 * (i + 1) + 4, POLLIN, true);
  });
  const bufMem = koffi.alloc('uint8_t', BUF);
  const bufBase = Number(koffi.address(bufMem));
  const buf = new Uint8Array(koffi.view(bufMem, BUF));

  let since: number | null = null;
  let before = 0;
  let overflows = 0;
  let malformed = 0;
  const events: WatchEvent[] = [];
  emit({ type: 'ready', t: now(), realtime });

  const drain = (i: number): void => {
    const s = socks[i]!;
    for (;;) {
      const t = now();
      const r = Number(c.recv(s.fd, bufBase, BUF, MSG_DONTWAIT));
      if (r < 0) {
        const errno = koffi.errno();
        if (errno === EAGAIN) return;
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          overflows++;
          continue;
        }
        throw new Error(`recv on the ${s.role} netlink socket failed: ${errnoName(errno)}`);
      }
      const parsed = parseWatchDatagram(buf.subarray(0, r), s.kind, s.role, t);
      malformed += parsed.malformed;
      for (const e of parsed.events) {
        if (since !== null && t >= since) events.push(e);
        else before++;
      }
    }
  };

  for (;;) {
    for (let i = 0; i < n; i++) pollView.setInt16(8 * i + 6, 0, true);
    const ready = c.poll(pollBase, n, 200) as number;
    if (ready < 0 && koffi.errno() !== EINTR) throw new Error(`poll failed: ${errnoName(koffi.errno())}`);
    for (let i = 0; i < socks.length; i++) if (pollView.getInt16(8 * (i + 1) + 6, true) !== 0) drain(i);
    if (pollView.getInt16(6, true) !== 0) {
      stdin.fill();
      let cmd: string | null;
      while ((cmd = stdin.next()) !== null) {
        if (cmd.startsWith('since ')) since = Number(cmd.slice(6));
        else if (cmd === 'stop') stdin.closed = true;
      }
      if (stdin.closed) {
        // Whatever the kernel queued up to now belongs to the run.
        for (let i = 0; i < socks.length; i++) drain(i);
        const result: WatchResult = { type: 'result', events, before, overflows, malformed, stoppedAt: now() };
        emit(result);
        for (const s of socks) c.close(s.fd);
        return;
      }
    }
  }
}

main();
