// `ambit` command dispatch. Commands return exit codes; errors print one clear line.
import { KubeApiError, ConnectionError } from '../client/kube-client.js';
import { analyzeCommand } from './commands/analyze.js';
import { appCommand } from './commands/app.js';
import { caCommand } from './commands/ca.js';
import { applyCommand } from './commands/apply.js';
import { clusterCommand } from './commands/cluster.js';
import { tunnelCommand } from './commands/tunnel.js';
import { benchCommand } from './commands/bench.js';
import { controlPlaneCommand, nodeAgentCommand, nodeTunnelCommand } from './commands/daemons.js';
import { demoCommand } from './commands/demo.js';
import { execCommand, logsCommand } from './commands/pods.js';
import { tunnelConfigCommand } from './commands/tunnel-config.js';
import { deleteCommand, getCommand, labelCommand, scaleCommand } from './commands/resources.js';
import { makeCtx, UsageError } from './context.js';
import { ConfigError } from '../lib/config.js';
import { parseLogLevel, setLogLevel } from '../lib/log.js';
import { meshControlPlaneCommand } from './commands/mesh-control-plane.js';

const USAGE = `ambit: a sidecarless service mesh, with a local cluster made of network namespaces

cluster:
  ambit cluster up [--nodes 2] [--name NAME] [--api-port P] [--trust-domain TD]
                                                             create the local cluster (root)
  ambit cluster down [--force]                               remove it (--force: also leftovers of a crash)
  ambit cluster status
  ambit cluster restart control-plane                        restart it (state is kept on disk)
resources (kubectl habits):
  ambit apply -f FILE|DIR|-
  ambit get KIND [NAME] [-n NS|-A] [-o wide|yaml|json] [-l SELECTOR]
  ambit delete -f FILE | KIND NAME... [-n NS] [--force]
  ambit scale deployment/NAME --replicas N [-n NS]
  ambit label namespace|pod NAME k=v [k-] [--overwrite]
  ambit exec POD [-n NS] -- CMD [ARGS...]
  ambit logs POD [-n NS] [-f]
  ambit analyze [-f FILE|DIR ...] [-A | -n NS] [-o json]      find mesh config mistakes (files and/or the cluster); exit 1 on errors
apps (pod commands):
  ambit app echo [--http-port 8080] [--tcp-port 9000]
  ambit app load --url URL --rate RPS [--duration 10s] [--connections 4] [--payload 1024] [--json]
  ambit demo                                                  the guided demo (examples/demo)
mesh:
  ambit mesh-control-plane --kubeconfig FILE --ca-dir DIR [...]   CA + xDS against any Kubernetes API server (--help)
  ambit tunnel restart [--node nodeN]                         hand a node's pods to a new node tunnel without refusing connections
certificate authority (running cluster: via the CaAdmin API with the admin token; cluster not
running: directly on <state>/<cluster>/ca, and the output says so):
  ambit ca init [--trust-domain cluster.local] [--plugin DIR]   before cluster up: create the CA (DIR: Istio cacerts files)
  ambit ca status                                             mode, root/signing fingerprints and expiry, counts
  ambit ca issue --identity spiffe://TD/ns/NS/sa/SA --out DIR [--ttl 24h]   cert.pem, key.pem (0600), root.pem
  ambit ca revoke --serial S | --identity spiffe://...        prints the new CRL
  ambit ca rotate-root                                        new self-signed root; the old one stays trusted
node tunnels (istioctl ztunnel-config habits; default: every node, rows prefixed with it):
  ambit tunnel-config workloads|services|policies|certificates|connections [--node nodeN] [-o json]
  ambit tunnel-config log [--level debug|info|warn|error] [--node nodeN]   view or change the log level
benchmarks (root; builds its own lab of namespaces, writes bench/results/*.json, BENCHMARKS.md, charts):
  ambit bench [--quick] [--rounds 3] [--systems plain,ambit,stunnel,haproxy,wireguard] [--measures ...]
global: --cluster NAME (or AMBIT_CLUSTER) selects the cluster (default: local)
`;

export async function main(argv: string[]): Promise<number> {
  let cluster: string | undefined;
  const args = [...argv];
  const ci = args.indexOf('--cluster');
  if (ci >= 0 && args[0] !== 'control-plane' && args[0] !== 'node-agent' && args[0] !== 'node-tunnel') {
    cluster = args[ci + 1];
    args.splice(ci, 2);
  }
  const [cmd, ...rest] = args;
  // The daemons validate AMBIT_LOG_LEVEL in their config loaders; other commands take it if it is valid.
  const level = parseLogLevel(process.env['AMBIT_LOG_LEVEL']);
  if (level) setLogLevel(level);
  const ctx = makeCtx(cluster);
  try {
    switch (cmd) {
      case 'cluster':
        return await clusterCommand(ctx, rest);
      case 'apply':
        return await applyCommand(ctx, rest);
      case 'get':
        return await getCommand(ctx, rest);
      case 'delete':
        return await deleteCommand(ctx, rest);
      case 'scale':
        return await scaleCommand(ctx, rest);
      case 'label':
        return await labelCommand(ctx, rest);
      case 'exec':
        return await execCommand(ctx, rest);
      case 'logs':
        return await logsCommand(ctx, rest);
      case 'analyze':
        return await analyzeCommand(ctx, rest);
      case 'tunnel-config':
        return await tunnelConfigCommand(ctx, rest);
      case 'app':
        return await appCommand(rest, process.env);
      case 'ca':
        return await caCommand(ctx, rest);
      case 'demo':
        return await demoCommand(ctx, rest);
      case 'control-plane':
        return await controlPlaneCommand(rest, process.env);
      case 'node-agent':
        return await nodeAgentCommand(rest, process.env);
      case 'tunnel':
        return await tunnelCommand(ctx, rest);
      case 'node-tunnel':
        return await nodeTunnelCommand(rest, process.env);
      case 'mesh-control-plane':
        return await meshControlPlaneCommand(rest, process.env);
      case 'bench':
        return await benchCommand(rest);
      case 'version':
      case '--version':
        ctx.out('ambit 0.1.0\n');
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        ctx.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        ctx.err(`unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const err = e as Error & { code?: unknown };
    if (e instanceof KubeApiError) ctx.err(`Error from server (${e.reason}): ${e.message}\n`);
    else if (e instanceof ConnectionError || typeof err.code === 'string') ctx.err(`error: ${err.message}\n`);
    else ctx.err(`error: ${err.stack ?? err.message}\n`);
    return e instanceof UsageError || e instanceof ConfigError || (err.code as string | undefined)?.startsWith?.('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
