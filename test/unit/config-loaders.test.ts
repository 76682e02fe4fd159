// The per-binary config loaders: (argv, env) → typed config, or an error that names the bad
// value. Pure functions, so every case is a direct call.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { controlPlaneAddress, loadControlPlaneConfig, loadNodeAgentConfig, loadNodeTunnelConfig, type NodeTunnelProcessConfig } from '../../src/cli/commands/daemon-config.js';
import { loadMeshControlPlaneConfig, type MeshControlPlaneSettings } from '../../src/cli/commands/mesh-control-plane-config.js';
import { clientConfigFromKubeconfig, KubeconfigError } from '../../src/kube/kubeconfig.js';
import { ConfigError, listenAddressValue } from '../../src/lib/config.js';

const TUNNEL_ARGS = ['--cluster', 'local', '--node', 'node1'];

function ok<T>(v: T | ConfigError): T {
  if (v instanceof ConfigError) assert.fail(`unexpected config error: ${v.message}`);
  return v;
}

function err(v: unknown): string {
  assert.ok(v instanceof ConfigError, `expected a ConfigError, got ${JSON.stringify(v)}`);
  return v.message;
}

const tunnel = (env: Record<string, string>, cores = 4): NodeTunnelProcessConfig | ConfigError => loadNodeTunnelConfig(TUNNEL_ARGS, env, cores);

describe('node tunnel config (ztunnel variable names)', () => {
  it('defaults', () => {
    const c = ok(tunnel({}));
    assert.equal(c.cluster, 'local');
    assert.equal(c.node, 'node1');
    assert.equal(c.stateDir, '/var/lib/ambit');
    assert.equal(c.threads, 2);
    assert.equal(c.drainDeadlineMs, 5000);
    assert.equal(c.certTtlSeconds, undefined);
    assert.equal(c.xdsAddress, undefined);
    assert.equal(c.logLevel, 'info');
  });

  it('reads every knob', () => {
    const c = ok(tunnel({ SECRET_TTL: '90m', ZTUNNEL_WORKER_THREADS: '50%', CONNECTION_TERMINATION_DEADLINE: '15s', XDS_ADDRESS: 'https://istiod.example:15012', CA_ADDRESS: '10.0.0.5:15012', PROXY_MODE: 'shared', AMBIT_STATE_DIR: '/tmp/s', AMBIT_LOG_LEVEL: 'debug' }, 8));
    assert.equal(c.certTtlSeconds, 5400);
    assert.equal(c.threads, 4);
    assert.equal(c.drainDeadlineMs, 15_000);
    assert.equal(c.xdsAddress, 'istiod.example:15012');
    assert.equal(c.caAddress, '10.0.0.5:15012');
    assert.equal(c.stateDir, '/tmp/s');
    assert.equal(c.logLevel, 'debug');
  });

  it('an empty variable means the default, as in ztunnel', () => {
    assert.equal(ok(tunnel({ SECRET_TTL: '', ZTUNNEL_WORKER_THREADS: '' })).threads, 2);
  });

  it('derives the drain deadline from the pod grace period', () => {
    assert.equal(ok(tunnel({ TERMINATION_GRACE_PERIOD_SECONDS: '30' })).drainDeadlineMs, 25_000);
    assert.equal(ok(tunnel({ TERMINATION_GRACE_PERIOD_SECONDS: '5' })).drainDeadlineMs, 4000);
  });

  it('names each bad value', () => {
    assert.equal(err(tunnel({ SECRET_TTL: 'abc' })), 'SECRET_TTL="abc": not a duration (e.g. 24h, 90m, 30s)');
    assert.equal(err(tunnel({ SECRET_TTL: '30s' })), 'SECRET_TTL="30s": must be at least 60s');
    assert.match(err(tunnel({ ZTUNNEL_WORKER_THREADS: 'many' })), /^ZTUNNEL_WORKER_THREADS="many": want 1-64 threads/);
    assert.match(err(tunnel({ ZTUNNEL_WORKER_THREADS: '0' })), /^ZTUNNEL_WORKER_THREADS="0"/);
    assert.match(err(tunnel({ CONNECTION_TERMINATION_DEADLINE: '5 s' })), /^CONNECTION_TERMINATION_DEADLINE="5 s": not a duration/);
    assert.match(err(tunnel({ TERMINATION_GRACE_PERIOD_SECONDS: '-1' })), /^TERMINATION_GRACE_PERIOD_SECONDS="-1": not a number of seconds/);
    assert.match(err(tunnel({ XDS_ADDRESS: 'http://istiod:15010' })), /^XDS_ADDRESS="http:\/\/istiod:15010": not an address/);
    assert.match(err(tunnel({ CA_ADDRESS: 'istiod' })), /^CA_ADDRESS="istiod": not an address/);
    assert.match(err(tunnel({ PROXY_MODE: 'dedicated' })), /^PROXY_MODE="dedicated": only shared is supported/);
    assert.match(err(tunnel({ PROXY_MODE: 'Shared' })), /^PROXY_MODE="Shared": want shared/);
    assert.match(err(tunnel({ AMBIT_LOG_LEVEL: 'loud' })), /^AMBIT_LOG_LEVEL="loud": want debug, info, warn or error/);
  });

  it('names bad or missing flags', () => {
    assert.match(err(loadNodeTunnelConfig(['--cluster', 'local'], {}, 4)), /--node \(or NODE_NAME\) is required/);
    assert.equal(ok(loadNodeTunnelConfig(['--cluster', 'local'], { NODE_NAME: 'node2' }, 4)).node, 'node2');
    assert.match(err(loadNodeTunnelConfig(['--cluster', 'local', '--node', 'worker'], {}, 4)), /^--node="worker": not a node name/);
    assert.match(err(loadNodeTunnelConfig(['--cluster', 'Bad!', '--node', 'node1'], {}, 4)), /^--cluster: cluster name 'Bad!'/);
    assert.match(err(loadNodeTunnelConfig([...TUNNEL_ARGS, '--nodes', '2'], {}, 4)), /Unknown option '--nodes'[\s\S]*usage: ambit node-tunnel/);
  });

  it('control-plane addresses: https:// or bare host:port, IPv6 in brackets', () => {
    assert.equal(controlPlaneAddress('X', 'https://[fd00::1]:15012/'), '[fd00::1]:15012');
    assert.throws(() => controlPlaneAddress('X', 'host:99999'), /X="host:99999"/);
  });
});

describe('control plane and node agent config', () => {
  it('reads --cluster and --port', () => {
    const c = ok(loadControlPlaneConfig(['--cluster', 'c1', '--port', '6443'], { AMBIT_STATE_DIR: '/tmp/x' }));
    assert.deepEqual(c, { cluster: 'c1', stateDir: '/tmp/x', logLevel: 'info', apiPort: 6443 });
    assert.equal(ok(loadNodeAgentConfig(['--cluster', 'c1', '--node', 'node3'], {})).node, 'node3');
  });

  it('names bad values', () => {
    assert.equal(err(loadControlPlaneConfig(['--cluster', 'c1', '--port', '70000'], {})), '--port="70000": not a port (0-65535)');
    assert.match(err(loadControlPlaneConfig(['--cluster', 'c1'], {})), /--port is required/);
    assert.match(err(loadNodeAgentConfig(['--node', 'node1'], {})), /--cluster is required/);
  });
});

describe('mesh control plane config (istiod names)', () => {
  const mesh = (argv: string[], env: Record<string, string> = {}): MeshControlPlaneSettings | ConfigError => loadMeshControlPlaneConfig(argv, env);

  it('a kubeconfig and a CA dir are enough; defaults as istiod', () => {
    const c = ok(mesh(['--kubeconfig', '/etc/k/config', '--ca-dir', '/etc/cacerts']));
    assert.deepEqual(c.api, { kind: 'kubeconfig', file: '/etc/k/config' });
    assert.equal(c.clusterId, 'Kubernetes');
    assert.equal(c.trustDomain, 'cluster.local');
    assert.equal(c.systemNamespace, 'istio-system');
    assert.equal(c.caDir, '/etc/cacerts');
    assert.equal(c.nodeTokenKeyFile, '/etc/cacerts/node-token-key.pem');
    assert.deepEqual(c.grpc, { host: '127.0.0.1', port: 15012 });
    assert.deepEqual(c.monitoring, { host: '127.0.0.1', port: 15014 });
  });

  it('environment: KUBECONFIG, ROOT_CA_DIR, CLUSTER_ID, TRUST_DOMAIN, POD_NAMESPACE, CRL_VALIDITY; flags win', () => {
    const env = { KUBECONFIG: '/k', ROOT_CA_DIR: '/ca', CLUSTER_ID: 'east', TRUST_DOMAIN: 'example.org', POD_NAMESPACE: 'mesh', CRL_VALIDITY: '2h', NODE_TOKEN_KEY: '/keys/n.pem' };
    const c = ok(mesh(['--clusterID', 'west', '--secureGRPCAddr', ':15012', '--monitoringAddr', ''], env));
    assert.deepEqual(c.api, { kind: 'kubeconfig', file: '/k' });
    assert.equal(c.clusterId, 'west');
    assert.equal(c.trustDomain, 'example.org');
    assert.equal(c.systemNamespace, 'mesh');
    assert.equal(c.crlValiditySeconds, 7200);
    assert.equal(c.nodeTokenKeyFile, '/keys/n.pem');
    assert.deepEqual(c.grpc, { host: '0.0.0.0', port: 15012 });
    assert.equal(c.monitoring, undefined);
  });

  it('in-cluster without a kubeconfig', () => {
    const c = ok(mesh(['--ca-dir', '/ca'], { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }));
    assert.deepEqual(c.api, { kind: 'in-cluster', host: 'fd00::1', port: '443', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
  });

  it('names each bad value', () => {
    assert.match(err(mesh(['--ca-dir', '/ca'])), /^no API server: pass --kubeconfig FILE/);
    assert.match(err(mesh(['--kubeconfig', '/k'])), /^the CA directory is required: pass --ca-dir DIR or set ROOT_CA_DIR/);
    assert.match(err(mesh(['--ca-dir', '/ca'], { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'https' })), /^KUBERNETES_SERVICE_PORT="https": not a port/);
    assert.match(err(mesh(['--kubeconfig', '/k', '--ca-dir', '/ca', '--secureGRPCAddr', '15012'])), /^--secureGRPCAddr="15012": not a listen address/);
    assert.match(err(mesh(['--kubeconfig', '/k', '--ca-dir', '/ca'], { TRUST_DOMAIN: 'Example.ORG' })), /^TRUST_DOMAIN="Example.ORG": trust domain/);
    assert.match(err(mesh(['--kubeconfig', '/k', '--ca-dir', '/ca'], { CLUSTER_ID: 'a b' })), /^CLUSTER_ID="a b"/);
    assert.match(err(mesh(['--kubeconfig', '/k', '--ca-dir', '/ca'], { POD_NAMESPACE: 'Istio_System' })), /^POD_NAMESPACE="Istio_System": not a namespace name/);
    assert.equal(err(mesh(['--kubeconfig', '/k', '--ca-dir', '/ca'], { CRL_VALIDITY: 'abc' })), 'CRL_VALIDITY="abc": not a duration (e.g. 24h, 90m, 30s)');
    assert.match(err(mesh(['--kubeconfig', '/a:/b', '--ca-dir', '/ca'])), /^KUBECONFIG="\/a:\/b": several files are not supported/);
    assert.match(err(mesh(['--ca-dir', '/ca', '--context', 'x'])), /--context needs --kubeconfig/);
  });

  it('listen addresses', () => {
    assert.deepEqual(listenAddressValue('A', '[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(listenAddressValue('A', '10.0.0.1:15012'), { host: '10.0.0.1', port: 15012 });
  });
});

describe('kubeconfig', () => {
  const doc = (user: string): string => `apiVersion: v1
current-context: a
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}}
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: c, user: missing}
users:
- name: u
  user: ${user}
`;
  const noFiles = (f: string): string => assert.fail(`unexpected read of ${f}`);

  it('token user, current context', () => {
    assert.deepEqual(clientConfigFromKubeconfig(doc('{token: t0}'), 'kc', '/d', noFiles), { baseUrl: 'https://10.0.0.1:6443', token: 't0', ca: 'CA PEM' });
  });

  it('tokenFile and client certificate files resolve against the kubeconfig directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-kubeconfig-'));
    try {
      for (const [f, v] of [['tok', 't1\n'], ['c.pem', 'CERT'], ['k.pem', 'KEY']]) fs.writeFileSync(path.join(dir, f!), v!);
      const read = (f: string): string => fs.readFileSync(f, 'utf8');
      assert.deepEqual(clientConfigFromKubeconfig(doc('{tokenFile: tok}'), 'kc', dir, read), { baseUrl: 'https://10.0.0.1:6443', token: 't1', ca: 'CA PEM' });
      assert.deepEqual(clientConfigFromKubeconfig(doc('{client-certificate: c.pem, client-key: k.pem}'), 'kc', dir, read), { baseUrl: 'https://10.0.0.1:6443', ca: 'CA PEM', cert: 'CERT', key: 'KEY' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong', () => {
    assert.throws(() => clientConfigFromKubeconfig(doc('{token: t}'), 'kc', '/d', noFiles, 'b'), (e: unknown) => e instanceof KubeconfigError && /kc: no user named 'missing'/.test(e.message));
    assert.throws(() => clientConfigFromKubeconfig(doc('{token: t}'), 'kc', '/d', noFiles, 'zz'), /kc: no context named 'zz'/);
    assert.throws(() => clientConfigFromKubeconfig(doc('{exec: {command: aws}}'), 'kc', '/d', noFiles), /exec\/auth-provider plugin, which is not supported/);
    assert.throws(() => clientConfigFromKubeconfig('clusters: [', 'kc', '/d', noFiles), /kc: not YAML/);
  });
});
