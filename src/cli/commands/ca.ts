// `ambit ca init|status|issue|revoke|rotate-root`. On a running cluster every command goes
// through the CaAdmin gRPC API (admin token, TLS verified against the CA's own roots); when
// the cluster is not running, status/issue/revoke/rotate-root work on the CA files directly
// and say so. `init` is offline only: it makes the CA before `ambit cluster up`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { TokenEntry } from '../../local/apiserver/auth.js';
import { CaAdminClient } from '../../ca/admin-client.js';
import type { StatusResponse } from '../../ca/admin-proto.js';
import { localAdmin, StatusError, toWireStatus, type CaAdminOps } from '../../ca/admin-service.js';
import { CA_ERROR_CODES, CaError, CertificateAuthority } from '../../ca/authority.js';
import { AmbitError, codeInMessage, type AmbitCode } from '../../lib/errors.js';
import { caTrustDomain, readCaConfig, writeCaConfig } from '../../ca/ca-config.js';
import { DEFAULT_CLUSTER, pidAlive, readClusterInfo, type ClusterInfo } from '../../local/cluster/lifecycle.js';
import { clusterPaths } from '../../local/cluster/paths.js';
import { DEFAULT_TRUST_DOMAIN, validateTrustDomain } from '../../identity/spiffe.js';
import { parseDuration } from '../../lib/duration.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import type { Flags } from '../help.js';
import { CA_FLAGS, type CaSub } from '../specs.js';

/** An `ambit ca` failure: main prints it as one `error [CODE]:` line. */
export class CaCliError extends AmbitError {
  constructor(message: string, code: AmbitCode = 'AMBIT_E_CA_REFUSED') {
    super(code, message);
  }
}

/** The CA's own errors (offline, on the files) as CLI errors with their codes; anything else is rethrown. */
function asCliError(e: unknown): never {
  if (e instanceof CaError) throw new CaCliError(e.message, CA_ERROR_CODES[e.code]);
  if (e instanceof StatusError) {
    const code = codeInMessage(e.details);
    throw new CaCliError(code ? e.details.slice(code.length + 2) : e.details, code ?? 'AMBIT_E_CA_REFUSED');
  }
  throw e;
}

/** The CA's directory (ClusterPaths gains `ca` with the CA server change; same location). */
export const caDirOf = (cluster: string): string => path.join(clusterPaths(cluster).root, 'ca');

const flagFor = (cluster: string): string => (cluster === DEFAULT_CLUSTER ? '' : ` --cluster ${cluster}`);

interface Backend {
  ops: CaAdminOps;
  /** Where the operations run, for the one line that says so. */
  where: string;
  close(): void;
}

/** The CaAdmin API if the cluster runs, else the CA files. */
export async function openBackend(cluster: string, note: (s: string) => void): Promise<Backend> {
  const caDir = caDirOf(cluster);
  const info = readClusterInfo(cluster) as (ClusterInfo & { caPort?: number }) | undefined;
  if (info && pidAlive(info.pids.controlPlane)) {
    if (!info.caPort) throw new CaCliError(`cluster '${cluster}' is running but ${clusterPaths(cluster).clusterFile} has no caPort: its control plane does not serve the CA. Restart it with: ambit${flagFor(cluster)} cluster restart control-plane`, 'AMBIT_E_CA_UNREACHABLE');
    const rootsFile = path.join(caDir, 'roots.pem');
    if (!fs.existsSync(rootsFile)) throw new CaCliError(`cluster '${cluster}' is running but ${rootsFile} is missing, so the CA server cannot be verified. Restart the control plane: ambit${flagFor(cluster)} cluster restart control-plane`, 'AMBIT_E_CA_UNREACHABLE');
    const tokens = JSON.parse(fs.readFileSync(clusterPaths(cluster).tokens, 'utf8')) as TokenEntry[];
    const admin = tokens.find((t) => t.role === 'admin');
    if (!admin) throw new CaCliError(`no admin token in ${clusterPaths(cluster).tokens}`, 'AMBIT_E_CLUSTER_STATE');
    const address = `127.0.0.1:${info.caPort}`;
    const client = new CaAdminClient({ address, rootsPem: fs.readFileSync(rootsFile, 'utf8'), token: admin.token });
    return { ops: wrapGrpcErrors(client, address, cluster), where: `CaAdmin API on ${address}`, close: () => client.close() };
  }
  if (!fs.existsSync(path.join(caDir, 'roots.pem'))) {
    throw new CaCliError(`cluster '${cluster}' has no CA yet (nothing in ${caDir}). Create one with: ambit${flagFor(cluster)} ca init [--trust-domain TD] [--plugin DIR], or start the cluster (ambit cluster up${cluster === DEFAULT_CLUSTER ? '' : ` --name ${cluster}`}), which makes a self-signed one`, 'AMBIT_E_CA_MISSING');
  }
  // Offline: the control plane is not running, so nobody else writes these files now.
  const ca = await CertificateAuthority.open(caDir, { trustDomain: caTrustDomain(caDir) }).catch(asCliError);
  const local = localAdmin(ca, async () => undefined);
  note(`cluster '${cluster}' is not running: working on the CA files in ${caDir} directly (the control plane publishes roots and CRL when it starts)\n`);
  const ops: CaAdminOps = {
    status: () => local.status().catch(asCliError),
    issue: (id, ttl) => local.issue(id, ttl).catch(asCliError),
    revoke: (sel) => local.revoke(sel).catch(asCliError),
    rotateRoot: () => local.rotateRoot().catch(asCliError),
  };
  return { ops, where: `offline, ${caDir}`, close: () => undefined };
}

/** Turns gRPC status errors into one line that says what to do. */
function wrapGrpcErrors(client: CaAdminClient, address: string, cluster: string): CaAdminOps {
  const explain = (e: unknown): never => {
    const se = e as grpc.ServiceError;
    if (typeof se.code !== 'number') throw e;
    if (se.code === grpc.status.UNAVAILABLE || se.code === grpc.status.DEADLINE_EXCEEDED) {
      throw new CaCliError(`cannot reach the CA on ${address} (${se.details}). Check: ambit${flagFor(cluster)} cluster status; restart it with: ambit${flagFor(cluster)} cluster restart control-plane`, 'AMBIT_E_CA_UNREACHABLE');
    }
    if (se.code === grpc.status.UNAUTHENTICATED) throw new CaCliError(`the CA refused the admin token (${se.details}); ${clusterPaths(cluster).tokens} may be from another cluster run`, 'AMBIT_E_CA_ADMIN_TOKEN');
    const code = codeInMessage(se.details);
    throw new CaCliError(`CA: ${code ? se.details.slice(code.length + 2) : se.details} (${grpc.status[se.code]})`, code ?? 'AMBIT_E_CA_REFUSED');
  };
  return {
    status: () => client.status().catch(explain),
    issue: (id, ttl) => client.issue(id, ttl).catch(explain),
    revoke: (sel) => client.revoke(sel).catch(explain),
    rotateRoot: () => client.rotateRoot().catch(explain),
  };
}

/** "1h", "90s", "30d" → seconds. */
export function parseTtl(s: string): number {
  const days = /^(\d+)d$/.exec(s.trim());
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(s);
  const secs = Math.ceil(ms / 1000);
  if (secs < 1) throw new UsageError(`--ttl ${s}: must be at least 1s`);
  return secs;
}

function printStatus(ctx: Ctx, st: StatusResponse, where: string): void {
  const line = (c: StatusResponse['roots'][number]): string => `${c.subject}  sha256 ${c.fingerprint_sha256}  expires ${c.not_after}`;
  ctx.out(`CA: ${st.mode}, trust domain ${st.trust_domain} (${where})\n`);
  if (st.signing) ctx.out(`signing: ${line(st.signing)}\n`);
  ctx.out(`roots (${st.roots.length}):\n`);
  for (const r of st.roots) ctx.out(`  ${line(r)}\n`);
  ctx.out(`issued: ${st.issued}, revoked: ${st.revoked}\n`);
}

function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an existing file keeps its old mode otherwise
}

async function init(ctx: Ctx, trustDomain: string, pluginDir: string | undefined): Promise<number> {
  const bad = validateTrustDomain(trustDomain);
  if (bad) throw new UsageError(bad);
  const caDir = caDirOf(ctx.cluster);
  if (fs.existsSync(caDir)) {
    const cfg = readCaConfig(caDir);
    const what = cfg ? ` (${cfg.mode}, trust domain ${cfg.trustDomain})` : '';
    throw new CaCliError(
      `a CA already exists in ${caDir}${what}. Keep it (see: ambit${flagFor(ctx.cluster)} ca status), or start over — every certificate it issued stops being trusted — with: ambit${flagFor(ctx.cluster)} cluster down; rm -rf ${caDir}; then ambit ca init again`,
      'AMBIT_E_CA_EXISTS',
    );
  }
  if (pluginDir && !fs.existsSync(pluginDir)) throw new UsageError(`--plugin ${pluginDir}: no such directory (expected Istio cacerts files: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)`);
  let ca: CertificateAuthority;
  try {
    ca = await CertificateAuthority.open(caDir, { trustDomain, ...(pluginDir ? { pluginDir: path.resolve(pluginDir) } : {}) });
  } catch (e) {
    fs.rmSync(caDir, { recursive: true, force: true }); // a half-made CA would block the next try
    asCliError(e);
  }
  writeCaConfig(caDir, { trustDomain, mode: ca.mode, createdAt: new Date().toISOString() });
  await ca.writeCrl();
  printStatus(ctx, toWireStatus(ca.status()), `created in ${caDir}`);
  ctx.out(`next: ambit cluster up${ctx.cluster === DEFAULT_CLUSTER ? '' : ` --name ${ctx.cluster}`} (the control plane uses this CA)\n`);
  return 0;
}

/** `ca SUB [flags]`. */
export async function caCommand(ctx: Ctx, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || !Object.hasOwn(CA_FLAGS, sub)) throw new UsageError(`name a ca subcommand: ${Object.keys(CA_FLAGS).join(', ')}${sub ? ` (got '${sub}')` : ''}`);
  const { values } = parseArgs({ args: rest, allowPositionals: false, options: CA_FLAGS[sub as CaSub] as Flags }) as { values: { 'trust-domain'?: string; plugin?: string; identity?: string; out?: string; ttl?: string; serial?: string } };
  if (sub === 'init') return init(ctx, values['trust-domain'] ?? DEFAULT_TRUST_DOMAIN, values.plugin);
  // Check arguments before connecting, so a typo does not wait on the network.
  if (sub === 'issue' && (!values.identity || !values.out)) throw new UsageError('issue needs --identity spiffe://<td>/ns/<ns>/sa/<sa> and --out DIR');
  if (sub === 'revoke' && !values.serial === !values.identity) throw new UsageError('revoke needs exactly one of --serial SERIAL and --identity spiffe://<td>/ns/<ns>/sa/<sa>');
  const ttl = values.ttl ? parseTtl(values.ttl) : 0;

  const backend = await openBackend(ctx.cluster, ctx.err);
  try {
    switch (sub) {
      case 'status':
        printStatus(ctx, await backend.ops.status(), backend.where);
        return 0;
      case 'issue': {
        const res = await backend.ops.issue(values.identity!, ttl);
        const out = values.out!;
        fs.mkdirSync(out, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(out, 'cert.pem'), res.cert_chain_pem);
        writeSecret(path.join(out, 'key.pem'), res.key_pem);
        fs.writeFileSync(path.join(out, 'root.pem'), res.root_pem);
        ctx.out(`issued ${values.identity} serial ${res.serial} (${backend.where})\n`);
        ctx.out(`wrote ${path.join(out, 'cert.pem')} (leaf + chain), ${path.join(out, 'key.pem')} (0600), ${path.join(out, 'root.pem')}\n`);
        return 0;
      }
      case 'revoke': {
        const res = await backend.ops.revoke({ ...(values.serial ? { serial: values.serial } : {}), ...(values.identity ? { identity: values.identity } : {}) });
        if (res.serials.length === 0) ctx.out('nothing new to revoke (already revoked, or no unexpired certificate left)\n');
        else ctx.out(`revoked ${res.serials.length} certificate(s): ${res.serials.join(', ')} (${backend.where})\n`);
        ctx.out(res.crl_pem);
        return 0;
      }
      default: {
        // rotate-root
        const res = await backend.ops.rotateRoot();
        ctx.out('rotated: a new root signs from now on; the previous root stays in the trust bundle until it expires\n');
        if (res.status) printStatus(ctx, res.status, backend.where);
        return 0;
      }
    }
  } finally {
    backend.close();
  }
}
