// A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for
// 127.0.0.1/localhost, a client certificate it issued, and a self-signed client certificate.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface TlsMaterial {
  caPem: string;
  server: KeyPair;
  /** Issued by the CA, CN `orders-client`. */
  client: KeyPair;
  /** Self-signed, CN `intruder`: no CA vouches for it. */
  stranger: KeyPair;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export async function createTlsMaterial(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'oauth-tls-'));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  try {
    await openssl(
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    );
    await writeFile(
      path('server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await writeFile(path('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const [name, cn] of [
      ['server', 'localhost'],
      ['client', 'orders-client'],
    ] as const) {
      await openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      await openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      );
    }
    await openssl(
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'stranger.key',
      '-out',
      'stranger.crt',
      '-days',
      '1',
      '-subj',
      '/CN=intruder',
    );
    const read = (name: string) => readFile(path(name), 'utf8');
    const pair = async (name: string) => ({
      certPem: await read(`${name}.crt`),
      keyPem: await read(`${name}.key`),
    });
    return {
      caPem: await read('ca.crt'),
      server: await pair('server'),
      client: await pair('client'),
      stranger: await pair('stranger'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
