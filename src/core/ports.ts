import type { FrameContext } from '../frames/frame-context.js';
import type { RoundFrame } from '../schedule/schedule.js';
import type { LinkInfo } from '../link/interfaces.js';
import type { LinkLookup } from '../targets/link-check.js';

/**
 * What the core needs from the world, as small interfaces: `serve` plugs in the real clock, the
 * netlink watcher and the raw socket; the simulation plugs in fakes and drives thousands of
 * interleavings without root.
 */

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
  /** Lets pending I/O and timers run (between send slices). */
  turn(): Promise<void>;
}

/** The observed state: which addresses are bound where, as the kernel last reported it. */
export interface ObservedLinks extends LinkLookup {
  /**
   * Applies every address and link change the kernel has reported so far, synchronously (it may
   * call back into the core with unbound/bound). Called right before every send slice.
   */
  drain(): void;
  /** Interfaces on which the address is bound (placement of the routing source IP). */
  interfacesHolding(address: string): string[];
  /**
   * Changes whenever an applied change could have made a bound address unbound (any address or
   * link change, any re-read): while it stays the same, an address found bound is still bound,
   * and a burst's slices need not look each address up again. Without it every frame is looked up.
   */
  version?(): number;
}

export interface SliceResult {
  sent: number;
  /** Set when the rest of the slice could not be sent (socket gone, link gone, queue full too long). */
  error: string | null;
}

export interface FrameSink {
  /**
   * Hands the frames (at most SLICE_FRAMES) to the kernel on `link`, in order. The arrays and the
   * frame objects are the caller's and reused for the next slice: do not keep them once the
   * promise settles.
   */
  send(link: LinkInfo, frames: readonly RoundFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext): Promise<SliceResult>;
}

/** Frames per send slice: the observed state is brought up to date before each one. */
export const SLICE_FRAMES = 256;
