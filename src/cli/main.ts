#!/usr/bin/env node
// token-renewer: one binary, several subcommands.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { configHelp, parseConfig } from '../config/config.ts';
import { describeApiError } from '../kube/conflict.ts';
import { jsonLogger } from '../log/logger.ts';
import { requestRenewal } from './renew.ts';
import { runUntilSignalled } from './run.ts';
import { printStatus } from './status.ts';

const usage = `Usage: token-renewer <command> [flags]

Commands:
  run                       run the operator (in-cluster config, or $KUBECONFIG / ~/.kube/config)
  status [-n NAMESPACE]     list TokenRequests with readiness, expiry and next renewal
  renew NAME -n NAMESPACE   renew a token now (sets ${'token-renewer.io/renew-requested-at'})

${configHelp}`;

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const parsed = parseConfig(rest, process.env);
      if (!parsed.ok) {
        console.error(`token-renewer run: ${parsed.problems.join('; ')}\n\n${usage}`);
        return 2;
      }
      await runUntilSignalled(kubeConfig(), parsed.config, jsonLogger(parsed.config.logLevel));
      return 0;
    }
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { namespace: { type: 'string', short: 'n' } } });
      await printStatus(kubeConfig(), values.namespace);
      return 0;
    }
    case 'renew': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { namespace: { type: 'string', short: 'n', default: 'default' } },
      });
      if (positionals.length !== 1) {
        console.error(`token-renewer renew: name one TokenRequest\n\n${usage}`);
        return 2;
      }
      const at = await requestRenewal(kubeConfig(), values.namespace, positionals[0]);
      console.log(`renewal of ${values.namespace}/${positionals[0]} requested at ${at}`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return command === undefined ? 2 : 0;
    default:
      console.error(`token-renewer: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`token-renewer: ${describeApiError(err)}`);
    process.exit(1);
  },
);
