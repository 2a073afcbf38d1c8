import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { redactAmqpUrl } from './broker-url.js';

export const REANNOUNCE_FANOUT = 'nova-garp_fanout';
export const reannounceKey = (host: string): string => `nova-garp.${host}`;

export interface NovaBusOptions {
  urls: string[];
  exchange: string;
  /** Routing keys to copy from nova's topic exchange, e.g. `network.<host>`, `nova-garp.<host>`. */
  routingKeys: string[];
  connectTimeoutMs?: number;
  onMessage: (body: Buffer, routingKey: string, exchange: string) => void;
  onState: (up: boolean, detail: string) => void;
}

/**
 * A consumer of copies of nova's messages. It never touches nova's own queues: it declares an
 * exclusive, auto-delete, server-named queue and binds it to nova's topic exchange with the
 * routing keys it cares about, so nova-network still receives every message. It never publishes
 * replies. Connection loss is retried with capped exponential backoff, forever, in the background.
 */
export class NovaBus {
  private model: ChannelModel | null = null;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  queue: string | null = null;

  constructor(private readonly opts: NovaBusOptions) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const url = this.opts.urls[this.attempt % this.opts.urls.length]!;
    this.attempt++;
    try {
      const model = await amqp.connect(url, { timeout: this.opts.connectTimeoutMs ?? 5000 });
      if (this.stopped) {
        await model.close().catch(() => undefined);
        return;
      }
      this.model = model;
      model.on('error', () => undefined); // 'close' follows and drives the reconnect
      model.on('close', () => {
        this.model = null;
        this.queue = null;
        this.opts.onState(false, 'connection closed');
        this.schedule();
      });
      await this.subscribe(model);
      this.attempt = 0;
      this.opts.onState(true, `consuming ${this.opts.routingKeys.join(', ')} on ${this.opts.exchange} via ${redactAmqpUrl(url)}`);
    } catch (err) {
      this.opts.onState(false, `${redactAmqpUrl(url)}: ${(err as Error).message}`);
      if (this.model !== null) {
        await this.model.close().catch(() => undefined);
      } else {
        this.schedule();
      }
    }
  }

  private async subscribe(model: ChannelModel): Promise<void> {
    await checkNovaExchange(model, this.opts.exchange);
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    // The broker can close a channel and keep the connection (queue deleted by an operator,
    // policy change): without the consumer the connection is useless, so close it and reconnect.
    ch.on('close', () => {
      if (!this.stopped && this.model === model) void model.close().catch(() => undefined);
    });
    await ch.assertExchange(REANNOUNCE_FANOUT, 'fanout', { durable: false, autoDelete: false });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    for (const key of this.opts.routingKeys) await ch.bindQueue(queue, this.opts.exchange, key);
    await ch.bindQueue(queue, REANNOUNCE_FANOUT, '');
    await ch.consume(
      queue,
      (msg: ConsumeMessage | null) => {
        if (msg !== null) this.opts.onMessage(msg.content, msg.fields.routingKey, msg.fields.exchange);
      },
      { noAck: true, exclusive: true },
    );
    this.queue = queue;
  }

  private schedule(): void {
    if (this.stopped || this.timer !== null) return;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.attempt, 6)) * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const m = this.model;
    this.model = null;
    if (m !== null) await m.close().catch(() => undefined);
  }
}

/**
 * The exchange is nova's: nova-network declares it with its own durability setting
 * (`rabbit_durable_queues` / `amqp_durable_queues`), and a declaration with other flags would make
 * nova's own declare fail. So it is only ever checked, passively; while it does not exist the
 * connection attempt fails and is retried with backoff, like any other broker trouble.
 */
async function checkNovaExchange(model: ChannelModel, name: string): Promise<void> {
  const probe: Channel = await model.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkExchange(name);
  } catch {
    throw new Error(`exchange '${name}' does not exist on the broker yet (nova declares it; is control_exchange right?)`);
  }
  await probe.close().catch(() => undefined);
}

/** Publishes one message (the remote reannounce path); opens and closes its own connection. */
export async function publishOnce(url: string, exchange: string, exchangeType: 'topic' | 'fanout', routingKey: string, body: unknown, timeoutMs = 5000): Promise<void> {
  const model = await amqp.connect(url, { timeout: timeoutMs });
  try {
    if (exchangeType === 'topic') await checkNovaExchange(model, exchange);
    const ch = await model.createConfirmChannel();
    if (exchangeType === 'fanout') await ch.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
    ch.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), { contentType: 'application/json' });
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await model.close().catch(() => undefined);
  }
}
