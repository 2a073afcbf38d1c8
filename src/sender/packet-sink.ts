import type { FrameContext } from '../frames/frame-context.js';
import { InterfaceSender } from './interface-sender.js';
import type { RoundFrame } from '../schedule/schedule.js';
import type { LinkInfo } from '../link/interfaces.js';
import type { FrameSink, SliceResult } from '../core/ports.js';

/** The core's FrameSink on real links: one raw socket and one set of native slots per interface. */
export class PacketSink implements FrameSink {
  private readonly senders = new Map<string, InterfaceSender>();

  async send(link: LinkInfo, frames: readonly RoundFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext): Promise<SliceResult> {
    let sender: InterfaceSender;
    try {
      sender = this.sender(link);
    } catch (err) {
      return { sent: 0, error: (err as Error).message };
    }
    const r = await sender.sendSlice(frames, bytesOf, ctx);
    return { sent: r.sent, error: r.error };
  }

  /** Opens the socket and lays out the frame slots ahead of the first burst (never throws). */
  prepare(link: LinkInfo): string | null {
    try {
      this.sender(link);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private sender(link: LinkInfo): InterfaceSender {
    const key = `${link.name}/${link.ifindex}`;
    let s = this.senders.get(key);
    if (s === undefined) {
      // A recreated bridge has a new ifindex: the old socket and its native slots go with it.
      for (const [k, old] of this.senders) {
        if (k.startsWith(`${link.name}/`)) {
          old.close();
          this.senders.delete(k);
        }
      }
      s = new InterfaceSender(link.name, link.ifindex, null);
      this.senders.set(key, s);
    }
    return s;
  }

  close(): void {
    for (const s of this.senders.values()) s.close();
    this.senders.clear();
  }
}
