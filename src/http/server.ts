// The operator's HTTP endpoints: /metrics on one address, /healthz and /readyz on another
// (they may be the same). Nothing here reveals more than the metrics already do.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HostPort } from '../config/config.ts';

export interface Probes {
  /** The process is alive and its loops are turning. */
  healthy(): boolean;
  /** Caches are synced and the operator can act. */
  ready(): boolean;
}

export interface HttpEndpoints {
  /** Bound addresses (port 0 resolves to the chosen port). */
  readonly metrics: HostPort;
  readonly health: HostPort;
  close(): Promise<void>;
}

export async function startHttpEndpoints(
  addresses: { metrics: HostPort; health: HostPort },
  registry: Registry,
  probes: Probes,
): Promise<HttpEndpoints> {
  const handler = (paths: ReadonlySet<string>) =>
    createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!paths.has(path) || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      if (path === '/metrics') {
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          () => res.writeHead(500).end(),
        );
        return;
      }
      const ok = path === '/healthz' ? probes.healthy() : probes.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    });
  const same =
    addresses.metrics.host === addresses.health.host && addresses.metrics.port === addresses.health.port;
  const servers: Server[] = [];
  const listen = async (at: HostPort, paths: string[]): Promise<HostPort> => {
    const server = handler(new Set(paths));
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, resolve);
    });
    return { host: at.host, port: (server.address() as AddressInfo).port };
  };
  const metrics = await listen(addresses.metrics, same ? ['/metrics', '/healthz', '/readyz'] : ['/metrics']);
  const health = same ? metrics : await listen(addresses.health, ['/healthz', '/readyz']);
  return {
    metrics,
    health,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
