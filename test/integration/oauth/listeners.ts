// Listeners for the outbound-policy tests: a tripwire that counts every TCP connection (so "nothing
// reached it" means not even a handshake), and small HTTP servers that misbehave on purpose.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:net';

export interface Tripwire {
  readonly host: string;
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

/** Accepts and immediately drops connections on `host` (any loopback address), counting them. */
export async function startTripwire(host = '127.0.0.1'): Promise<Tripwire> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  const port = await listen(server, host);
  return { host, port, connections: () => count, close: () => close(server) };
}

export interface TestServer {
  readonly origin: string;
  requests(): number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function startHttpServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  let count = 0;
  const server = createHttpServer((req, res) => {
    count++;
    handler(req, res);
  });
  const port = await listen(server, host);
  return {
    origin: `http://${host}:${port}`,
    requests: () => count,
    close: () => {
      // Servers that never answer keep their connections open.
      server.closeAllConnections();
      return close(server);
    },
  };
}

/** Answers every request with a redirect to `location`. */
export const redirectTo =
  (location: string): Handler =>
  (_req, res) => {
    res.writeHead(302, { location, 'content-length': '0' }).end();
  };

/** Never answers. */
export const silent: Handler = () => {};

/** Headers at once, then a byte of JSON every 50 ms, forever: never idle long enough for an idle timeout. */
export const trickle: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"access_token":"');
  const timer = setInterval(() => res.write('a'), 50);
  res.on('close', () => clearInterval(timer));
};

/** A JSON body of `totalBytes`, chunked (no Content-Length), written as fast as the client reads; `written` counts. */
export function huge(totalBytes: number, written: { bytes: number }): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (written.bytes < totalBytes && !res.destroyed) {
        written.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    res.write('{"access_token":"');
    pump();
  };
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
