// The mesh half of `ambit demo`: enroll the demo namespace, show HBONE between the node
// tunnels (identities from their logs, a capture of the fabric when tcpdump is installed),
// then a DENY policy and STRICT mTLS taking effect.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fabricNetns, podNetns } from '../../local/cluster/addressing.js';
import { clusterPaths } from '../../local/cluster/paths.js';
import { K } from '../../local/controllers/kinds.js';
import { KINDS, type KindInfo } from '../../model/core/kinds.js';
import { podIsReady, type Pod } from '../../model/core/types.js';
import { hasTool } from '../../platform/exec.js';
import type { Ctx } from '../context.js';
import { applyCommand } from './apply.js';
import { labelCommand } from './resources.js';

const NS = 'demo';
const kind = (k: string): KindInfo => KINDS.find((x) => x.kind === k)!;
const MARKER = 'ambit-demo-plaintext-marker';

function curlIn(cluster: string, ip: string, url: string, extra: string[] = []): { code: number; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', podNetns(cluster, ip), 'curl', '-s', '--max-time', '3', ...extra, url], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? 1, out: r.stdout ?? '' };
}

async function until(timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function applyText(ctx: Ctx, yaml: string): Promise<number> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-demo-')), 'policy.yaml');
  fs.writeFileSync(file, yaml);
  return applyCommand(ctx, ['-f', file]).finally(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
}

/** Runs fn while tcpdump records the fabric bridge; returns the ASCII dump, or undefined without tcpdump. */
async function captureFabric(cluster: string, fn: () => void): Promise<string | undefined> {
  if (!hasTool('tcpdump')) return undefined;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-demo-')), 'fabric.pcap');
  const cap = spawn('ip', ['netns', 'exec', fabricNetns(cluster), 'tcpdump', '--immediate-mode', '-i', 'br0', '-U', '-s', '0', '-w', file, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  cap.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await until(5000, () => err.includes('listening on'));
  fn();
  await new Promise((r) => setTimeout(r, 300));
  cap.kill('SIGINT');
  await new Promise((r) => cap.once('exit', r));
  const dump = spawnSync('tcpdump', ['-r', file, '-A', '-nn'], { encoding: 'latin1' }).stdout;
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return dump;
}

export async function meshDemo(ctx: Ctx, url: string): Promise<void> {
  const say = (s: string): void => ctx.out(`${s}\n`);
  const pods = (await ctx.client().list(K.Pod, NS)).items as Pod[];
  const client = pods.find((p) => p.metadata.labels?.['app'] === 'client' && podIsReady(p));
  const legacy = pods.find((p) => p.metadata.labels?.['app'] === 'legacy-client' && podIsReady(p));
  const echo = pods.filter((p) => p.metadata.labels?.['app'] === 'echo' && podIsReady(p));
  if (!client?.status?.podIP || echo.length === 0) throw new Error('the demo pods are not ready');
  const cip = client.status.podIP;
  const logs = clusterPaths(ctx.cluster).logs;
  const tunnelLog = (node: string): string => {
    try {
      return fs.readFileSync(path.join(logs, `${node}-tunnel.log`), 'utf8');
    } catch {
      return '';
    }
  };

  say(`\n== Enroll the namespace in the mesh ==\n\n$ ambit label namespace ${NS} istio.io/dataplane-mode=ambient`);
  await labelCommand(ctx, ['namespace', NS, 'istio.io/dataplane-mode=ambient']);
  const members = [client, ...echo];
  const enrolled = await until(20_000, () => members.every((p) => tunnelLog(p.spec.nodeName!).includes(`pod ${NS}/${p.metadata.name} (`)));
  if (!enrolled) throw new Error(`the node tunnels did not enroll the demo pods within 20s; see ${logs}/node*-tunnel.log`);
  say('   the node agents installed capture rules in each pod and the node tunnels opened 15001/15006/15008 there; no pod restarted.');
  say('   each pod is annotated ambient.istio.io/redirection=enabled, and only then do peers send it HBONE.');
  // Until that annotation's push reaches the client's tunnel it still sends plain TCP: wait for an HBONE request.
  const viaHbone = (): boolean => echo.some((e) => tunnelLog(e.spec.nodeName!).split('\n').some((l) => l.includes('inbound 200 spiffe://') && l.includes(` ${cip} -> `)));
  await until(10_000, () => curlIn(ctx.cluster, cip, url).code === 0 && viaHbone());

  say(`\n-- 6 requests through the mesh (client → its node tunnel → HBONE mTLS → echo's node tunnel → echo)`);
  const dump = await captureFabric(ctx.cluster, () => {
    for (let i = 0; i < 6; i++) {
      const r = curlIn(ctx.cluster, cip, url, ['-H', `x-demo: ${MARKER}`]);
      if (r.code !== 0) {
        say(`   request ${i + 1} failed: curl exit ${r.code}`);
        continue;
      }
      const b = JSON.parse(r.out) as { pod: string; node: string; client: { address: string } };
      say(`   answered by ${b.pod} (${b.node}); it saw the caller as ${b.client.address}`);
    }
  });
  say('   what the echo pods\' node tunnels logged (peer identity → local identity):');
  for (const node of [...new Set(echo.map((p) => p.spec.nodeName!))]) {
    const line = tunnelLog(node).trimEnd().split('\n').filter((l) => l.includes(' inbound 200 ')).at(-1);
    if (line) say(`   ${line}`);
  }
  if (dump === undefined) say('   (install tcpdump to see the fabric capture)');
  else {
    const hbone = dump.split('\n').filter((l) => /\.15008[: ]/.test(l)).length;
    const verdict = dump.includes(MARKER) ? 'FOUND: plaintext crossed the fabric!' : hbone > 0 ? 'not found: every byte between the nodes was TLS' : 'not found, but no request crossed nodes in this sample';
    say(`   fabric capture (tcpdump on the bridge between the nodes): ${hbone} packets to/from :15008; the request's marker header ${verdict}`);
  }

  say('\n-- the same load through the mesh:');
  const bin = path.join(clusterPaths(ctx.cluster).bin, 'ambit');
  const load = spawnSync('ip', ['netns', 'exec', podNetns(ctx.cluster, cip), bin, 'app', 'load', '--url', url, '--rate', '200', '--duration', '3s', '--connections', '4', '--payload', '1024'], { encoding: 'utf8', timeout: 30_000 });
  say(`   ${((load.stdout ?? '') || (load.stderr ?? '')).trim()}`);

  say(`\n== L4 authorization: DENY the client's identity ==\n`);
  const deny = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-client, namespace: ${NS}}\nspec:\n  selector: {matchLabels: {app: echo}}\n  action: DENY\n  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/${NS}/sa/client"]}\n`;
  const t0 = Date.now();
  await applyText(ctx, deny);
  const blocked = await until(5000, () => curlIn(ctx.cluster, cip, url).code !== 0);
  say(blocked ? `   blocked ${Date.now() - t0} ms after the apply (the echo's tunnel answers the CONNECT with 401)` : '   NOT blocked within 5 s: something is wrong; see the node tunnel logs');
  await ctx.client().delete(kind('AuthorizationPolicy'), NS, 'deny-client');
  await until(5000, () => curlIn(ctx.cluster, cip, url).code === 0);
  say('   policy deleted: allowed again');

  if (legacy?.status?.podIP) {
    const target = `http://${echo[0]!.status!.podIP}:8080/`;
    say(`\n== PeerAuthentication STRICT: plaintext from outside the mesh is refused ==\n`);
    say(`   ${legacy.metadata.name} (dataplane-mode none) → ${target}: ${curlIn(ctx.cluster, legacy.status.podIP, target).code === 0 ? 'allowed (PERMISSIVE, the default)' : 'refused'}`);
    await applyText(ctx, `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict, namespace: ${NS}}\nspec:\n  mtls: {mode: STRICT}\n`);
    const refused = await until(5000, () => curlIn(ctx.cluster, legacy.status!.podIP!, target).code !== 0);
    say(`   with STRICT: ${legacy.metadata.name} ${refused ? 'refused' : 'STILL ALLOWED (unexpected)'}; the mesh client: ${curlIn(ctx.cluster, cip, target).code === 0 ? 'allowed over HBONE' : 'refused (unexpected)'}`);
    await ctx.client().delete(kind('PeerAuthentication'), NS, 'strict');
  }
}
