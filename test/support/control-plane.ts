// A real Kubernetes control plane on loopback: etcd and kube-apiserver built from source by
// hack/control-plane-binaries.sh. RBAC is on, a static token file holds an admin and a
// restricted identity, and service-account signing keys let the TokenRequest API mint tokens.
// There is no controller-manager: no garbage collection, and namespaces never finish deleting.
//
// Faults: each process can be stopped and started again on the same ports, with the same data
// directory, certificates and identities (kubeconfigs stay valid), and etcd's history can be
// compacted, so that a watch resuming from an older resourceVersion gets 410 Gone.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort, waitFor } from './net.ts';
import { type ManagedProcess, startProcess } from './process.ts';

const projectRoot = resolve(import.meta.dirname, '../..');

/** Identities in the static token file. `restricted` has no permissions beyond discovery. */
export const identities = {
  admin: { user: 'admin', groups: ['system:masters'] },
  restricted: { user: 'restricted', groups: [] as string[] },
} as const;
export type Identity = keyof typeof identities;

export interface ControlPlane {
  readonly dir: string;
  /** Where kube-apiserver, etcd and kubectl are. */
  readonly binDir: string;
  readonly apiServerURL: string;
  readonly etcdURL: string;
  readonly serviceAccountIssuer: string;
  readonly caData: string;
  /** Path of a kubeconfig file for the identity. */
  kubeconfigPath(identity?: Identity): string;
  kubeConfig(identity?: Identity): KubeConfig;
  stop(): Promise<void>;

  /**
   * Stops kube-apiserver: SIGTERM, then SIGKILL after `graceMs` (default 10 s; 0 kills at once).
   * etcd and everything in it stay.
   */
  stopApiServer(options?: StopOptions): Promise<void>;
  /**
   * Starts kube-apiserver again on the same port, with the same serving certificate, identities
   * and etcd; resolves once /readyz answers 200 (which needs etcd to be up).
   */
  startApiServer(): Promise<void>;
  /** Stops etcd (SIGTERM, then SIGKILL after `graceMs`); kube-apiserver keeps running without it. */
  stopEtcd(options?: StopOptions): Promise<void>;
  /** Starts etcd again with the same data directory and ports; resolves once its /health is ok. */
  startEtcd(): Promise<void>;
  /** True while kube-apiserver answers /readyz with 200. Never throws. */
  apiServerReady(): Promise<boolean>;
  /** etcd's current revision: the resourceVersion of the latest write to any object. */
  etcdRevision(): Promise<number>;
  /**
   * Writes a scratch key outside the Kubernetes prefix `count` times (default 2), moving etcd's
   * revision past every resourceVersion handed out so far without touching any object; returns
   * the new revision. With kube-apiserver down, this is how changes "happen" meanwhile.
   */
  advanceRevision(count?: number): Promise<number>;
  /**
   * Compacts etcd's history at its current revision (physically, before returning) and returns
   * that revision: a watch or read at an older resourceVersion then fails with "compacted", which
   * kube-apiserver reports as 410 Gone.
   */
  compact(): Promise<number>;
}

export interface StopOptions {
  /** How long SIGTERM may take before SIGKILL; 0 kills at once. Default 10 s. */
  graceMs?: number;
}

export interface ControlPlaneOptions {
  /** Directory with kube-apiserver and etcd; built or taken from the cache when absent. */
  binDir?: string;
  /** Keep the working directory (logs, etcd data) after stop. */
  keepDir?: boolean;
  log?: (line: string) => void;
}

/** Builds the binaries (kube-apiserver, etcd, kubectl) if the machine-wide cache lacks them; returns their directory. */
export async function controlPlaneBinaries(log: (line: string) => void = () => {}): Promise<string> {
  const script = join(projectRoot, 'hack/control-plane-binaries.sh');
  const child = promisify(execFile)('bash', [script], { maxBuffer: 1 << 20 });
  // The build prints progress on stderr; pass it on so CI logs show build or cache reuse.
  child.child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().trimEnd().split('\n')) log(line);
  });
  const { stdout } = await child;
  return stdout.trim().split('\n').at(-1) ?? '';
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binDir = options.binDir ?? (await controlPlaneBinaries(log));
  const dir = await mkdtemp(join(tmpdir(), 'token-renewer-cp-'));
  let etcd: ManagedProcess | undefined;
  let apiServer: ManagedProcess | undefined;
  const stop = async () => {
    await apiServer?.stop();
    await etcd?.stop();
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const etcdSetup = await etcdSettings(binDir, dir);
    etcd = await launchEtcd(etcdSetup);
    log(`etcd ready at ${etcdSetup.clientURL}`);
    const api = await prepareApiServer(binDir, dir, etcdSetup.clientURL);
    apiServer = await launchApiServer(api);
    log(`kube-apiserver ready at ${api.url} (dir ${dir})`);
    const configs = new Map<Identity, string>();
    for (const [identity, token] of Object.entries(api.tokens) as [Identity, string][]) {
      const path = join(dir, `kubeconfig-${identity}.yaml`);
      await writeFile(path, kubeConfigFor(api.url, api.caData, identity, token).exportConfig(), {
        mode: 0o600,
      });
      configs.set(identity, path);
    }
    const etcdURL = etcdSetup.clientURL;
    const revision = async () => (await etcdCall(etcdURL, 'kv/range', { key: b64('\0'), limit: 1 })).revision;
    return {
      dir,
      binDir,
      apiServerURL: api.url,
      etcdURL,
      serviceAccountIssuer: api.serviceAccountIssuer,
      caData: api.caData,
      kubeconfigPath: (identity = 'admin') => configs.get(identity) ?? '',
      kubeConfig: (identity = 'admin') => kubeConfigFor(api.url, api.caData, identity, api.tokens[identity]),
      stop,
      async stopApiServer({ graceMs }: StopOptions = {}) {
        await apiServer?.stop(graceMs);
        log('kube-apiserver stopped');
      },
      async startApiServer() {
        if (apiServer && !apiServer.exited()) throw new Error('kube-apiserver is already running');
        apiServer = await launchApiServer(api);
        log(`kube-apiserver ready again at ${api.url}`);
      },
      async stopEtcd({ graceMs }: StopOptions = {}) {
        await etcd?.stop(graceMs);
        log('etcd stopped');
      },
      async startEtcd() {
        if (etcd && !etcd.exited()) throw new Error('etcd is already running');
        etcd = await launchEtcd(etcdSetup);
        log(`etcd ready again at ${etcdURL}`);
      },
      apiServerReady: async () =>
        (await httpsStatus(`${api.url}/readyz`, api.ca, api.tokens.admin).catch(() => 0)) === 200,
      etcdRevision: revision,
      async advanceRevision(count = 2) {
        let last = 0;
        for (let i = 0; i < count; i++) {
          last = (await etcdCall(etcdURL, 'kv/put', { key: b64(SCRATCH_KEY), value: b64(String(i)) }))
            .revision;
        }
        return last;
      },
      async compact() {
        const current = await revision();
        await etcdCall(etcdURL, 'kv/compaction', { revision: String(current), physical: true });
        log(`etcd compacted at revision ${current}`);
        return current;
      },
    };
  } catch (err) {
    const logs = [etcd, apiServer].flatMap((p) => (p ? [p.logFile] : [])).join(', ');
    await stop().catch(() => {});
    throw new Error(`control plane failed to start (logs: ${logs}): ${(err as Error).message}`);
  }
}

/** Outside /registry: kube-apiserver never reads it, so writing it changes no object. */
const SCRATCH_KEY = '/token-renewer-test/revision';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * One call to etcd's JSON gateway for its gRPC API (`/v3/<path>`); returns the header revision.
 * etcdctl is not built with the control plane; the gateway is part of every etcd.
 */
async function etcdCall(etcdURL: string, path: string, body: object): Promise<{ revision: number }> {
  const res = await fetch(`${etcdURL}/v3/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  const revision = Number((JSON.parse(text) as { header?: { revision?: string } }).header?.revision);
  if (!Number.isSafeInteger(revision)) throw new Error(`etcd ${path}: no revision in ${text.slice(0, 300)}`);
  return { revision };
}

export function kubeConfigFor(server: string, caData: string, user: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server, caData }],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: 'local', user }],
    currentContext: user,
  });
  return kc;
}

interface EtcdSettings {
  command: string;
  args: string[];
  logFile: string;
  clientURL: string;
}

async function etcdSettings(binDir: string, dir: string): Promise<EtcdSettings> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientURL = `http://127.0.0.1:${clientPort}`;
  const peerURL = `http://127.0.0.1:${peerPort}`;
  return {
    command: join(binDir, 'etcd'),
    args: [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${clientURL}`,
      `--advertise-client-urls=${clientURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=default=${peerURL}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    logFile: join(dir, 'etcd.log'),
    clientURL,
  };
}

/** Starts etcd (again, after a stop: the data directory is reused) and waits until it is healthy. */
async function launchEtcd(settings: EtcdSettings): Promise<ManagedProcess> {
  const proc = startProcess('etcd', settings.command, settings.args, settings.logFile);
  try {
    await waitFor(
      'etcd /health',
      async () => {
        if (proc.exited()) throw new Error(`etcd exited; see ${proc.logFile}`);
        const res = await fetch(`${settings.clientURL}/health`);
        return res.ok;
      },
      30_000,
    );
  } catch (err) {
    await proc.stop(0);
    throw err;
  }
  return proc;
}

interface ApiServer {
  url: string;
  ca: Buffer;
  caData: string;
  serviceAccountIssuer: string;
  tokens: Record<Identity, string>;
  command: string;
  args: string[];
  logFile: string;
  certFile: string;
}

/** Identities, service-account keys and flags: made once, so a restarted server is the same server. */
async function prepareApiServer(binDir: string, dir: string, etcdURL: string): Promise<ApiServer> {
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  const tokens = {
    admin: randomBytes(24).toString('hex'),
    restricted: randomBytes(24).toString('hex'),
  } satisfies Record<Identity, string>;
  const tokenFile = join(dir, 'tokens.csv');
  const lines = (Object.keys(identities) as Identity[]).map((id) => {
    const { user, groups } = identities[id];
    return `${tokens[id]},${user},${user},"${groups.join(',')}"`;
  });
  await writeFile(tokenFile, `${lines.join('\n')}\n`, { mode: 0o600 });

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
  return {
    url,
    ca: Buffer.alloc(0),
    caData: '',
    serviceAccountIssuer,
    tokens,
    command: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdURL}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokenFile}`,
      '--disable-admission-plugins=ServiceAccount',
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--allow-privileged=true',
      '--v=1',
    ],
    logFile: join(dir, 'kube-apiserver.log'),
    // With no serving certificate given, kube-apiserver writes a self-signed one (with its CA)
    // into --cert-dir, and reuses it when it is there: a restarted server keeps its certificate.
    certFile: join(certDir, 'apiserver.crt'),
  };
}

/** Starts kube-apiserver and waits for /readyz; the first start also reads the CA clients must trust. */
async function launchApiServer(api: ApiServer): Promise<ManagedProcess> {
  const proc = startProcess('kube-apiserver', api.command, api.args, api.logFile);
  try {
    await waitFor(
      'kube-apiserver serving certificate',
      async () => {
        if (proc.exited()) throw new Error(`kube-apiserver exited; see ${proc.logFile}`);
        return existsSync(api.certFile);
      },
      60_000,
    );
    if (api.caData === '') {
      api.ca = await readFile(api.certFile);
      api.caData = api.ca.toString('base64');
    }
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        if (proc.exited()) throw new Error(`kube-apiserver exited; see ${proc.logFile}`);
        return (await httpsStatus(`${api.url}/readyz`, api.ca, api.tokens.admin)) === 200;
      },
      90_000,
    );
  } catch (err) {
    await proc.stop(0);
    throw err;
  }
  return proc;
}

function httpsStatus(url: string, ca: Buffer, token: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('request timed out')));
    req.once('error', reject);
    req.end();
  });
}
