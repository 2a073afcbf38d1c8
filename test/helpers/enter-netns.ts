import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;

/**
 * Moves this thread into a network namespace and returns the way back. Netlink sockets belong to
 * the namespace of the thread that opens them, and `ip` children inherit it, so a test can run a
 * watcher or a reader in its own process against a namespace nobody else touches.
 */
export function enterNetns(name: string): () => void {
  const setns = koffi.load('libc.so.6').func('int setns(int fd, int nstype)');
  const back = openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(`/var/run/netns/${name}`, 'r');
  try {
    if ((setns(target, CLONE_NEWNET) as number) !== 0) throw new Error(`setns(${name}) failed: errno ${koffi.errno()}`);
  } finally {
    closeSync(target);
  }
  return () => {
    setns(back, CLONE_NEWNET);
    closeSync(back);
  };
}
