// iperf3 from pod A to pod B through the system, 1 or N parallel streams. A one-shot server per
// run, so a confused server cannot spoil the next run.
import * as path from 'node:path';
import { sleep, waitListening, type Finished } from '../support/lab.js';
import { proxyUsage, round2 } from './proxy-usage.js';
import { failed, type MeasureContext, type MeasureOutcome } from './types.js';

export const brief = (f: Finished): string =>
  `exit ${f.signal ?? f.code}${f.timedOut ? ' (timed out)' : ''}: ${(f.stderr || f.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number; seconds: number }; sum_sent?: { retransmits?: number } };
}

export async function measureThroughput(ctx: MeasureContext, streams: number): Promise<MeasureOutcome> {
  const { lab, system, seconds: T } = ctx;
  const port = lab.ports.iperf;
  const server = lab.procs.startIn('iperf3 -s', lab.b.netns, ['timeout', '-k', '2', String(T + 40), 'iperf3', '-s', '-1', '-p', String(port)], path.join(lab.tmp, 'iperf3-server.log'));
  try {
    await waitListening(lab.b.netns, port, 5000, () => lab.procs.alive(server));
    const to = system.target('iperf');
    const usage = proxyUsage(system);
    const r = await lab.procs.runBounded(
      'iperf3 -c',
      ['ip', 'netns', 'exec', lab.a.netns, 'timeout', '-k', '2', String(T + 20), 'iperf3', '-c', to.host, '-p', String(to.port), '-t', String(T), '-P', String(streams), '-J'],
      (T + 30) * 1000,
    );
    const used = usage();
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      return failed(`iperf3 ${brief(r)}`);
    }
    if (j.error) return failed(`iperf3: ${j.error}`);
    const rx = j.end?.sum_received;
    if (r.code !== 0 || !rx || !(rx.bits_per_second > 0)) return failed(`iperf3 ${brief(r)}`);
    const gbps = round2(rx.bits_per_second / 1e9);
    const values: Record<string, number> = { gbps, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
    if (used.processes > 0) {
      values.proxyCpuPct = Math.round((used.cpuSeconds / rx.seconds) * 100);
      values.gbpsPerProxyCore = values.proxyCpuPct > 0 ? round2(gbps / (values.proxyCpuPct / 100)) : 0;
      values.peakRssMB = Math.round(used.peakRssMB * 10) / 10;
    }
    return { ok: true, values };
  } catch (e) {
    return failed(e);
  } finally {
    await Promise.race([new Promise((r) => (lab.procs.alive(server) ? server.once('exit', r) : r(undefined))), sleep(3000)]);
    await lab.procs.stop(server);
  }
}
