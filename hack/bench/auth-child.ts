// The benchmark's authorization server, in a process of its own so that its CPU (one JWT signed
// per token) is neither the operator's nor the harness's. The parent talks to it over IPC:
//   → { id, op: 'ttl', seconds }   ← { id }
//   → { id, op: 'count' }          ← { id, total }
//   → { id, op: 'samples', since } ← { id, samples: [timeMs, total][] }   (sampled every 50 ms)
// On start it sends { ready: {...} } with the endpoints and the basic client's credentials.
import { startAuthServer } from '../../test/support/auth-server.ts';

const ttl = Number(process.argv[2] ?? 3600);
const auth = await startAuthServer({ tokenTTLSeconds: ttl });

const samples: [number, number][] = [[Date.now(), 0]];
let last = 0;
const sampler = setInterval(() => {
  const total = auth.totalTokenRequests();
  if (total !== last) {
    samples.push([Date.now(), total]);
    last = total;
  }
}, 50);

type Request =
  | { id: number; op: 'ttl'; seconds: number }
  | { id: number; op: 'count' }
  | { id: number; op: 'samples'; since: number };

process.on('message', (message: Request) => {
  const reply = (body: object) => process.send?.({ id: message.id, ...body });
  switch (message.op) {
    case 'ttl':
      auth.setTokenTTL(message.seconds);
      reply({});
      return;
    case 'count':
      reply({ total: auth.totalTokenRequests() });
      return;
    case 'samples': {
      // The sample just before `since` too, so a rate over the whole span can be computed.
      const from = Math.max(0, samples.findIndex(([t]) => t >= message.since) - 1);
      reply({ samples: [...samples.slice(from), [Date.now(), auth.totalTokenRequests()]] });
      return;
    }
  }
});

process.on('disconnect', () => {
  clearInterval(sampler);
  void auth.close().finally(() => process.exit(0));
});

process.send?.({
  ready: {
    issuer: auth.issuerIdentifier,
    tokenEndpoint: auth.tokenEndpoint.href,
    clientId: auth.clients.basic.clientId,
    clientSecret: auth.clients.basic.clientSecret,
    scopes: auth.scopes,
  },
});
