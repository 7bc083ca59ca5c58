// An HTTP reverse proxy in front of the test authorization server that makes chosen token
// requests fail in chosen ways. Everything else passes through untouched, except discovery
// documents, whose URLs are rewritten to the proxy so discovery through it keeps clients on it.
// Besides outright failures it can serve any response at all (malformed, hostile, huge, slow),
// rewrite the server's real token response, and slow the server down.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'oauthError'; error: string; errorDescription?: string; status?: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'nonJson' }
  | { kind: 'missingAccessToken' }
  | { kind: 'expiredToken' }
  /** Forwarded to the server after `ms`: a slow authorization server. */
  | { kind: 'delay'; ms: number }
  /** This response instead of the server's: any status, headers and body. */
  | { kind: 'respond'; response: CannedResponse }
  /**
   * The server's real token response (a 200 with a fresh token), parsed and rewritten: the JSON
   * value `rewrite` returns is sent (a Buffer as is), with `status` (default 200) and
   * `contentType` (default the server's), gzip-compressed if asked.
   */
  | {
      kind: 'rewrite';
      rewrite: (response: Record<string, unknown>) => unknown;
      status?: number;
      contentType?: string;
      gzip?: boolean;
    }
  /** Headers at once, then the body one byte every `intervalMs`, for as long as the client listens. */
  | { kind: 'drip'; body: string; intervalMs: number; contentType?: string }
  /** A 200 announcing all of `body` (content-length), then the first `bytes` of it, then a reset. */
  | { kind: 'resetMidBody'; body: string; bytes: number; contentType?: string };

export interface CannedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent gzip-compressed with content-encoding: gzip, whatever the client asked for. */
  gzip?: boolean;
  /** Streamed in chunks without a content-length. */
  chunked?: boolean;
}

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
  /**
   * While set, every token-endpoint request that no queued fault claims gets this one (an
   * authorization server that is down, or slow, for a while); `undefined` ends it.
   */
  setStandingFault(fault: Fault | undefined): void;
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
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let standing: Fault | undefined;
  let tokenRequests = 0;
  let tokenRequestTimes: number[] = [];

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    if (req.method === 'POST' && path === tokenPath) {
      tokenRequests += 1;
      tokenRequestTimes.push(Date.now());
      const fault = faults.shift() ?? standing;
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
    transform?: (body: Buffer) => Promise<Buffer | Replacement>,
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
          .then((result) => {
            const {
              body,
              status = 200,
              contentType,
              headers,
            } = Buffer.isBuffer(result) ? { body: result } : result;
            const { 'content-length': _, 'transfer-encoding': __, ...rest } = up.headers;
            res.writeHead(status, {
              ...rest,
              ...(contentType === undefined ? {} : { 'content-type': contentType }),
              ...headers,
              'content-length': body.length,
            });
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
    if (fault.kind === 'delay') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) forward(req, res);
      }, fault.ms);
      timers.add(timer);
      return;
    }
    if (fault.kind === 'rewrite') {
      const { rewrite, status, contentType, gzip } = fault;
      forward(req, res, async (body) => {
        const replaced = rewrite(JSON.parse(body.toString()) as Record<string, unknown>);
        const bytes = Buffer.isBuffer(replaced) ? replaced : Buffer.from(JSON.stringify(replaced) ?? '');
        return gzip
          ? { body: gzipSync(bytes), status, contentType, headers: { 'content-encoding': 'gzip' } }
          : { body: bytes, status, contentType };
      });
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
      case 'respond':
        sendCanned(res, fault.response);
        break;
      case 'drip': {
        res.writeHead(200, { 'content-type': fault.contentType ?? 'application/json' });
        hanging.add(res);
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= fault.body.length) {
            clearInterval(timer);
            timers.delete(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(fault.body.slice(sent, sent + 1));
          sent += 1;
        }, fault.intervalMs);
        timers.add(timer);
        res.on('close', () => {
          hanging.delete(res);
          clearInterval(timer);
          timers.delete(timer);
        });
        break;
      }
      case 'resetMidBody': {
        const body = Buffer.from(fault.body);
        res.writeHead(200, {
          'content-type': fault.contentType ?? 'application/json',
          'content-length': body.length,
        });
        // Flushed first, so the client has the headers and part of the body when the reset comes.
        res.write(body.subarray(0, fault.bytes), () => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            req.socket.resetAndDestroy();
          }, 50);
          timers.add(timer);
        });
        break;
      }
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
    setStandingFault(fault) {
      if (fault?.kind === 'expiredToken' && !options.expireToken) {
        throw new Error('the expiredToken fault needs options.expireToken (e.g. AuthServer.expireToken)');
      }
      standing = fault;
    },
    tokenRequests: () => tokenRequests,
    tokenRequestTimes: () => [...tokenRequestTimes],
    pendingFaults: () => faults.length,
    clearFaults() {
      faults.length = 0;
      standing = undefined;
    },
    resetCounters() {
      tokenRequests = 0;
      tokenRequestTimes = [];
    },
    close() {
      return new Promise((resolve, reject) => {
        for (const res of hanging) res.destroy();
        for (const timer of timers) clearTimeout(timer);
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

interface Replacement {
  body: Buffer;
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
}

function sendCanned(res: ServerResponse, response: CannedResponse): void {
  const raw = Buffer.from(response.body ?? '');
  const body = response.gzip ? gzipSync(raw) : raw;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    ...response.headers,
    ...(response.gzip ? { 'content-encoding': 'gzip' } : {}),
  };
  if (!response.chunked) {
    res.writeHead(response.status ?? 200, { ...headers, 'content-length': body.length });
    res.end(body);
    return;
  }
  res.writeHead(response.status ?? 200, headers);
  const chunk = 64 * 1024;
  let offset = 0;
  // Honours back-pressure, and stops when the client hangs up (e.g. at its size limit).
  const pump = (): void => {
    while (offset < body.length && !res.destroyed) {
      const part = body.subarray(offset, offset + chunk);
      offset += part.length;
      if (!res.write(part)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
