// A real Kubernetes control plane on loopback: etcd and kube-apiserver built from source by
// hack/control-plane-binaries.sh. RBAC is on, a static token file holds an admin and a
// restricted identity, and service-account signing keys let the TokenRequest API mint tokens.
// There is no controller-manager: no garbage collection, and namespaces never finish deleting.
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
  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const proc of [...started].reverse()) await proc.stop();
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const etcdURL = await startEtcd(binDir, dir, started);
    log(`etcd ready at ${etcdURL}`);
    const api = await startApiServer(binDir, dir, etcdURL, started);
    log(`kube-apiserver ready at ${api.url} (dir ${dir})`);
    const configs = new Map<Identity, string>();
    for (const [identity, token] of Object.entries(api.tokens) as [Identity, string][]) {
      const path = join(dir, `kubeconfig-${identity}.yaml`);
      await writeFile(path, kubeConfigFor(api.url, api.caData, identity, token).exportConfig(), {
        mode: 0o600,
      });
      configs.set(identity, path);
    }
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
    };
  } catch (err) {
    const logs = started.map((p) => p.logFile).join(', ');
    await stop().catch(() => {});
    throw new Error(`control plane failed to start (logs: ${logs}): ${(err as Error).message}`);
  }
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

async function startEtcd(binDir: string, dir: string, started: ManagedProcess[]): Promise<string> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientURL = `http://127.0.0.1:${clientPort}`;
  const peerURL = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess(
    'etcd',
    join(binDir, 'etcd'),
    [
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
    join(dir, 'etcd.log'),
  );
  started.push(proc);
  await waitFor(
    'etcd /health',
    async () => {
      if (proc.exited()) throw new Error(`etcd exited; see ${proc.logFile}`);
      const res = await fetch(`${clientURL}/health`);
      return res.ok;
    },
    30_000,
  );
  return clientURL;
}

interface ApiServer {
  url: string;
  caData: string;
  serviceAccountIssuer: string;
  tokens: Record<Identity, string>;
}

async function startApiServer(
  binDir: string,
  dir: string,
  etcdURL: string,
  started: ManagedProcess[],
): Promise<ApiServer> {
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
  const proc = startProcess(
    'kube-apiserver',
    join(binDir, 'kube-apiserver'),
    [
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
    join(dir, 'kube-apiserver.log'),
  );
  started.push(proc);

  // With no serving certificate given, kube-apiserver writes a self-signed one (with its CA)
  // into --cert-dir; that file is what clients must trust.
  const certFile = join(certDir, 'apiserver.crt');
  await waitFor(
    'kube-apiserver serving certificate',
    async () => {
      if (proc.exited()) throw new Error(`kube-apiserver exited; see ${proc.logFile}`);
      return existsSync(certFile);
    },
    60_000,
  );
  const ca = await readFile(certFile);
  await waitFor(
    'kube-apiserver /readyz',
    async () => {
      if (proc.exited()) throw new Error(`kube-apiserver exited; see ${proc.logFile}`);
      return (await httpsStatus(`${url}/readyz`, ca, tokens.admin)) === 200;
    },
    90_000,
  );
  return { url, caData: ca.toString('base64'), serviceAccountIssuer, tokens };
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
