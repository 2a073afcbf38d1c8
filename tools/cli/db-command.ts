import type { Command } from '../../src/cli/command.js';
import { intOption, parseCommandArgs, printJson } from '../../src/cli/args.js';
import { EXIT, UsageError } from '../../src/cli/exit-codes.js';
import { ALL_SHAPES, isAnyShape, migrateToShape, SHAPE_RELEASES, SHAPE_VERSION, type AnyShape } from '../../migrations/index.js';
import { describeDbError, openNovaDb, type NovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl, type DatabaseUrl } from '../../src/nova/database-url.js';
import { detectSchema } from '../../src/nova/schema-shape.js';
import { seedNova, SeedError } from '../seed/seed.js';
import { createDatabase } from '../seed/nova-rows.js';

const HELP = `Usage: nova-garp db <migrate|seed|schema> [options]

Creates and fills nova-shaped MySQL/MariaDB databases for the lab, the benchmarks and trials.
Never point migrate or seed at a production nova database: seed writes rows.

  nova-garp db migrate --shape ${ALL_SHAPES.join('|')} --url URL [--create-database] [--json]
      Creates nova's network tables as one release left them, with a migrate_version row; one
      shape per set of releases that differ in what nova-garp reads:
${ALL_SHAPES.map((s) => `        ${s.padEnd(8)} version ${String(SHAPE_VERSION[s]).padEnd(4)} ${SHAPE_RELEASES[s]}`).join('\n')}
      Boolean deleted up to folsom, Integer from grizzly. Running it again is a no-op.

  nova-garp db seed --url URL --host H --floating-ips N --networks M [--shape SHAPE]
                    [--odd-rows] [--replace] [--json]
      Inserts N floating IPs and M networks over several hosts: H's live associated floating
      IPs, other hosts' rows, deleted and unassociated floating IPs, unclaimed and multi_host
      networks (diablo on), IPv6 gateways, interface overrides (folsom on) and distinct
      dhcp_server (newton). --shape defaults to the shape the database's columns have.
      --odd-rows adds rows nova-garp must skip (bad addresses, empty bridge).
      Prints the rows written and the targets 'nova-garp plan --host H' must show.

  nova-garp db schema --url URL [--json]
      Shows the detected schema shape (release, version, deleted type, optional columns).

Options:
  --url URL            mysql://user:password@host[:port]/database (also mysql+pymysql://,
                       mysql+mysqldb://) [NOVA_GARP_DATABASE_URL]
  --shape SHAPE        ${ALL_SHAPES.join(', ')}
  --create-database    migrate: CREATE DATABASE IF NOT EXISTS first
  --timeout MS         connect timeout (default 5000)
  --json               machine-readable result
  -h, --help           this help

Exit codes: 0 ok, 1 database or migration failure, 2 usage error.`;

interface DbValues {
  url?: string;
  shape?: string;
  host?: string;
  'floating-ips'?: string;
  networks?: string;
  'odd-rows'?: boolean;
  replace?: boolean;
  'create-database'?: boolean;
  timeout?: string;
  json?: boolean;
}

function requireUrl(values: DbValues): DatabaseUrl {
  const raw = values.url ?? process.env.NOVA_GARP_DATABASE_URL;
  if (raw === undefined || raw === '') throw new UsageError("--url is required; give --url mysql://user:password@host/database or set NOVA_GARP_DATABASE_URL");
  try {
    return parseDatabaseUrl(raw);
  } catch (err) {
    const msg = (err as Error).message;
    throw new UsageError(`--url: ${msg}${msg.includes(';') ? '' : '; give mysql://user:password@host[:port]/database'}`);
  }
}

function requireShape(values: DbValues, required: boolean): AnyShape | undefined {
  if (values.shape === undefined) {
    if (required) throw new UsageError(`--shape is required: ${ALL_SHAPES.join(', ')}`);
    return undefined;
  }
  if (!isAnyShape(values.shape)) throw new UsageError(`--shape must be one of ${ALL_SHAPES.join(', ')}, got '${values.shape}'`);
  return values.shape;
}

async function withDb<T>(url: DatabaseUrl, timeoutMs: number, work: (h: NovaDb) => Promise<T>): Promise<T> {
  const handle = openNovaDb(url, { connectTimeoutMs: timeoutMs, readOnly: false });
  try {
    return await work(handle);
  } finally {
    await handle.close();
  }
}

function fail(url: DatabaseUrl, err: unknown): number {
  process.stderr.write(`nova-garp db: ${url.redacted}: ${describeDbError(err)}\n`);
  return EXIT.failure;
}

export const dbCommand: Command = {
  summary: 'create (migrate) or seed a nova-shaped database for the lab, benchmarks and trials',
  async run(argv) {
    const { values, positionals, help } = parseCommandArgs<DbValues>(
      'db',
      argv,
      {
        url: { type: 'string' },
        shape: { type: 'string' },
        host: { type: 'string' },
        'floating-ips': { type: 'string' },
        networks: { type: 'string' },
        'odd-rows': { type: 'boolean' },
        replace: { type: 'boolean' },
        'create-database': { type: 'boolean' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    const [action, ...extra] = positionals;
    if (help || action === 'help') {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    if (action === undefined) throw new UsageError("missing action; give one of migrate, seed or schema (see 'nova-garp db --help')");
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'; give one action and options only (see 'nova-garp db --help')`);
    const timeoutMs = intOption('timeout', values.timeout, 100, 600_000) ?? 5000;

    switch (action) {
      case 'migrate': {
        const shape = requireShape(values, true) as AnyShape;
        const url = requireUrl(values);
        try {
          if (values['create-database'] === true) await createDatabase(url, timeoutMs);
          const outcome = await withDb(url, timeoutMs, (h) => migrateToShape(h.db, shape));
          const result = { url: url.redacted, shape, version: SHAPE_VERSION[shape], applied: outcome.applied, alreadyCurrent: outcome.alreadyCurrent };
          if (values.json === true) printJson(result);
          else process.stdout.write(outcome.alreadyCurrent ? `${url.redacted}: already ${shape}-shaped (version ${result.version})\n` : `${url.redacted}: created ${shape} tables, migrate_version ${result.version} (${outcome.applied.join(', ')})\n`);
          return EXIT.ok;
        } catch (err) {
          return fail(url, err);
        }
      }
      case 'seed': {
        const url = requireUrl(values);
        const shape = requireShape(values, false);
        if (values.host === undefined || values.host === '') throw new UsageError('--host is required; give the nova host whose targets the rows describe');
        const floatingIps = intOption('floating-ips', values['floating-ips'], 0, 1_000_000);
        const networks = intOption('networks', values.networks, 1, 3800);
        if (floatingIps === undefined) throw new UsageError('--floating-ips is required; give the number of floating IP rows, e.g. --floating-ips 100');
        if (networks === undefined) throw new UsageError('--networks is required; give the number of networks, e.g. --networks 2');
        try {
          const summary = await withDb(url, timeoutMs, (h) =>
            seedNova(h.db, { host: values.host as string, floatingIps, networks, shape, oddRows: values['odd-rows'] === true, replace: values.replace === true }),
          );
          if (values.json === true) printJson({ url: url.redacted, ...summary });
          else {
            const r = summary.rows;
            const e = summary.expected;
            process.stdout.write(
              `${url.redacted}: seeded ${summary.shape} rows: ${r.floatingIps} floating IPs, ${r.networks} networks, ${r.fixedIps} fixed IPs, ${r.instances} instances, ${r.services} services\n` +
                `expected for host ${summary.host}: ${e.floating} floating (${e.floatingOnOverride} on an interface override), ${e.gateway} gateway, ${e.gatewayV6} gateway_v6, ${e.skipped} skipped, plus the routing source IP\n`,
            );
          }
          return EXIT.ok;
        } catch (err) {
          if (err instanceof SeedError) throw new UsageError(err.message, EXIT.failure);
          return fail(url, err);
        }
      }
      case 'schema': {
        const url = requireUrl(values);
        try {
          const started = performance.now();
          const shape = await withDb(url, timeoutMs, (h) => detectSchema(h.db));
          const ms = performance.now() - started;
          if (values.json === true) printJson({ url: url.redacted, ...shape, elapsedMs: Math.round(ms * 10) / 10 });
          else
            process.stdout.write(
              `${url.redacted}: ${shape.release} (migrate_version ${shape.version ?? 'none'}), deleted ${shape.deleted}, ` +
                `floating_ips.interface ${shape.floatingIps.interface ? 'yes' : 'no'}, networks.dhcp_server ${shape.networks.dhcpServer ? 'yes' : 'no'}, ` +
                `gateway_v6 ${shape.networks.gatewayV6 ? 'yes' : 'no'}, multi_host ${shape.networks.multiHost ? 'yes' : 'no'}\n`,
            );
          return EXIT.ok;
        } catch (err) {
          return fail(url, err);
        }
      }
      default:
        throw new UsageError(`unknown action '${action}'; give one of migrate, seed or schema (see 'nova-garp db --help')`);
    }
  },
};
