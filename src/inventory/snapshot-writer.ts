import type { Logger } from 'pino';
import type { Inventory } from '../targets/target.js';
import { writeSnapshot } from './snapshot.js';

/**
 * Writes the desired state to the snapshot, one write at a time and always the latest: requests
 * during a write collapse into one more write of the state as it is when that write starts
 * (concurrent renames could otherwise land an older inventory last).
 */
export class SnapshotWriter {
  private writing: Promise<void> | null = null;
  private dirty = false;

  constructor(
    private readonly stateDir: string | null,
    private readonly current: () => Inventory | null,
    private readonly log: Logger,
  ) {}

  request(): void {
    if (this.stateDir === null) return;
    this.dirty = true;
    if (this.writing !== null) return;
    // Cleared in a callback, not inside loop(): a loop with nothing to write ends synchronously,
    // and clearing it there would run before the assignment.
    const run = this.loop();
    this.writing = run;
    void run.finally(() => {
      if (this.writing === run) this.writing = null;
    });
  }

  /** Resolves when no write is pending (stop, tests). */
  async flushed(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async loop(): Promise<void> {
    const dir = this.stateDir!;
    while (this.dirty) {
      this.dirty = false;
      const inv = this.current();
      if (inv === null) continue;
      await writeSnapshot(dir, inv).catch((err: Error) => this.log.error({ err: err.message, stateDir: dir }, 'cannot write snapshot'));
    }
  }
}
