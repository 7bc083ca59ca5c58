// A pass-through HTTP proxy in front of the authorization server that can make token responses
// slow: while slowness is on, the server's real response to a token request is held back until
// a random delay has passed since the request arrived, so the token has aged on arrival. It sits
// behind the fault proxy (operator → fault proxy → delay proxy → server) and, like it, rewrites
// the issuer's origin in discovery documents to its own, so the chain stays transparent.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DelayProxy {
  readonly url: URL;
  /** Token responses are delayed by a random time in [minMs, maxMs] until `slow(undefined)`. */
  slow(range: { minMs: number; maxMs: number } | undefined): void;
  /** Token requests whose response was held back. */
  delayed(): number;
  close(): Promise<void>;
}

export async function startDelayProxy(
  target: URL,
  tokenPath: string,
  random: () => number,
): Promise<DelayProxy> {
  const agent = new Agent({ keepAlive: true });
  let range: { minMs: number; maxMs: number } | undefined;
  let delayed = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const arrived = Date.now();
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const discovery = path.includes('/.well-known/');
    const delayMs =
      req.method === 'POST' && path === tokenPath && range
        ? range.minMs + random() * (range.maxMs - range.minMs)
        : 0;
    if (delayMs > 0) delayed += 1;
    const headers: OutgoingHttpHeaders = { ...req.headers };
    if (discovery) delete headers['accept-encoding'];
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
      (up) => {
        if (!discovery && delayMs === 0) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.on('error', () => res.destroy());
          up.pipe(res);
          return;
        }
        readBody(up)
          .then((body) => {
            const out = discovery && up.statusCode === 200 ? rewrite(body, target.origin, url.origin) : body;
            const send = () => {
              const { 'content-length': _, 'transfer-encoding': __, ...rest } = up.headers;
              res.writeHead(up.statusCode ?? 502, { ...rest, 'content-length': out.length });
              res.end(out);
            };
            const wait = arrived + delayMs - Date.now();
            if (wait <= 0) return send();
            const timer = setTimeout(() => {
              timers.delete(timer);
              send();
            }, wait);
            timers.add(timer);
          })
          .catch(() => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = new URL(`http://127.0.0.1:${port}`);

  return {
    url,
    slow(next) {
      range = next;
    },
    delayed: () => delayed,
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}

function rewrite(body: Buffer, from: string, to: string): Buffer {
  try {
    return Buffer.from(JSON.stringify(replaceOrigin(JSON.parse(body.toString()) as unknown, from, to)));
  } catch {
    return body;
  }
}

function replaceOrigin(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string')
    return value === from || value.startsWith(`${from}/`) ? to + value.slice(from.length) : value;
  if (Array.isArray(value)) return value.map((v) => replaceOrigin(v, from, to));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceOrigin(v, from, to)]));
  }
  return value;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
