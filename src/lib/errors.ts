// Stable error codes for what users and operators see, in the way undici names its errors
// (UND_ERR_*): every expected failure carries one `AMBIT_E_<WORDS>` code that scripts and
// docs can rely on while the message text improves. docs/errors.md lists the same table.
// Pure: no I/O.

/** Who meets the error: a CLI user, an operator running the daemons, or a mesh client (node tunnel, CA caller). */
export type Audience = 'user' | 'operator' | 'client';

export interface ErrorInfo {
  who: Audience;
  /** One line: what went wrong. */
  meaning: string;
  /** One line: what to do about it (printed as the hint when the error gives none). */
  fix: string;
}

type Table = Record<`AMBIT_E_${string}`, ErrorInfo>;

/** Every code outside the data plane (src/dataplane/ keeps its own table in the same format). */
export const ERRORS = {
  // The command line and the processes behind it.
  AMBIT_E_USAGE: { who: 'user', meaning: 'the command line is wrong: unknown flag, missing or extra argument', fix: 'follow the usage printed with the error, or run the command with --help' },
  AMBIT_E_CONFIG_INVALID: { who: 'operator', meaning: 'a daemon flag or environment variable has a value it cannot start with', fix: 'correct the flag or variable the message names; the command help lists what each takes' },
  AMBIT_E_BUG: { who: 'user', meaning: 'an unexpected internal error: a bug in Ambit', fix: 'report it with the command you ran and the stack trace printed below the error' },
  AMBIT_E_SYSTEM: { who: 'operator', meaning: 'an operating-system call failed (file missing or unreadable, permission denied, address in use)', fix: 'check the path, permission or address the message names' },
  AMBIT_E_NOT_ROOT: { who: 'user', meaning: 'the command changes host networking and needs root', fix: 'run it as root, e.g. sudo ambit ...' },
  AMBIT_E_MISSING_TOOL: { who: 'user', meaning: 'a host tool the command runs (ip, nft, curl, ...) is not installed', fix: 'install it with the apt-get line in the message' },
  AMBIT_E_COMMAND_FAILED: { who: 'operator', meaning: 'a host tool (ip, nft, ...) exited with an error', fix: 'read its stderr in the message; leftovers of an earlier run are removed with ambit cluster down --force' },
  // The local cluster's lifecycle.
  AMBIT_E_CLUSTER_NOT_RUNNING: { who: 'user', meaning: 'the named cluster has no state file: it is not up', fix: 'start it with ambit cluster up (--name NAME for another cluster), or pass the right --cluster' },
  AMBIT_E_CLUSTER_EXISTS: { who: 'user', meaning: 'a cluster with this name is already up', fix: 'use it, or remove it first with ambit cluster down' },
  AMBIT_E_CLUSTER_LEFTOVERS: { who: 'user', meaning: 'namespaces or processes of an earlier run of this cluster are still there', fix: 'remove them with ambit cluster down --force' },
  AMBIT_E_CLUSTER_OPTION: { who: 'user', meaning: 'a cluster option is out of range (--name, --nodes, --trust-domain)', fix: 'pick a value in the range the message gives' },
  AMBIT_E_CLUSTER_STATE: { who: 'operator', meaning: "the cluster's state files are incomplete (a token, credential or port is missing)", fix: 'recreate the cluster: ambit cluster down, then ambit cluster up' },
  AMBIT_E_CLUSTER_START_FAILED: { who: 'operator', meaning: 'a cluster daemon did not start or did not become ready in time', fix: 'read the log file the message names; ambit cluster status shows what runs' },
  AMBIT_E_NODE_NOT_FOUND: { who: 'user', meaning: 'the cluster has no node with that name', fix: 'use one of the nodes the message lists' },
  AMBIT_E_PORT_IN_USE: { who: 'user', meaning: 'a port the cluster needs on 127.0.0.1 is taken', fix: 'stop what holds it, or pick another port with the flag the message names' },
  AMBIT_E_TRUST_DOMAIN_MISMATCH: { who: 'user', meaning: "the existing CA is for another trust domain than the one asked for", fix: "pass the CA's trust domain, or remove the CA directory to make a new one" },
  // The Kubernetes API (client side and the local API server's Status replies).
  AMBIT_E_API_UNREACHABLE: { who: 'user', meaning: 'the API server does not answer', fix: 'check the cluster is up: ambit cluster status' },
  AMBIT_E_KUBECONFIG: { who: 'operator', meaning: 'the kubeconfig (or in-cluster files) cannot give a usable client config', fix: 'fix the kubeconfig entry the message names' },
  AMBIT_E_STORE_CORRUPT: { who: 'operator', meaning: "the API server's write-ahead log or snapshot cannot be read back", fix: 'recreate the cluster (ambit cluster down, up); the message names the damaged file' },
  AMBIT_E_API_NOT_FOUND: { who: 'user', meaning: 'the object or resource does not exist (Status reason NotFound)', fix: 'check the name, namespace and kind: ambit get KIND -n NAMESPACE' },
  AMBIT_E_API_ALREADY_EXISTS: { who: 'user', meaning: 'an object with this name already exists (AlreadyExists)', fix: 'use apply instead of create, or delete the old object' },
  AMBIT_E_API_CONFLICT: { who: 'user', meaning: 'the object changed since it was read (Conflict)', fix: 'read it again and retry the update' },
  AMBIT_E_API_INVALID: { who: 'user', meaning: 'the object fails validation (Invalid); the causes name the fields', fix: 'fix the fields the message names' },
  AMBIT_E_API_BAD_REQUEST: { who: 'user', meaning: 'the request itself is malformed (BadRequest)', fix: 'check the request body, query and selector the message names' },
  AMBIT_E_API_UNAUTHORIZED: { who: 'user', meaning: 'no valid token or client certificate (Unauthorized)', fix: "use the cluster's credentials: ambit's admin token or the kubeconfig ambit cluster up wrote" },
  AMBIT_E_API_FORBIDDEN: { who: 'user', meaning: 'the credential may not do this (Forbidden)', fix: 'use a credential with that permission (node tokens are limited to their node)' },
  AMBIT_E_API_METHOD_NOT_ALLOWED: { who: 'user', meaning: 'the resource does not support this verb (MethodNotAllowed)', fix: 'use a verb the resource supports' },
  AMBIT_E_API_EXPIRED: { who: 'client', meaning: 'the watch resourceVersion is too old (Expired/Gone)', fix: 'list again and watch from the new resourceVersion (informers do this themselves)' },
  AMBIT_E_API_UNSUPPORTED_MEDIA_TYPE: { who: 'user', meaning: 'the patch or body content type is not supported (UnsupportedMediaType)', fix: 'send JSON merge, strategic merge or JSON patch' },
  AMBIT_E_API_TOO_LARGE: { who: 'user', meaning: 'the request body or object is over the API server\'s limit (3 MiB a request, 1.5 MiB an object)', fix: 'split the manifest into smaller documents or objects' },
  AMBIT_E_API_INTERNAL: { who: 'operator', meaning: 'the API server failed (InternalError)', fix: "read the control plane's log; it names the failure" },
  // Manifests for apply/delete -f.
  AMBIT_E_MANIFEST_NOT_FOUND: { who: 'user', meaning: 'a -f path does not exist', fix: 'check the file or directory path' },
  AMBIT_E_MANIFEST_INVALID: { who: 'user', meaning: 'a manifest is not YAML or an object in it fails validation; each line names file, document and field', fix: 'fix the fields listed; nothing was applied' },
  // The mesh CA: CreateCertificate refusals (the gRPC status stays Istio's; details start with the code).
  AMBIT_E_CA_UNAUTHENTICATED: { who: 'client', meaning: 'the CA request has no valid node token', fix: 'send the ca-token ambit cluster up wrote for the node (a token expires; cluster up writes fresh ones)' },
  AMBIT_E_CA_UNKNOWN_CLUSTER: { who: 'client', meaning: "the request's clusterid is not this CA's cluster", fix: "set CLUSTER_ID on the node tunnel to the CA's cluster id" },
  AMBIT_E_CA_NO_IMPERSONATION: { who: 'client', meaning: 'a node token asked for a certificate without naming a pod identity', fix: "set the ImpersonatedIdentity metadata to the pod's SPIFFE ID" },
  AMBIT_E_CA_IMPERSONATION_DENIED: { who: 'client', meaning: "a workload (service-account) token asked for an identity other than its own", fix: 'request only spiffe://<td>/ns/<ns>/sa/<sa> of the token, or leave ImpersonatedIdentity unset' },
  AMBIT_E_CA_BAD_IDENTITY: { who: 'client', meaning: 'the requested identity is not a SPIFFE ID of this trust domain', fix: 'request spiffe://<trust domain>/ns/<ns>/sa/<sa>' },
  AMBIT_E_CA_NOT_ON_NODE: { who: 'client', meaning: 'no pod with that service account runs on the requesting node', fix: 'request identities only for pods on your own node (the message lists where it runs)' },
  AMBIT_E_CA_BAD_CSR: { who: 'client', meaning: 'the certificate request is empty, malformed or not ECDSA P-256 for the identity', fix: 'send a PEM PKCS#10 CSR, ECDSA P-256, URI SAN = the identity' },
  AMBIT_E_CA_BAD_TTL: { who: 'client', meaning: 'the requested certificate lifetime is not a number or above the maximum', fix: 'ask for a lifetime within the maximum the message gives' },
  AMBIT_E_CA_INTERNAL: { who: 'operator', meaning: 'the CA failed to sign a valid request', fix: "read the control plane's log for the cause" },
  // The CA's files and `ambit ca`.
  AMBIT_E_CA_FILES: { who: 'operator', meaning: "the CA's files are missing, unreadable or do not form a valid chain", fix: 'restore or replace the files the message names (plug-in CA: Istio cacerts layout)' },
  AMBIT_E_CA_NOT_FOUND: { who: 'user', meaning: 'no certificate matches the serial or identity given', fix: 'check the serial or identity: ambit ca status' },
  AMBIT_E_CA_MISSING: { who: 'user', meaning: 'the cluster has no CA yet', fix: 'create one with ambit ca init, or start the cluster (it makes a self-signed CA)' },
  AMBIT_E_CA_EXISTS: { who: 'user', meaning: 'ambit ca init found a CA already', fix: 'keep it, or remove the CA directory the message names first' },
  AMBIT_E_CA_UNREACHABLE: { who: 'user', meaning: "the running cluster's CA does not answer or cannot be verified", fix: 'check ambit cluster status; restart it with ambit cluster restart control-plane' },
  AMBIT_E_CA_ADMIN_TOKEN: { who: 'user', meaning: 'the CA refused the admin token', fix: 'the tokens file may be from another cluster run; recreate the cluster' },
  AMBIT_E_CA_REFUSED: { who: 'user', meaning: 'the CA admin API refused the request', fix: 'read the reason in the message' },
} as const satisfies Table;

export type AmbitCode = keyof typeof ERRORS;

export const isAmbitCode = (s: unknown): s is AmbitCode => typeof s === 'string' && Object.hasOwn(ERRORS, s);

/** An expected failure: a stable code, a message that names the problem, and optionally what to do. */
export class AmbitError extends Error {
  readonly hint: string | undefined;
  constructor(readonly code: AmbitCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
  }
}

/** The error's hint, else the registry's fix for its code. */
export const hintOf = (code: AmbitCode, hint?: string): string => hint ?? ERRORS[code].fix;

/** `AMBIT_E_X: message` → the code, for messages that crossed a wire (gRPC details). */
export function codeInMessage(message: string): AmbitCode | undefined {
  const m = /^(AMBIT_E_[A-Z_]+): /.exec(message);
  return m && isAmbitCode(m[1]) ? m[1] : undefined;
}
