import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { chooseServices, report, startContainer, until } from './services.js';

/**
 * The real broker for tests: a nova-garp-rabbitmq container started by testcontainers for this
 * test file, or the machine's RabbitMQ on 127.0.0.1:5672 (guest/guest); services.ts decides which
 * (NOVA_GARP_TEST_SERVICES). Each test uses exchange names of its own (`uniqueExchange()`). A file
 * that uses it calls stopTestBroker() in afterAll.
 */
export const RABBITMQ_IMAGE = 'nova-garp-rabbitmq';

export interface Broker {
  host: string;
  port: number;
  user: string;
  password: string;
  url: string;
  /** Closes every client connection on the broker, as an operator or a broker restart would. */
  closeAllConnections(): Promise<void>;
  stop?: () => Promise<void>;
}

let brokerPromise: Promise<Broker> | null = null;
const exec = promisify(execFile);

async function start(): Promise<Broker> {
  const choice = await chooseServices(RABBITMQ_IMAGE);
  if (choice.mode === null) throw new Error(choice.why);
  if (choice.mode === 'containers') {
    const c = await startContainer({ image: RABBITMQ_IMAGE, port: 5672, ready: /Server startup complete/ });
    const b: Broker = {
      host: c.host,
      port: c.port,
      user: 'guest',
      password: 'guest',
      url: `amqp://guest:guest@${c.host}:${c.port}/%2F`,
      closeAllConnections: async () => {
        const r = await c.exec(['rabbitmqctl', 'close_all_connections', 'nova-garp test']);
        if (r.exitCode !== 0) throw new Error(`rabbitmqctl close_all_connections in ${c.id.slice(0, 12)}: exit ${r.exitCode}: ${r.output}`);
      },
      stop: () => c.stop(),
    };
    try {
      await until('RabbitMQ container accepts guest over AMQP', async () => (await amqp.connect(b.url, { timeout: 3000 })).close());
    } catch (err) {
      await c.stop();
      throw err;
    }
    report(`RabbitMQ tests use the broker in container ${c.id.slice(0, 12)} at ${c.host}:${c.port} (${choice.why})`);
    return b;
  }
  report(`RabbitMQ tests use the machine's broker at 127.0.0.1:5672 (local: ${choice.why})`);
  return {
    host: '127.0.0.1',
    port: 5672,
    user: 'guest',
    password: 'guest',
    url: 'amqp://guest:guest@127.0.0.1:5672/%2F',
    closeAllConnections: async () => void (await exec('rabbitmqctl', ['close_all_connections', 'nova-garp test'], { timeout: 60_000 })),
  };
}

export function broker(): Promise<Broker> {
  brokerPromise ??= start();
  return brokerPromise;
}

/** null when a broker answers, else why not (for requirement()). */
export async function missingBroker(): Promise<string | null> {
  try {
    const b = await broker();
    const c = await amqp.connect(b.url, { timeout: 3000 });
    await c.close();
    return null;
  } catch (err) {
    return `no RabbitMQ (${(err as Error).message})`;
  }
}

/** Stops the container started for this test file (no-op for the machine's broker). */
export async function stopTestBroker(): Promise<void> {
  const b = await brokerPromise?.catch(() => null);
  await b?.stop?.();
  brokerPromise = null;
}

export function uniqueExchange(): string {
  return `ngt-${randomBytes(4).toString('hex')}`;
}

export async function connect(): Promise<ChannelModel> {
  return amqp.connect((await broker()).url, { timeout: 5000 });
}
