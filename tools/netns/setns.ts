import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { errnoName, lastErrno, libc } from '../../src/link/libc.js';

const CLONE_NEWNET = 0x40000000;

/** `ns` as a path: a name from `ip netns add` (under /var/run/netns) or a path to a netns file. */
const nsPath = (ns: string): string => (ns.startsWith('/') ? ns : `/var/run/netns/${ns}`);

function setns(fd: number, what: string): void {
  if ((libc.setns(fd, CLONE_NEWNET) as number) === 0) return;
  const errno = lastErrno();
  const hint = errno === constants.errno.EPERM || errno === constants.errno.EACCES ? ' (needs root: CAP_SYS_ADMIN)' : '';
  throw new Error(`setns(${what}) failed: ${errnoName(errno)}${hint}`);
}

/**
 * Moves the calling thread into network namespace `ns` and returns the way back. Sockets belong to
 * the namespace of the thread that opens them (netlink, raw ICMP), and `ip` children inherit it.
 */
export function enterNetns(ns: string): () => void {
  const back = openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(nsPath(ns), 'r');
  try {
    setns(target, ns);
  } catch (err) {
    closeSync(back);
    throw err;
  } finally {
    closeSync(target);
  }
  return () => {
    try {
      setns(back, 'back to the original namespace');
    } finally {
      closeSync(back);
    }
  };
}

/** Runs `fn` with the calling thread inside network namespace `ns`, then switches back. */
export function inNetns<T>(ns: string, fn: () => T): T {
  const leave = enterNetns(ns);
  try {
    return fn();
  } finally {
    leave();
  }
}
