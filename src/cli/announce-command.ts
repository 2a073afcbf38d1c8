import type { Command } from './command.js';
import { UsageError } from './exit-codes.js';

// Placeholder until its issue lands; replaced wholesale by the owner of this command.
export const announceCommand: Command = {
  summary: 'not built yet',
  async run() {
    throw new UsageError('announce is not built yet', 1);
  },
};
