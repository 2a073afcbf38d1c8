import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';

/**
 * The real broker for tests: the machine's RabbitMQ on 127.0.0.1:5672 (guest/guest), or a
 * RabbitMQ container from testcontainers when a Docker engine answers. Each test uses exchange
 * names of its own (`uniqueExchange()`).
 */
export interface Broker {
  host: string;
  port: number;
  user: string;
  password: string;
  url: string;
  /** Closes every client connection on the broker, as an operator or a broker restart would. */
  closeAllConnections(): Promise<void>;
}

let brokerPromise: Promise<Broker> | null = null;
const exec = promisify(execFile);

async function dockerAnswers(): Promise<boolean> {
  try {
    await exec('docker', ['info'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function start(): Promise<Broker> {
  if (await dockerAnswers()) {
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const c = await new RabbitMQContainer('rabbitmq:3-management').start();
    const url = c.getAmqpUrl();
    const u = new URL(url);
    return {
      host: u.hostname,
      port: Number(u.port),
      user: 'guest',
      password: 'guest',
      url,
      closeAllConnections: async () => void (await c.exec(['rabbitmqctl', 'close_all_connections', 'test'])),
    };
  }
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

export function uniqueExchange(): string {
  return `ngt-${randomBytes(4).toString('hex')}`;
}

export async function connect(): Promise<ChannelModel> {
  return amqp.connect((await broker()).url, { timeout: 5000 });
}
