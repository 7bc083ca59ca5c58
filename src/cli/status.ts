// `token-renewer status`: TokenRequests at a glance, with the reason when one is not Ready.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ConditionType, group, Plural, type TokenRequest, version } from '../api/index.ts';
import { findCondition } from '../renewal/index.ts';

export async function printStatus(kubeConfig: KubeConfig, namespace: string | undefined): Promise<void> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const common = { group, version, plural: Plural.TokenRequest };
  const list = (
    namespace
      ? await api.listNamespacedCustomObject({ ...common, namespace })
      : await api.listClusterCustomObject(common)
  ) as { items: TokenRequest[] };
  const rows = [['NAMESPACE', 'NAME', 'READY', 'REASON', 'SECRET', 'EXPIRES', 'RENEWS', 'FAILURES']];
  for (const tr of list.items) {
    const ready = findCondition(tr.status?.conditions, ConditionType.Ready);
    rows.push([
      tr.metadata.namespace ?? '',
      tr.metadata.name ?? '',
      ready?.status ?? 'Unknown',
      ready?.reason ?? '',
      tr.status?.secretName ?? '',
      tr.status?.expirationTime ?? '',
      tr.status?.renewalTime ?? '',
      String(tr.status?.failedAttempts ?? 0),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}
