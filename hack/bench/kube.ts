// The harness's own Kubernetes client: plain JSON over one keep-alive undici pool, so that
// creating and patching thousands of objects is quick and costs the operator nothing.
import { Agent, request } from 'undici';

export interface KubeHttp {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  mergePatch<T>(path: string, body: unknown): Promise<T>;
  /** Raw text, e.g. kube-apiserver's /metrics. */
  text(path: string): Promise<string>;
  close(): Promise<void>;
}

export class KubeHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function kubeHttp(server: string, caPem: string, token: string, connections = 64): KubeHttp {
  const agent = new Agent({ connect: { ca: caPem }, connections, keepAliveTimeout: 30_000 });
  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH',
    path: string,
    body?: unknown,
    type?: string,
  ) => {
    const res = await request(`${server}${path}`, {
      method,
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': type ?? 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new KubeHttpError(res.statusCode, `${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    }
    return text;
  };
  return {
    get: async (path) => JSON.parse(await call('GET', path)),
    post: async (path, body) => JSON.parse(await call('POST', path, body)),
    put: async (path, body) => JSON.parse(await call('PUT', path, body)),
    mergePatch: async (path, body) =>
      JSON.parse(await call('PATCH', path, body, 'application/merge-patch+json')),
    text: (path) => call('GET', path),
    close: () => agent.close(),
  };
}

/** Runs `fn` for 0..count−1 with at most `concurrency` at once; rejects on the first failure. */
export async function forEachConcurrently(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Retries on 409/429/5xx a few times (the API server under load may shed requests). */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof KubeHttpError ? err.status : 0;
      if (attempt >= attempts || !(status === 409 || status === 429 || status >= 500)) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
