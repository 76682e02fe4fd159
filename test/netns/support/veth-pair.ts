// Two throwaway "pod" namespaces joined by one veth pair (eth0 on both ends), for tests of
// the node tunnel's OS layer that do not need a whole cluster.
import { run } from '../../../src/platform/exec.js';

export function createVethPair(a: { netns: string; ip: string }, b: { netns: string; ip: string }): void {
  run(['ip', 'netns', 'add', a.netns]);
  run(['ip', 'netns', 'add', b.netns]);
  run(['ip', '-n', a.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.netns]);
  for (const { netns, ip } of [a, b]) {
    run(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  }
}

