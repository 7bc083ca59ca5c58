// A reverse proxy in front of the real test authorization server for the OAuth client's own
// tests: it can terminate TLS (optionally requiring a client certificate) and rewrite the real
// token response the server sent (malformed fields, other token types, other statuses).
import {
  Agent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Rewritten {
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
  body: string | Buffer;
}

/** Turns the server's real token response (status and parsed JSON) into what the client sees. */
export type Rewrite = (upstream: { status: number; json: Record<string, unknown> }) => Rewritten;

export interface FrontProxyOptions {
  /** Path of the token endpoint on the target. */
  tokenPath: string;
  /** Serve https; with `clientCaPem`, require a client certificate issued by that CA. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
}

export interface FrontProxy {
  readonly url: URL;
  rewriteNext(rewrite: Rewrite): void;
  /** Token-endpoint requests that reached the proxy. */
  tokenRequests(): number;
  /** Subject CNs of the verified client certificates seen on token requests, in order. */
  clientCertificates(): string[];
  close(): Promise<void>;
}

export async function startFrontProxy(target: URL, options: FrontProxyOptions): Promise<FrontProxy> {
  const agent = new Agent({ keepAlive: true });
  const rewrites: Rewrite[] = [];
  const certificates: string[] = [];
  let tokenRequests = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const isToken =
      req.method === 'POST' && new URL(req.url ?? '/', 'http://x').pathname === options.tokenPath;
    if (isToken) {
      tokenRequests += 1;
      const socket = req.socket as Partial<TLSSocket>;
      const subject = socket.authorized ? socket.getPeerCertificate?.().subject?.CN : undefined;
      if (typeof subject === 'string') certificates.push(subject);
    }
    forward(req, res, isToken ? rewrites.shift() : undefined);
  };

  const { tls } = options;
  const server = tls
    ? createHttpsServer(
        {
          cert: tls.certPem,
          key: tls.keyPem,
          ...(tls.clientCaPem ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
        },
        handle,
      )
    : createHttpServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  function forward(req: IncomingMessage, res: ServerResponse, rewrite: Rewrite | undefined): void {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (up) => {
        if (!rewrite) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
          const out = rewrite({ status: up.statusCode ?? 0, json });
          const body = typeof out.body === 'string' ? Buffer.from(out.body) : out.body;
          res.writeHead(out.status ?? 200, {
            'content-type': out.contentType ?? 'application/json',
            'content-length': body.length,
            ...out.headers,
          });
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  return {
    url: new URL(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`),
    rewriteNext: (rewrite) => rewrites.push(rewrite),
    tokenRequests: () => tokenRequests,
    clientCertificates: () => [...certificates],
    close() {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}
