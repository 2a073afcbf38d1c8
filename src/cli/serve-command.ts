import type { Command } from './command.js';
import { UsageError } from './exit-codes.js';

// Placeholder until its issue lands; replaced wholesale by the owner of this command.
export const serveCommand: Command = {
  summary: 'not built yet',
  async run() {
    throw new UsageError('serve is not built yet', 1);
  },
};
