// "No secret leaves the Secret", checked over every test that runs an operator: the test
// authorization servers register every client secret, private key and access token they hand
// out; when a test operator stops, everything it made visible — its log lines, a metrics
// scrape, the events, and the status of every TokenRequest and issuer in its namespaces — is
// searched for all of them. A hit fails the test, naming where (never the value).
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { group, Plural, version } from '../../src/api/index.ts';

const secrets = new Set<string>();

/** Registers a value that must never appear outside a managed Secret. */
export function registerSecret(value: string): void {
  if (value.length < 8) return; // too short to search for without false alarms
  secrets.add(value);
  // A PEM key can leak line by line: register its base64 body lines too.
  if (value.includes('-----BEGIN')) {
    for (const line of value.split('\n'))
      if (/^[A-Za-z0-9+/=]{40,}$/.test(line.trim())) secrets.add(line.trim());
  }
}

export function registeredSecretCount(): number {
  return secrets.size;
}

/** The places in `haystacks` (label → text) that contain a registered secret. */
export function findLeaks(haystacks: Iterable<[string, string]>): string[] {
  const found: string[] = [];
  for (const [where, text] of haystacks) {
    for (const secret of secrets) {
      if (text.includes(secret)) {
        found.push(where);
        break;
      }
    }
  }
  return found;
}

/** Collects what an operator exposed in `namespaces` (events, statuses) besides its logs. */
export async function exposedInCluster(
  kc: KubeConfig,
  namespaces: readonly string[],
): Promise<[string, string][]> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const out: [string, string][] = [];
  for (const namespace of namespaces) {
    const events = await core.listNamespacedEvent({ namespace });
    for (const e of events.items)
      out.push([`event ${namespace}/${e.metadata?.name}`, `${e.reason} ${e.message}`]);
    for (const plural of [Plural.TokenRequest, Plural.TokenIssuer]) {
      const list = (await custom.listNamespacedCustomObject({ group, version, namespace, plural })) as {
        items: { metadata?: { name?: string }; status?: unknown }[];
      };
      for (const item of list.items) {
        out.push([`${plural} ${namespace}/${item.metadata?.name} status`, JSON.stringify(item.status ?? {})]);
      }
    }
  }
  const cluster = (await custom.listClusterCustomObject({
    group,
    version,
    plural: Plural.ClusterTokenIssuer,
  })) as {
    items: { metadata?: { name?: string }; status?: unknown }[];
  };
  for (const item of cluster.items) {
    out.push([`clustertokenissuer ${item.metadata?.name} status`, JSON.stringify(item.status ?? {})]);
  }
  return out;
}
