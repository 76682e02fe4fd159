// The layers of src/ and which may import which: the one source for the import checker
// (.dependency-cruiser.mjs, run by test/unit/import-rules.test.ts) and ARCHITECTURE.md's folder
// map (checked against this table by the same test; `node scripts/layers.mjs` prints it).
export const LAYERS = [
  { dir: 'lib', holds: 'small shared utilities: durations, logging, the metrics registry, IP/CIDR helpers', may: [] },
  { dir: 'platform', holds: 'Linux: processes, sockets opened in other network namespaces (koffi), nftables capture rules', may: ['mesh-api', 'lib'] },
  { dir: 'mesh-api', holds: "the mesh's wire contracts: ambient xDS resource types (Workload, Service, Authorization), ports, labels and annotations, ZDS enrollment messages", may: ['lib'] },
  { dir: 'model', holds: 'config model: schemas, validation and warnings of the Kubernetes, Istio and Gateway API kinds', may: ['mesh-api', 'lib'] },
  { dir: 'authz', holds: "pure L4 authorization: the attribute table and ztunnel's evaluation rules", may: ['mesh-api', 'lib'] },
  { dir: 'identity', holds: 'SPIFFE IDs, X.509, chain and CRL checks, the CA client and certificate manager', may: ['mesh-api', 'lib'] },
  { dir: 'xds', holds: 'the push contract: resource-type registry, protobuf codecs and delta-xDS wire helpers', may: ['mesh-api', 'lib'] },
  { dir: 'kube', holds: 'Kubernetes API client and informers (any conventional API server)', may: ['model', 'lib'] },
  // analyze predicts what translation will do; it reuses translation's own pure decisions (e.g.
  // which PeerAuthentication keys a workload lists) rather than a copy that could drift.
  // control-plane/translate imports only model, mesh-api, authz and lib, all allowed here too.
  { dir: 'analyze', holds: '`ambit analyze` checks over config (pure)', may: ['model', 'authz', 'mesh-api', 'control-plane/translate', 'lib'] },
  { dir: 'ca', holds: "the CA: Istio's CreateCertificate API, node and workload credentials, ledger, CRL, publisher", may: ['identity', 'kube', 'model', 'mesh-api', 'lib'] },
  { dir: 'control-plane', holds: "the mesh control plane (istiod's role): translation to ambient resources, mesh controller, delta xDS server; runs against any API server", may: ['ca', 'xds', 'kube', 'model', 'mesh-api', 'authz', 'identity', 'analyze', 'lib'] },
  { dir: 'dataplane', holds: 'what every proxy shares: mesh state and indexes, HBONE, connection records, telemetry, admin and readiness servers, xDS client', may: ['xds', 'mesh-api', 'authz', 'identity', 'platform', 'lib'] },
  { dir: 'node-tunnel', holds: "the node tunnel (ztunnel's role): in-pod sockets, enrollment, inbound/outbound, worker threads", may: ['dataplane', 'xds', 'mesh-api', 'authz', 'identity', 'platform', 'lib'] },
  { dir: 'waypoint', holds: 'the waypoint (L7 proxy)', may: ['dataplane', 'xds', 'mesh-api', 'authz', 'identity', 'platform', 'lib'] },
  { dir: 'local', holds: 'the local cluster stand-in: API server, controllers, scheduler, node agents (kubelet, kube-proxy, DNS, CNI roles), cluster lifecycle', may: ['control-plane', 'ca', 'kube', 'model', 'mesh-api', 'identity', 'platform', 'lib'] },
  { dir: 'apps', holds: 'sample apps: echo server and load client', may: ['lib'] },
  { dir: 'cli', holds: 'the `ambit` command line', may: ['*'] },
  { dir: 'bin', holds: 'the executable entry point', may: ['cli'] },
];

/** Folders whose code must stay free of I/O (pure decisions). */
export const PURE = ['src/authz/', 'src/control-plane/translate/', 'src/analyze/'];
/** Folders that must never parse user YAML (the data plane gets typed config over xDS). */
export const NO_YAML = ['src/dataplane/', 'src/node-tunnel/', 'src/waypoint/', 'src/authz/', 'src/xds/'];

/** ARCHITECTURE.md's folder map, generated from LAYERS. */
export function folderMap() {
  const rows = LAYERS.map((l) => `| \`src/${l.dir}/\` | ${l.holds} | ${l.may.length === 0 ? '–' : l.may.includes('*') ? 'anything' : l.may.map((m) => `\`${m}\``).join(', ')} |`);
  return ['| Folder | Holds | May import |', '|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(folderMap());
