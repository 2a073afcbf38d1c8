import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Linux keeps ONE ARP table for all network namespaces, and its hard size limit (gc_thresh3,
 * default 1024, settable only in the root namespace) counts the entries of every namespace
 * together. In the lab the router alone holds one entry per floating IP, and the instances,
 * network hosts and laptop hold the rest: past about 1,000 floating IPs the shared cap, not the
 * router, starts dropping resolutions ("neighbour table overflow"), which no real router with its
 * own table would suffer. So while the lab runs, the cap is raised by what the other namespaces
 * need, and put back afterwards. The router's own settings (reachable time, delay, probes and
 * gc_thresh1/2) stay at Linux's defaults.
 */

const PATH = '/proc/sys/net/ipv4/neigh/default/gc_thresh3';
export const LINUX_DEFAULT_GC_THRESH3 = 1024;

/** Pure: the cap the lab needs; the router's own share is what a default router allows. */
export function neededThresh3(current: number, floatingIps: number, networks: number): number {
  const router = Math.max(LINUX_DEFAULT_GC_THRESH3, floatingIps + 8);
  // Per network: instance → gateway, primary and standby → instance, plus slack for the rest.
  const others = 4 * networks + 64;
  return Math.max(current, router + others);
}

export class NeighbourLimit {
  private constructor(
    private readonly original: number,
    readonly raisedTo: number | null,
  ) {
    if (raisedTo !== null) process.on('exit', this.restore);
  }

  static raise(floatingIps: number, networks: number): NeighbourLimit {
    const current = Number(readFileSync(PATH, 'utf8').trim());
    const want = neededThresh3(current, floatingIps, networks);
    if (want <= current) return new NeighbourLimit(current, null);
    writeFileSync(PATH, `${want}\n`);
    return new NeighbourLimit(current, want);
  }

  readonly restore = (): void => {
    if (this.raisedTo === null) return;
    process.removeListener('exit', this.restore);
    try {
      // Put it back only if nobody changed it meanwhile.
      if (Number(readFileSync(PATH, 'utf8').trim()) === this.raisedTo) writeFileSync(PATH, `${this.original}\n`);
    } catch {
      // Best effort: a higher cap than before harms nobody.
    }
  };

  describe(): string | null {
    return this.raisedTo === null ? null : `shared ARP table cap gc_thresh3 raised from ${this.original} to ${this.raisedTo} for the run (restored on exit)`;
  }
}
