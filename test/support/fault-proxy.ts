// An HTTP reverse proxy in front of the test authorization server that makes chosen token
// requests fail in chosen ways. Everything else passes through untouched, except discovery
// documents, whose URLs are rewritten to the proxy so discovery through it keeps clients on it.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'oauthError'; error: string; errorDescription?: string; status?: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'nonJson' }
  | { kind: 'missingAccessToken' }
  | { kind: 'expiredToken' };

export interface FaultProxyOptions {
  /** Token endpoint path on the target; discovered from its openid-configuration when omitted. */
  tokenPath?: string;
  /**
   * Turns a real access token into an already-expired one (e.g. `AuthServer.expireToken`).
   * Required for the `expiredToken` fault: `expires_in: 0` alone does not make a JWT expired.
   */
  expireToken?: (accessToken: string) => Promise<string>;
}

export interface FaultProxy {
  /** The proxy's origin; use it where the target's issuer or origin would go. */
  readonly url: URL;
  /** Queues `n` more failures of this kind for the next token-endpoint requests. */
  failNext(n: number, fault: Fault): void;
  /** Token-endpoint requests that reached the proxy, faulted or forwarded. */
  tokenRequests(): number;
  /** When each of those requests arrived (`Date.now()`), in order. */
  tokenRequestTimes(): readonly number[];
  pendingFaults(): number;
  /** Drops every queued fault: the following requests are forwarded. */
  clearFaults(): void;
  resetCounters(): void;
  close(): Promise<void>;
}

const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

export async function startFaultProxy(target: URL, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const tokenPath = options.tokenPath ?? (await discoverTokenPath(target));
  const agent = new Agent({ keepAlive: true });
  const faults: Fault[] = [];
  const hanging = new Set<ServerResponse>();
  let tokenRequests = 0;
  let tokenRequestTimes: number[] = [];

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    if (req.method === 'POST' && path === tokenPath) {
      tokenRequests += 1;
      tokenRequestTimes.push(Date.now());
      const fault = faults.shift();
      if (fault) return inject(fault, req, res);
    }
    forward(req, res, isDiscovery(path) ? rewriteDiscovery : undefined);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = new URL(`http://127.0.0.1:${port}`);

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    transform?: (body: Buffer) => Promise<Buffer>,
  ): void {
    const headers: OutgoingHttpHeaders = { ...req.headers };
    // The body is rewritten: ask for it uncompressed.
    if (transform) delete headers['accept-encoding'];
    // Host passes through as a real reverse proxy would, so the server builds URLs for the proxy.
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
      (up) => {
        if (!transform || up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.on('error', () => res.destroy());
          up.pipe(res);
          return;
        }
        readBody(up)
          .then(transform)
          .then((body) => {
            const { 'content-length': _, 'transfer-encoding': __, ...rest } = up.headers;
            res.writeHead(200, { ...rest, 'content-length': body.length });
            res.end(body);
          })
          .catch(() => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else sendText(res, 502, 'text/plain', 'bad gateway');
    });
    // A client that gives up takes its upstream request with it.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  function inject(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
    if (fault.kind === 'expiredToken') {
      forward(req, res, expireTokenResponse);
      return;
    }
    if (fault.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    // The body is of no interest; drain it so a kept-alive connection stays usable.
    req.resume();
    switch (fault.kind) {
      case 'status':
        sendText(res, fault.status, 'text/plain', 'injected failure');
        break;
      case 'rateLimited':
        res.setHeader('retry-after', String(fault.retryAfterSeconds));
        sendText(res, 429, 'text/plain', 'too many requests');
        break;
      case 'oauthError': {
        const status = fault.status ?? (fault.error === 'invalid_client' ? 401 : 400);
        const body = {
          error: fault.error,
          error_description: fault.errorDescription ?? 'injected by fault proxy',
        };
        sendText(res, status, 'application/json', JSON.stringify(body));
        break;
      }
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        break;
      case 'nonJson':
        sendText(res, 200, 'text/html', '<html><body>Service temporarily unavailable</body></html>');
        break;
      case 'missingAccessToken':
        sendText(res, 200, 'application/json', JSON.stringify({ token_type: 'Bearer', expires_in: 3600 }));
        break;
    }
  }

  // The server's real token re-signed with `exp` in the past, and `expires_in: 0`: a negative
  // `expires_in` would be rejected by openid-client as malformed, which is a different fault.
  async function expireTokenResponse(body: Buffer): Promise<Buffer> {
    const expire = options.expireToken;
    if (!expire) throw new Error('unreachable: checked in failNext');
    const json = JSON.parse(body.toString()) as Record<string, unknown>;
    if (typeof json.access_token !== 'string') return body;
    return Buffer.from(
      JSON.stringify({ ...json, access_token: await expire(json.access_token), expires_in: 0 }),
    );
  }

  async function rewriteDiscovery(body: Buffer): Promise<Buffer> {
    const metadata = JSON.parse(body.toString()) as unknown;
    return Buffer.from(JSON.stringify(replaceOrigin(metadata, target.origin, url.origin)));
  }

  return {
    url,
    failNext(n, fault) {
      if (!Number.isSafeInteger(n) || n < 0)
        throw new RangeError(`failNext: n must be a non-negative integer: ${n}`);
      if (fault.kind === 'expiredToken' && !options.expireToken) {
        throw new Error('the expiredToken fault needs options.expireToken (e.g. AuthServer.expireToken)');
      }
      for (let i = 0; i < n; i++) faults.push(fault);
    },
    tokenRequests: () => tokenRequests,
    tokenRequestTimes: () => [...tokenRequestTimes],
    pendingFaults: () => faults.length,
    clearFaults() {
      faults.length = 0;
    },
    resetCounters() {
      tokenRequests = 0;
      tokenRequestTimes = [];
    },
    close() {
      return new Promise((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}

function isDiscovery(path: string): boolean {
  return DISCOVERY_PATHS.some((p) => path.endsWith(p) || path.startsWith(`${p}/`));
}

async function discoverTokenPath(target: URL): Promise<string> {
  const base = target.href.endsWith('/') ? target.href : `${target.href}/`;
  const discoveryUrl = new URL('.well-known/openid-configuration', base);
  // node:http without keep-alive rather than fetch: no pooled socket outlives the proxy.
  const body = await new Promise<Buffer>((resolve, reject) => {
    httpRequest(discoveryUrl, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`fault proxy: discovery at ${discoveryUrl.href} answered ${res.statusCode}`));
        return;
      }
      readBody(res).then(resolve, reject);
    })
      .on('error', reject)
      .end();
  });
  const { token_endpoint } = JSON.parse(body.toString()) as { token_endpoint?: unknown };
  if (typeof token_endpoint !== 'string') throw new Error('fault proxy: discovery names no token_endpoint');
  return new URL(token_endpoint).pathname;
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

function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
