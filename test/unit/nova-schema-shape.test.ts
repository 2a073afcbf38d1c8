import { describe, expect, it } from 'vitest';
import { releaseForVersion, SchemaError, shapeFromCatalog, type CatalogColumn } from '../../src/nova/schema-shape.js';

const col = (table: string, column: string, dataType = 'varchar', columnType = 'varchar(255)'): CatalogColumn => ({ table, column, dataType, columnType });
const base = (deletedType: [string, string]): CatalogColumn[] => [
  ...['id', 'address', 'host', 'fixed_ip_id'].map((c) => col('floating_ips', c)),
  col('floating_ips', 'deleted', ...deletedType),
  ...['id', 'host', 'bridge', 'gateway', 'gateway_v6'].map((c) => col('networks', c)),
];

describe('schema shape', () => {
  it('names releases by migrate_version', () => {
    expect([14, 46, 82, 133, 150, 161, 334, 340, 400].map(releaseForVersion)).toEqual(['cactus', 'diablo', 'essex', 'folsom', 'grizzly', 'grizzly', 'newton', 'ocata', 'post-ocata']);
    expect(releaseForVersion(null)).toBe('unknown');
  });

  it('tells Boolean from Integer deleted and finds optional columns', () => {
    const cactus = shapeFromCatalog(base(['tinyint', 'tinyint(1)']), 14);
    expect(cactus).toMatchObject({ release: 'cactus', deleted: 'boolean', floatingIps: { interface: false }, networks: { dhcpServer: false, gatewayV6: true, multiHost: false } });
    const newton = shapeFromCatalog([...base(['int', 'int(11)']), col('FLOATING_IPS', 'Interface'), col('networks', 'dhcp_server'), col('networks', 'multi_host', 'tinyint', 'tinyint(1)')], 334);
    expect(newton).toMatchObject({ release: 'newton', deleted: 'integer', floatingIps: { interface: true }, networks: { dhcpServer: true, multiHost: true } });
  });

  it('says where each release binds floating IPs, and finds the Juno networks columns', () => {
    const withIface = [...base(['tinyint', 'tinyint(1)']), col('floating_ips', 'interface')];
    expect(shapeFromCatalog(base(['tinyint', 'tinyint(1)']), 46).floatingIps.interfaceRule).toBe('public_interface');
    expect(shapeFromCatalog(withIface, 82).floatingIps.interfaceRule).toBe('row');
    expect(shapeFromCatalog(withIface, 133).floatingIps.interfaceRule).toBe('public_interface-or-row');
    expect(shapeFromCatalog(withIface, null).floatingIps.interfaceRule).toBe('public_interface-or-row');
    const juno = shapeFromCatalog([...base(['int', 'int(11)']), ...['dhcp_server', 'enable_dhcp', 'share_address', 'mtu'].map((c) => col('networks', c))], 254);
    expect(juno).toMatchObject({ release: 'juno', networks: { dhcpServer: true, enableDhcp: true, shareAddress: true } });
    const icehouse = shapeFromCatalog(base(['int', 'int(11)']), 233);
    expect(icehouse).toMatchObject({ release: 'icehouse', deleted: 'integer', networks: { dhcpServer: false, enableDhcp: false, shareAddress: false } });
  });

  it('refuses a database without nova-network tables', () => {
    expect(() => shapeFromCatalog([], null)).toThrowError(SchemaError);
    expect(() => shapeFromCatalog(base(['int', 'int']).filter((c) => c.column !== 'bridge'), 334)).toThrowError(/networks lacks column\(s\) bridge/);
  });
});
