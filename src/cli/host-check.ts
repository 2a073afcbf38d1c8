import { sql } from 'kysely';
import { describeDbError, openNovaDb, withDeadline } from '../nova/db-connection.js';
import { parseDatabaseUrl } from '../nova/database-url.js';

/**
 * Does nova's database know this host at all? The inventory only sees the host's live associated
 * floating IPs and live networks, so an empty inventory means either "a quiet network host" or "a
 * host name nova never heard of" (`plan --host typo`). nova-network registers itself in
 * `services` on its first start, and its rows in `floating_ips` and `networks` carry the host
 * whatever their state: a host with none of these is unknown.
 */

export interface HostCheck {
  known: boolean;
  /** Where the host was found (`services`, `floating_ips`, `networks`); empty when unknown. */
  foundIn: string[];
  /** nova-network hosts the database does know (for "did you mean"), at most 10. */
  networkHosts: string[];
}

export async function checkHostKnown(databaseUrl: string, host: string, timeoutMs: number): Promise<HostCheck> {
  const handle = openNovaDb(parseDatabaseUrl(databaseUrl), { connectTimeoutMs: timeoutMs, readOnly: true, statementTimeoutMs: timeoutMs });
  const work = async (): Promise<HostCheck> => {
    const foundIn: string[] = [];
    for (const table of ['services', 'floating_ips', 'networks'] as const) {
      const row = await handle.db.selectFrom(table).select(sql<number>`1`.as('one')).where('host', '=', host).limit(1).executeTakeFirst();
      if (row !== undefined) foundIn.push(table);
    }
    const hosts =
      foundIn.length > 0
        ? []
        : (await handle.db.selectFrom('services').select('host').distinct().where('binary', '=', 'nova-network').where('host', 'is not', null).orderBy('host').limit(10).execute())
            .map((r) => r.host)
            .filter((h): h is string => h !== null);
    return { known: foundIn.length > 0, foundIn, networkHosts: hosts };
  };
  try {
    return await withDeadline(work(), timeoutMs, 'checking the host name', () => handle.destroy());
  } catch (err) {
    throw new Error(describeDbError(err), { cause: err });
  } finally {
    void handle.close();
  }
}
