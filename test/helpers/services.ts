import { basename } from 'node:path';
import { waitFor } from './wait-for.js';

/**
 * Where the integration suites find MySQL/MariaDB and RabbitMQ.
 *
 * - `containers`: testcontainers starts the images docker/build-images builds
 *   (nova-garp-mariadb, nova-garp-rabbitmq), once per test file, with the container port published
 *   on a random host port of 127.0.0.1's host (never 3306 or 5672); the file stops it in afterAll.
 *   Ryuk is off (its image cannot be pulled without a registry), so stopping is explicit.
 * - `local`: the machine's MariaDB on 127.0.0.1:3306 and RabbitMQ on 127.0.0.1:5672.
 *
 * NOVA_GARP_TEST_SERVICES=containers|local forces one. Unset, containers are used when a Docker
 * engine answers and the image exists, the machine's services otherwise. Every choice is printed,
 * with container ids and ports, so a run's output shows what the suites ran against.
 */
export type ServiceMode = 'containers' | 'local';

export interface ServiceChoice {
  mode: ServiceMode | null;
  /** Why this mode (or, with mode null, why the forced mode cannot run). */
  why: string;
}

export interface ServiceContainer {
  id: string;
  host: string;
  port: number;
  exec(argv: string[]): Promise<{ exitCode: number; output: string }>;
  stop(): Promise<void>;
}

// testcontainers reads these when it is used: no Ryuk (no registry to pull it from), and the host
// named directly (/.dockerenv exists on these machines, which otherwise makes testcontainers run an
// alpine container to find the gateway).
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

/** The test file being collected, for the printed lines (vitest sets VITEST_POOL_ID, not the file). */
function testFile(): string {
  const state = (globalThis as { __vitest_worker__?: { filepath?: string } }).__vitest_worker__;
  return state?.filepath === undefined ? `pid ${process.pid}` : basename(state.filepath);
}

export function report(line: string): void {
  console.log(`[test services] ${testFile()}: ${line}`);
}

async function engineAnswers(image: string): Promise<string | null> {
  try {
    const { getContainerRuntimeClient, ImageName } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    if (!(await client.image.exists(ImageName.fromString(image)))) {
      return `the Docker engine answers but image ${image} is missing (build it with docker/build-images)`;
    }
    return null;
  } catch (err) {
    return `no Docker engine answers (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Decides where a service comes from; `what` names it in the printed line. */
export async function chooseServices(image: string): Promise<ServiceChoice> {
  const forced = process.env.NOVA_GARP_TEST_SERVICES;
  if (forced !== undefined && forced !== '' && forced !== 'containers' && forced !== 'local') {
    return { mode: null, why: `NOVA_GARP_TEST_SERVICES must be containers or local, not '${forced}'` };
  }
  if (forced === 'local') return { mode: 'local', why: 'NOVA_GARP_TEST_SERVICES=local' };
  const noEngine = await engineAnswers(image);
  if (forced === 'containers') {
    return noEngine === null ? { mode: 'containers', why: 'NOVA_GARP_TEST_SERVICES=containers' } : { mode: null, why: `NOVA_GARP_TEST_SERVICES=containers, but ${noEngine}` };
  }
  return noEngine === null ? { mode: 'containers', why: 'a Docker engine answers' } : { mode: 'local', why: noEngine };
}

export interface ContainerSpec {
  image: string;
  port: number;
  env?: Record<string, string>;
  /** Logged by the server once it accepts clients. */
  ready: RegExp;
}

/** Starts one container for this test file; its port is published on a random host port. */
export async function startContainer(spec: ContainerSpec): Promise<ServiceContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const t0 = performance.now();
  const c = await new GenericContainer(spec.image)
    .withExposedPorts(spec.port)
    .withEnvironment(spec.env ?? {})
    .withLabels({ 'nova-garp.test': testFile() })
    .withWaitStrategy(Wait.forLogMessage(spec.ready))
    .withStartupTimeout(90_000)
    .start();
  const started: ServiceContainer = {
    id: c.getId(),
    host: c.getHost(),
    port: c.getMappedPort(spec.port),
    exec: async (argv) => {
      const r = await c.exec(argv);
      return { exitCode: r.exitCode, output: r.output };
    },
    stop: async () => {
      await c.stop({ timeout: 5_000 });
      report(`stopped container ${c.getId().slice(0, 12)} (${spec.image})`);
    },
  };
  report(`container ${started.id.slice(0, 12)} (${spec.image}) port ${spec.port} published on ${started.host}:${started.port}, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return started;
}

/** Retries `attempt` until it resolves or `timeoutMs` passes (a server may log "ready" a moment before it is). */
export async function until<T>(what: string, attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  // Boxed: an attempt that resolves with nothing (a closed connection) has succeeded all the same.
  return (await waitFor(async () => ({ value: await attempt() }), { what, timeoutMs, everyMs: 200 })).value;
}
