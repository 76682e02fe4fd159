// What every `ambit` command declares about itself: name, arguments, summary and flags. The
// commands hand these same flag objects to parseArgs, and help is generated from them, so the
// two cannot drift. Pure and light: `ambit X --help` loads this, not the commands.
import { DEFAULT_TRUST_DOMAIN } from '../identity/spiffe.js';
import { LOG_LEVELS } from '../lib/log.js';
import { KINDS } from '../model/core/kinds.js';
import { defineFlags, type CommandSpec } from './help.js';
import { KIND_ALIASES, TUNNEL_CONFIG_KINDS, type TunnelConfigKind } from './tunnel-config-print.js';

// ---- cluster

const NAME = { type: 'string', arg: 'NAME', help: 'the cluster (same as the global --cluster; default: local)' } as const;

export const UP_FLAGS = defineFlags({
  nodes: { type: 'string', arg: 'N', help: 'how many nodes', default: '2' },
  name: NAME,
  'api-port': { type: 'string', arg: 'PORT', help: 'the API server port on 127.0.0.1 (default: the first free one from 6443)' },
  'trust-domain': { type: 'string', arg: 'TD', help: 'the mesh trust domain (default: cluster.local, or that of an existing CA)' },
});
export const DOWN_FLAGS = defineFlags({ name: NAME, force: { type: 'boolean', help: 'also remove leftovers of a crashed cluster (namespaces, links, processes)' } });
export const NAME_FLAGS = defineFlags({ name: NAME });

export const CLUSTER_SPECS: readonly CommandSpec[] = [
  { name: 'cluster', summary: 'create, inspect and remove the local cluster' },
  { name: 'cluster up', summary: 'create the local cluster and start its processes (root)', flags: UP_FLAGS },
  { name: 'cluster down', summary: 'stop the cluster and remove its namespaces, links and processes (root)', flags: DOWN_FLAGS },
  { name: 'cluster status', summary: 'the control plane and each node: running or not; exit 1 unless all are', flags: NAME_FLAGS },
  { name: 'cluster restart', args: 'control-plane', summary: 'restart the control plane (its state is kept on disk)', flags: NAME_FLAGS },
];

// ---- apply

export const APPLY_FLAGS = defineFlags({
  filename: { type: 'string', short: 'f', multiple: true, arg: 'FILE|DIR|-', required: true, help: 'a manifest file, a directory of *.yaml|*.yml|*.json, or - for stdin; repeatable' },
  namespace: { type: 'string', short: 'n', arg: 'NS', help: 'namespace for objects that name none (default: default)' },
});

export const APPLY_SPEC: CommandSpec = {
  name: 'apply',
  summary: 'create or update every object in the files (Namespaces first)',
  flags: APPLY_FLAGS,
  details: 'Objects are validated locally first; errors name the file, the document and the field.',
};

// ---- get, delete, scale, label

const NS = { type: 'string', short: 'n', arg: 'NS', help: 'the namespace (default: default)' } as const;
export const GET_FLAGS = defineFlags({
  namespace: NS,
  'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace' },
  output: { type: 'string', short: 'o', arg: 'wide|yaml|json', help: 'more columns, or the objects as YAML or JSON' },
  selector: { type: 'string', short: 'l', arg: 'SELECTOR', help: 'only objects whose labels match (k=v,k2!=v2,k3)' },
});
export const DELETE_FLAGS = defineFlags({
  filename: { type: 'string', short: 'f', multiple: true, arg: 'FILE|DIR|-', help: 'delete the objects in these manifests (Namespaces last)' },
  namespace: NS,
  force: { type: 'boolean', help: 'no grace period' },
  'ignore-not-found': { type: 'boolean', help: 'an object that does not exist is not an error' },
});
export const SCALE_FLAGS = defineFlags({ replicas: { type: 'string', arg: 'N', required: true, help: 'the new replica count' }, namespace: NS });
export const LABEL_FLAGS = defineFlags({ namespace: NS, overwrite: { type: 'boolean', help: 'allow changing a label that has a value' } });

export const RESOURCE_SPECS: readonly CommandSpec[] = [
  { name: 'get', args: 'KIND [NAME]', summary: 'list objects of a kind, or show one', flags: GET_FLAGS, details: `kinds: ${KINDS.filter((k, i) => KINDS.findIndex((x) => x.kind === k.kind) === i).map((k) => k.resource).join(', ')} (singular, short names and KIND/NAME work too)` },
  { name: 'delete', args: '(-f FILE | KIND NAME...)', summary: 'delete objects by name or from manifests', flags: DELETE_FLAGS },
  { name: 'scale', args: 'deployment/NAME', summary: "set a Deployment's replica count", flags: SCALE_FLAGS },
  { name: 'label', args: 'KIND NAME key=value... [key-...]', summary: 'set (k=v) or remove (k-) labels, e.g. on a namespace to enroll it', flags: LABEL_FLAGS },
];

// ---- exec, logs

export const EXEC_FLAGS = defineFlags({ namespace: { type: 'string', short: 'n', arg: 'NS', help: "the pod's namespace (default: default)" } });
export const LOGS_FLAGS = defineFlags({ ...EXEC_FLAGS, follow: { type: 'boolean', short: 'f', help: 'keep printing what the pod writes (Ctrl-C to stop)' } });

export const POD_SPECS: readonly CommandSpec[] = [
  { name: 'exec', args: 'POD -- CMD [ARGS...]', summary: "run a command in a pod's network namespace", flags: EXEC_FLAGS },
  { name: 'logs', args: 'POD', summary: "print a pod's log", flags: LOGS_FLAGS },
];

// ---- analyze

export const ANALYZE_FLAGS = defineFlags({
  filename: { type: 'string', short: 'f', multiple: true, arg: 'FILE|DIR|-', help: 'manifests to check (also as positionals); they overlay the running cluster' },
  namespace: { type: 'string', short: 'n', arg: 'NS', help: 'report only this namespace' },
  'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace (the default)' },
  output: { type: 'string', short: 'o', arg: 'json', help: 'findings as JSON' },
});

export const ANALYZE_SPEC: CommandSpec = {
  name: 'analyze',
  args: '[FILE...]',
  summary: 'find mesh config mistakes in files and/or the cluster; exit 1 on errors',
  flags: ANALYZE_FLAGS,
  details: 'Without files the running cluster is analyzed. Codes and fixes: docs/analyze.md.',
};

// ---- tunnel-config

const NODE = { type: 'string', arg: 'nodeN', help: "only this node's tunnel (default: every node, rows prefixed with it)" } as const;
export const KIND_FLAGS = defineFlags({ node: NODE, output: { type: 'string', short: 'o', arg: 'table|json', help: 'output format', default: 'table' } });
export const LOG_FLAGS = defineFlags({ node: NODE, level: { type: 'string', arg: LOG_LEVELS.join('|'), help: 'set the log level (without it: print it)' } });

const WHAT: Record<TunnelConfigKind, string> = {
  workloads: 'the workloads a node tunnel knows (address, node, protocol)',
  services: 'the services a node tunnel knows (VIPs, endpoints, waypoint)',
  policies: 'the authorization policies a node tunnel enforces',
  certificates: "the workload certificates a node tunnel holds (identity, serial, expiry)",
  connections: 'the connections a node tunnel carries now',
};

export const TUNNEL_CONFIG_SPECS: readonly CommandSpec[] = [
  { name: 'tunnel-config', summary: "what each node tunnel holds, from its admin port (like istioctl ztunnel-config)" },
  ...TUNNEL_CONFIG_KINDS.map((kind) => ({
    name: `tunnel-config ${kind}`,
    summary: WHAT[kind],
    flags: KIND_FLAGS,
    aliases: Object.keys(KIND_ALIASES).filter((a) => a !== kind && KIND_ALIASES[a] === kind),
  })),
  { name: 'tunnel-config log', summary: "view or change each node tunnel's log level", flags: LOG_FLAGS },
];

// ---- tunnel

export const RESTART_FLAGS = defineFlags({ node: { type: 'string', arg: 'nodeN', help: 'only this node (default: every node, one after the other)' } });

export const TUNNEL_SPECS: readonly CommandSpec[] = [
  { name: 'tunnel', summary: 'operate the node tunnels' },
  { name: 'tunnel restart', summary: "hand a node's pods to a new node tunnel without refusing connections", flags: RESTART_FLAGS },
];

// ---- the daemons cluster up starts

const CLUSTER_REQ = { type: 'string', arg: 'NAME', required: true, help: 'the cluster' } as const;
const NODE_REQ = { type: 'string', arg: 'nodeN', required: true, help: 'the node' } as const;
export const CP_FLAGS = defineFlags({ cluster: CLUSTER_REQ, port: { type: 'string', arg: 'PORT', required: true, help: 'the API server port' } });
export const NODE_FLAGS = defineFlags({ cluster: CLUSTER_REQ, node: NODE_REQ });
const STARTED = 'Started by ambit cluster up; runs until SIGTERM.';
/** Parsed by loadMeshControlPlaneConfig (its flag names come from here). */
export const MESH_CONTROL_PLANE_FLAGS = defineFlags({
  kubeconfig: { type: 'string', arg: 'FILE', help: 'the API server to watch (or KUBECONFIG; neither: in-cluster)' },
  context: { type: 'string', arg: 'NAME', help: "kubeconfig context (default: its current-context)" },
  'ca-dir': { type: 'string', arg: 'DIR', help: 'the CA directory (or ROOT_CA_DIR); a self-signed root is made in it on first use' },
  'node-token-key': { type: 'string', arg: 'FILE', help: 'key that signs node tokens (or NODE_TOKEN_KEY; default DIR/node-token-key.pem)' },
  secureGRPCAddr: { type: 'string', arg: 'ADDR', help: 'CA + delta ADS, gRPC over TLS (default 127.0.0.1:15012; ":15012" = every interface)' },
  monitoringAddr: { type: 'string', arg: 'ADDR', help: 'Prometheus /metrics (default 127.0.0.1:15014; "" = off)' },
  clusterID: { type: 'string', arg: 'ID', help: 'the cluster id (or CLUSTER_ID; default Kubernetes)' },
  'trust-domain': { type: 'string', arg: 'TD', help: 'the trust domain (or TRUST_DOMAIN; default cluster.local)' },
  'admin-token-file': { type: 'string', arg: 'FILE', help: 'bearer tokens (one a line) allowed to use the CA admin API (default: none)' },
});

export const DAEMON_SPECS: readonly CommandSpec[] = [
  { name: 'control-plane', summary: 'the API server, controllers, mesh CA and xDS (a daemon)', flags: CP_FLAGS, details: STARTED },
  { name: 'node-agent', summary: "a node's agent: runs its pods in network namespaces (a daemon)", flags: NODE_FLAGS, details: STARTED },
  {
    name: 'node-tunnel',
    summary: "a node's tunnel: mTLS (HBONE) for its pods (a daemon)",
    flags: NODE_FLAGS,
    details: `${STARTED} Environment (ztunnel's names): XDS_ADDRESS, CA_ADDRESS, CLUSTER_ID, SECRET_TTL, ZTUNNEL_WORKER_THREADS, CONNECTION_TERMINATION_DEADLINE, PROXY_MODE.`,
  },
  {
    name: 'mesh-control-plane',
    summary: 'the mesh control plane alone (CA + xDS + mesh controller) against any Kubernetes API server (a daemon)',
    flags: MESH_CONTROL_PLANE_FLAGS,
    details: 'Without --kubeconfig (or KUBECONFIG) it uses the in-cluster service account. Environment (istiod\'s names where it has one): KUBECONFIG, ROOT_CA_DIR, CLUSTER_ID, POD_NAMESPACE (where the CRL ConfigMap goes; default istio-system), TRUST_DOMAIN, NODE_TOKEN_KEY, CRL_VALIDITY, AMBIT_LOG_LEVEL. A flag wins over its variable.',
  },
];

// ---- ca

const ID = { type: 'string', arg: 'spiffe://TD/ns/NS/sa/SA', help: 'a workload identity' } as const;
export const CA_FLAGS = {
  init: defineFlags({
    'trust-domain': { type: 'string', arg: 'TD', help: 'the trust domain', default: DEFAULT_TRUST_DOMAIN },
    plugin: { type: 'string', arg: 'DIR', help: 'use an existing CA: Istio cacerts files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)' },
  }),
  status: defineFlags({}),
  issue: defineFlags({
    identity: { ...ID, required: true },
    out: { type: 'string', arg: 'DIR', required: true, help: 'where to write cert.pem, key.pem (0600) and root.pem' },
    ttl: { type: 'string', arg: 'DURATION', help: 'lifetime (90s, 1h, 30d; default: the CA default, 24h)' },
  }),
  revoke: defineFlags({ serial: { type: 'string', arg: 'SERIAL', help: 'one certificate' }, identity: { ...ID, help: 'every unexpired certificate of this identity' } }),
  'rotate-root': defineFlags({}),
};
export type CaSub = keyof typeof CA_FLAGS;

export const CA_SPECS: readonly CommandSpec[] = [
  {
    name: 'ca',
    summary: 'the mesh certificate authority',
    details: 'With the cluster running, commands go through the CaAdmin API (admin token); when it is not\nrunning, status, issue, revoke and rotate-root work on <state>/<cluster>/ca directly, and say so.',
  },
  { name: 'ca init', summary: 'before cluster up: create the CA (self-signed, or from Istio cacerts files)', flags: CA_FLAGS.init },
  { name: 'ca status', summary: 'mode, root and signing fingerprints and expiry, counts', flags: CA_FLAGS.status },
  { name: 'ca issue', summary: 'issue a workload certificate', flags: CA_FLAGS.issue },
  { name: 'ca revoke', summary: 'revoke by serial or by identity (exactly one); prints the new CRL', flags: CA_FLAGS.revoke },
  { name: 'ca rotate-root', summary: 'a new self-signed root signs from now on; the old one stays trusted', flags: CA_FLAGS['rotate-root'] },
];

// ---- app

export const ECHO_FLAGS = defineFlags({
  'http-port': { type: 'string', arg: 'PORT', help: 'HTTP/1.1 + h2c port', default: '8080' },
  'tcp-port': { type: 'string', arg: 'PORT', help: 'raw TCP echo port', default: '9000' },
  host: { type: 'string', arg: 'ADDR', help: 'address to listen on', default: '0.0.0.0' },
  name: { type: 'string', arg: 'NAME', help: 'the name it answers with when $POD_NAME is unset (default: echo)' },
});
export const LOAD_FLAGS = defineFlags({
  url: { type: 'string', arg: 'URL', required: true, help: 'what to request' },
  rate: { type: 'string', arg: 'RPS', required: true, help: 'requests per second, sent at a constant rate' },
  duration: { type: 'string', arg: 'DURATION', help: 'how long', default: '10s' },
  connections: { type: 'string', arg: 'N', help: 'connections to spread the requests over', default: '4' },
  payload: { type: 'string', arg: 'BYTES', help: 'request body size (POST when > 0)', default: '0' },
  method: { type: 'string', arg: 'M', help: 'HTTP method (default: GET, or POST with a payload)' },
  timeout: { type: 'string', arg: 'DURATION', help: 'per request', default: '5s' },
  http2: { type: 'boolean', help: 'HTTP/2 (h2c) instead of HTTP/1.1', default: false },
  json: { type: 'boolean', help: 'also print the full report as JSON', default: false },
});

export const APP_SPECS: readonly CommandSpec[] = [
  { name: 'app', summary: 'the sample apps, run as pod commands' },
  { name: 'app echo', summary: 'echo server: HTTP (who answered, who asked) and raw TCP echo; stops on SIGTERM', flags: ECHO_FLAGS },
  { name: 'app load', summary: 'constant-rate HTTP load with latency percentiles; exit 1 on any error or non-2xx', flags: LOAD_FLAGS },
];

// ---- bench (the harness, bench/ambit-bench.ts, parses these same flags)

export const BENCH_FLAGS = defineFlags({
  quick: { type: 'boolean', default: false, help: 'the short preset (3 short rounds, under 10 minutes)' },
  rounds: { type: 'string', arg: 'N', help: 'rounds; each runs every measure on every system (default: 3)' },
  systems: { type: 'string', arg: 'LIST', help: 'comma-separated: plain, ambit, stunnel, haproxy, wireguard (default: all)' },
  measures: { type: 'string', arg: 'LIST', help: 'comma-separated measure keys, e.g. tput-1,lat-own-4000 (default: all)' },
  seconds: { type: 'string', arg: 'S', help: 'iperf3 seconds per throughput run' },
  'lat-seconds': { type: 'string', arg: 'S', help: 'seconds per latency run' },
  'no-control-plane': { type: 'boolean', default: false, help: 'skip the CA and xDS benchmarks' },
  'no-report': { type: 'boolean', default: false, help: 'write the JSON only (no BENCHMARKS.md, no charts)' },
  md: { type: 'string', arg: 'FILE', help: 'the Markdown report (default: BENCHMARKS.md)' },
  out: { type: 'string', arg: 'DIR', help: 'where the JSON goes (default: bench/results)' },
  'tunnel-args': { type: 'string', arg: "'NODE FLAGS'", help: "node flags for the tunnel processes (write --tunnel-args='...')" },
});

export const BENCH_SPEC: CommandSpec = {
  name: 'bench',
  summary: 'the mesh against plain TCP, stunnel, haproxy and wireguard-go on one path (root)',
  flags: BENCH_FLAGS,
  details: 'Builds its own lab of namespaces and removes it on exit; writes bench/results/*.json, BENCHMARKS.md and charts.',
};

// ---- demo

export const DEMO_SPEC: CommandSpec = {
  name: 'demo',
  summary: 'the guided demo: a 2-node cluster, examples/demo, traffic, HBONE, a policy (root)',
  details: 'What npm start runs. Reuses the cluster if it is already up; ambit cluster down removes it.',
};

// ---- waypoint (istioctl waypoint's habits)

const WP_NS = { type: 'string', short: 'n', arg: 'NS', help: 'the namespace (default: default)' } as const;
export const WAYPOINT_FLAGS = {
  apply: defineFlags({
    namespace: WP_NS,
    name: { type: 'string', arg: 'NAME', help: 'the waypoint (Gateway) name', default: 'waypoint' },
    'enroll-namespace': { type: 'boolean', help: 'label the namespace istio.io/use-waypoint=NAME: its services use this waypoint' },
    overwrite: { type: 'boolean', help: 'with --enroll-namespace: replace the waypoint the namespace already uses' },
    for: { type: 'string', arg: 'service|workload|all|none', help: 'traffic the waypoint handles (label istio.io/waypoint-for; unset: service)' },
    wait: { type: 'boolean', help: 'wait until the waypoint is Programmed (has a ready pod and an address)' },
    timeout: { type: 'string', arg: 'DURATION', help: 'how long --wait waits', default: '90s' },
  }),
  list: defineFlags({ namespace: WP_NS, 'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace' } }),
  status: defineFlags({ namespace: WP_NS, name: { type: 'string', arg: 'NAME', help: 'only this waypoint (default: every waypoint of the namespace)' } }),
  delete: defineFlags({ namespace: WP_NS, all: { type: 'boolean', help: 'every waypoint of the namespace' } }),
  run: defineFlags({}),
};

export const WAYPOINT_SPECS: readonly CommandSpec[] = [
  { name: 'waypoint', summary: 'manage waypoints (L7 proxies for a namespace\'s services), like istioctl waypoint' },
  { name: 'waypoint apply', summary: 'create or update a waypoint Gateway (class istio-waypoint, HBONE listener 15008)', flags: WAYPOINT_FLAGS.apply },
  { name: 'waypoint list', summary: 'the waypoints: name, revision, traffic type, programmed', flags: WAYPOINT_FLAGS.list },
  { name: 'waypoint status', summary: "a waypoint's pods, addresses, conditions and the services bound to it", flags: WAYPOINT_FLAGS.status },
  { name: 'waypoint delete', args: 'NAME...|--all', summary: 'delete waypoints (their Deployment, Service and ServiceAccount go with them)', flags: WAYPOINT_FLAGS.delete },
  {
    name: 'waypoint run',
    summary: "the waypoint proxy process (a waypoint pod's command; a daemon)",
    flags: WAYPOINT_FLAGS.run,
    details: 'Started in a waypoint pod by the node agent; runs until SIGTERM. Environment: POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME, SERVICE_ACCOUNT, TRUST_DOMAIN, ISTIO_META_CLUSTER_ID, WAYPOINT_NAME, CA_ADDRESS, XDS_ADDRESS, CA_ROOT_FILE, ISTIO_TOKEN_FILE, AMBIT_LOG_LEVEL. Ports: HBONE 15008, stats 15020, readiness 15021 (/healthz/ready), admin 127.0.0.1:15000 (/config_dump).',
  },
];
