/** What started a schedule: shown in burst logs, metrics and /v1/status. */
export type Trigger =
  | 'start'
  | 'hook'
  | 'address'
  | 'inventory'
  | 'amqp-associate'
  | 'amqp-network'
  | 'amqp-reannounce'
  | 'reannounce'
  | 'refresh';

/** Rising edges (a target became known and bound) always start; forced ones are rate limited. */
export const FORCED_TRIGGERS: ReadonlySet<Trigger> = new Set(['start', 'hook', 'reannounce', 'amqp-reannounce', 'refresh']);
