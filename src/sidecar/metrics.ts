import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the sidecar exports, on a registry of its own (tests run several sidecars). */
export class Metrics {
  readonly registry = new Registry();
  readonly framesSent = new Counter({ name: 'nova_garp_frames_sent_total', help: 'Frames handed to the kernel', labelNames: ['interface', 'form'] as const, registers: [this.registry] });
  readonly announcements = new Counter({
    name: 'nova_garp_announcements_total',
    help: 'Addresses that got a first-round announcement, by target kind and trigger',
    labelNames: ['kind', 'trigger'] as const,
    registers: [this.registry],
  });
  readonly coalesced = new Counter({ name: 'nova_garp_coalesced_total', help: 'Announce triggers folded into a schedule already running', labelNames: ['trigger'] as const, registers: [this.registry] });
  /** Set by the sidecar: fills `targets` from its state when Prometheus scrapes. */
  collectTargets: (() => void) | null = null;
  readonly targets = new Gauge({
    name: 'nova_garp_targets',
    help: 'Inventory targets by kind and whether they are bound here now',
    labelNames: ['kind', 'bound'] as const,
    registers: [this.registry],
    collect: () => this.collectTargets?.(),
  });
  readonly lastBurstSeconds = new Gauge({ name: 'nova_garp_last_burst_seconds', help: 'Trigger to last frame of round 1 of the last burst', registers: [this.registry] });
  readonly lastBurstFirstFrameSeconds = new Gauge({ name: 'nova_garp_last_burst_first_frame_seconds', help: 'Trigger to first frame of the last burst', registers: [this.registry] });
  readonly databaseUp = new Gauge({ name: 'nova_garp_database_up', help: '1 if the last nova database read succeeded', registers: [this.registry] });
  readonly rabbitmqUp = new Gauge({ name: 'nova_garp_rabbitmq_up', help: '1 while the RabbitMQ consumer is connected', registers: [this.registry] });
  readonly snapshotAge = new Gauge({ name: 'nova_garp_snapshot_age_seconds', help: 'Age of the inventory in use when it came from the snapshot (0 when from the database)', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'nova_garp_rejected_total', help: 'Rejected AMQP messages and control requests', labelNames: ['source', 'reason'] as const, registers: [this.registry] });
  readonly databaseReads = new Counter({ name: 'nova_garp_database_reads_total', help: 'Reads of nova\'s database by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly safetyDrops = new Counter({
    name: 'nova_garp_safety_drops_total',
    help: 'Addresses left out of a send slice because the kernel no longer reported them bound',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  /** Set by the sidecar: the number of address conflicts (split brain) seen and not yet cleared. */
  collectConflicts: (() => number) | null = null;
  readonly conflicts = new Gauge({
    name: 'nova_garp_conflicts',
    help: 'Addresses bound here that another MAC claims on the wire (split brain), not yet cleared',
    registers: [this.registry],
    collect: () => {
      if (this.collectConflicts !== null) this.conflicts.set(this.collectConflicts());
    },
  });
  readonly unverifiedAddresses = new Gauge({
    name: 'nova_garp_unverified_addresses',
    help: 'Addresses of the last verified burst whose upstream router entry could not be shown to point here',
    registers: [this.registry],
  });
  readonly verificationSeconds = new Gauge({
    name: 'nova_garp_verification_seconds',
    help: 'Trigger until every address of the last verified burst was verified through the router (-1 while some are not)',
    registers: [this.registry],
  });
  readonly sendErrors = new Counter({ name: 'nova_garp_send_errors_total', help: 'Rounds cut short by send errors', labelNames: ['interface'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'nova_garp_' });
    this.databaseUp.set(0);
    this.rabbitmqUp.set(0);
  }
}

/** Prometheus text on `GET /metrics`; `host:port`, loopback by default since it is unauthenticated. */
export async function serveMetrics(metrics: Metrics, listen: string): Promise<Server> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (m === null) throw new Error(`--metrics-listen must be host:port, got '${listen}'`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/')) {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  return server;
}
