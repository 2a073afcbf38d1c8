import type { Command } from './command.js';
import { flagOrEnv, intOption, parseCommandArgs, printJson } from './args.js';
import { EXIT, UsageError } from './exit-codes.js';
import { DB_TIMEOUT_MAX_MS, DB_TIMEOUT_MIN_MS } from './flag-checks.js';
import { checkHostKnown, type HostCheck } from './host-check.js';
import { DEFAULT_DB_TIMEOUT_MS, loadInventory } from '../inventory/load-inventory.js';
import type { Target } from '../targets/target.js';
import { boundAddresses, readInterfaces } from '../link/interfaces.js';
import { parseDatabaseUrl } from '../nova/database-url.js';
import { placeRoutingSource } from '../inventory/derive-targets.js';
import { isConfigError, loadSettings, type NovaSettings } from '../nova/settings.js';
import { overridesFromFlags, SETTINGS_HELP, SETTINGS_OPTIONS } from './settings-options.js';
import { DEFAULT_STATE_DIR } from '../inventory/snapshot.js';

const HELP = `Usage: nova-garp plan [options]

Shows what nova-garp would announce for this nova-network host: the routing source IP
(nova.conf), the host's live associated floating IPs and its networks' gateways (nova's
database), one row per target, with whether the address is bound on its interface now.
Reads the database within --db-timeout-ms; when it does not answer, uses the last snapshot in
--state-dir and says so. After a successful read the snapshot is refreshed.

Options:
  --json                    print {"host","source","schema","targets":[{kind,address,interface,bound}],"skipped":[...]}
  --state-dir DIR           snapshot directory (default ${DEFAULT_STATE_DIR}) [NOVA_GARP_STATE_DIR]
  --db-timeout-ms MS        bound on the whole database read (default ${DEFAULT_DB_TIMEOUT_MS}) [NOVA_GARP_DB_TIMEOUT_MS]
                            (--db-timeout, its old name, still works and is deprecated)
  --no-write-snapshot       do not refresh the snapshot after reading the database
${SETTINGS_HELP}
  -h, --help                this help

Values come from nova.conf, then NOVA_GARP_* variables, then flags (last wins).

Exit codes:
  0  the plan was printed (rows nova-garp must skip are listed under "skipped")
  2  usage or configuration error (unreadable nova.conf names the file and line)
  3  the host is unknown to nova's database: no services, floating_ips or networks row names it
     (a typo in --host / nova.conf host?); the plan is printed with a warning
  4  no inventory: the database failed (the message names the URL and why) and there is no
     valid snapshot`;

interface PlanValues {
  json?: boolean;
  'state-dir'?: string;
  'db-timeout-ms'?: string;
  'no-write-snapshot'?: boolean;
  'nova-config'?: string;
  [flag: string]: unknown;
}

export interface PlanRow extends Target {
  /** null when the interfaces could not be read. */
  bound: boolean | null;
}

/** Config problems are the operator's to fix: exit 2 with the file and line. */
function asUsageError(err: unknown): never {
  if (isConfigError(err)) throw new UsageError(err.message);
  throw err;
}

export const planCommand: Command = {
  summary: 'show what would be announced for this host (nova.conf + nova DB, or the snapshot)',
  async run(argv) {
    const { values, help } = parseCommandArgs<PlanValues>('plan', argv, {
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
      'db-timeout-ms': { type: 'string' },
      'no-write-snapshot': { type: 'boolean' },
      ...SETTINGS_OPTIONS,
    }, false, { 'db-timeout': 'db-timeout-ms' });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const dbTimeout = flagOrEnv('db-timeout-ms', values['db-timeout-ms'], 'NOVA_GARP_DB_TIMEOUT_MS');
    const timeoutMs = intOption('db-timeout-ms', dbTimeout.raw, DB_TIMEOUT_MIN_MS, DB_TIMEOUT_MAX_MS, dbTimeout.from) ?? DEFAULT_DB_TIMEOUT_MS;
    const stateDir = values['state-dir'] ?? (process.env.NOVA_GARP_STATE_DIR || DEFAULT_STATE_DIR);

    let settings: NovaSettings;
    try {
      settings = await loadSettings({ novaConfig: values['nova-config'], flags: overridesFromFlags(values) });
      if (settings.databaseUrl !== null) parseDatabaseUrl(settings.databaseUrl);
    } catch (err) {
      asUsageError(err);
    }
    const warnings = [...settings.warnings];

    const loaded = await loadInventory({ settings, stateDir, timeoutMs, writeSnapshot: values['no-write-snapshot'] !== true });
    if (loaded.inventory === null) {
      if (values.json === true) printJson({ host: settings.host, error: loaded.why, database: loaded.database, snapshot: loaded.snapshot });
      process.stderr.write(`nova-garp plan: ${loaded.why}\n`);
      return EXIT.noInventory;
    }
    if (loaded.snapshot.writeError !== undefined) warnings.push(loaded.snapshot.writeError);
    const inv = loaded.inventory;

    let bound: Map<string, Set<string>> | null = null;
    try {
      const links = await readInterfaces();
      bound = new Map([...links].map(([name, link]) => [name, boundAddresses(link)]));
    } catch (err) {
      warnings.push(`cannot read interfaces, bound is unknown: ${(err as Error).message}`);
    }
    const targets = bound === null ? inv.targets : placeRoutingSource(inv.targets, bound);
    const rows: PlanRow[] = targets.map((t) => ({ ...t, bound: bound === null ? null : bound.get(t.interface)?.has(t.address) === true }));

    // Nothing from the database for this host: a quiet host, or a name nova does not know?
    let hostCheck: HostCheck | null = null;
    const fromDb = inv.targets.some((t) => t.kind !== 'routing_source') || inv.skipped.some((s) => !s.source.startsWith('nova.conf '));
    if (inv.source === 'db' && !fromDb && settings.databaseUrl !== null) {
      try {
        hostCheck = await checkHostKnown(settings.databaseUrl, inv.host, timeoutMs);
      } catch (err) {
        warnings.push(`cannot check whether nova knows host '${inv.host}': ${(err as Error).message}`);
      }
    }
    const unknownHost = hostCheck !== null && !hostCheck.known;
    if (unknownHost) {
      const known = hostCheck?.networkHosts ?? [];
      warnings.push(
        `host '${inv.host}' is unknown to nova's database (no services, floating_ips or networks row names it); ` +
          `check --host or nova.conf host${known.length > 0 ? ` (nova-network hosts there: ${known.join(', ')})` : ''}`,
      );
    }

    if (values.json === true) {
      printJson({
        host: inv.host,
        source: inv.source,
        schema: inv.schema,
        schemaVersion: loaded.shape?.version ?? null,
        readAt: inv.readAt,
        ...(loaded.snapshot.used ? { snapshotAgeSeconds: Math.round((loaded.snapshot.ageMs ?? 0) / 1000), databaseError: loaded.database.error } : {}),
        targets: rows,
        skipped: inv.skipped,
        ...(hostCheck === null ? {} : { hostKnown: hostCheck.known }),
        warnings,
      });
    } else {
      process.stdout.write(renderTable(inv.host, loaded.why, rows, inv.source, inv.skipped));
      for (const w of warnings) process.stderr.write(`nova-garp plan: warning: ${w}\n`);
    }
    if (unknownHost && values.json === true) process.stderr.write(`nova-garp plan: warning: ${warnings[warnings.length - 1]}\n`);
    return unknownHost ? EXIT.partial : EXIT.ok;
  },
};

function renderTable(host: string, why: string, rows: PlanRow[], source: string, skipped: { source: string; reason: string }[]): string {
  const header = ['KIND', 'ADDRESS', 'INTERFACE', 'BOUND', 'SOURCE'];
  const body = rows.map((r) => [r.kind, r.address, r.interface, r.bound === null ? '?' : r.bound ? 'yes' : 'no', source]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [`host ${host}: ${rows.length} target(s), ${why}`, '', line(header), ...body.map(line)];
  const unbound = rows.filter((r) => r.bound === false).length;
  if (unbound > 0) out.push('', `${unbound} target(s) not bound on their interface now: nova-garp will not announce them until they are.`);
  if (skipped.length > 0) {
    out.push('', `skipped (${skipped.length}):`);
    for (const s of skipped) out.push(`  ${s.source}: ${s.reason}`);
  }
  return out.join('\n') + '\n';
}
