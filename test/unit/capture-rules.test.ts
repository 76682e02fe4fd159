// The in-pod capture renderer (istio-cni in-pod semantics, spec §6.3): one table, replaced
// atomically, with each chain holding exactly the rules the node tunnel relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAPTURE_TABLE, renderCaptureRules, renderRemoveRules } from '../../src/platform/capture-rules.js';

/** Rule lines of the named chain (between `chain <name> {` and its `}`), without the hook line. */
function chainBody(script: string, name: string): string[] {
  const lines = script.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`chain ${name} {`);
  assert.ok(start >= 0, `chain ${name} missing`);
  const end = lines.indexOf('}', start);
  return lines.slice(start + 1, end).filter((l) => !l.startsWith('type ') && !l.startsWith('#'));
}

function hook(script: string, name: string): string | undefined {
  const lines = script.split('\n').map((l) => l.trim());
  return lines[lines.indexOf(`chain ${name} {`) + 1];
}

describe('renderCaptureRules', () => {
  const s = renderCaptureRules();

  it('declares, deletes and redefines one table so nft -f replaces it atomically and idempotently', () => {
    const lines = s.split('\n');
    const decl = lines.indexOf(`table ip ${CAPTURE_TABLE}`);
    const del = lines.indexOf(`delete table ip ${CAPTURE_TABLE}`);
    const def = lines.indexOf(`table ip ${CAPTURE_TABLE} {`);
    assert.ok(decl === 0 && del === 1 && def === 2, s);
    assert.equal(s.match(/^table /gm)?.length, 2, 'only our table is touched');
    assert.ok(s.endsWith('}\n'));
  });

  const cases: Array<{ chain: string; hook: string; rules: string[] }> = [
    {
      chain: 'prerouting_mangle',
      hook: 'type filter hook prerouting priority mangle; policy accept;',
      rules: ['meta mark and 0xfff == 0x539 ct mark set ct mark and 0xfffff000 or 0x111'],
    },
    {
      chain: 'prerouting_nat',
      hook: 'type nat hook prerouting priority dstnat; policy accept;',
      rules: ['ip saddr 169.254.7.127 meta l4proto tcp accept', 'ip daddr != 127.0.0.1 meta l4proto tcp tcp dport != 15008 meta mark and 0xfff != 0x539 redirect to :15006'],
    },
    {
      chain: 'input_guard',
      hook: 'type filter hook input priority filter; policy accept;',
      rules: ['iifname != "lo" ip saddr != 169.254.7.127 meta l4proto tcp ct state new ct status and dnat == 0 tcp dport != 15008 drop'],
    },
    {
      chain: 'output_route',
      hook: 'type route hook output priority mangle; policy accept;',
      rules: ['ct mark and 0xfff == 0x111 meta mark set ct mark'],
    },
    {
      chain: 'output_nat',
      hook: 'type nat hook output priority -100; policy accept;',
      rules: [
        'ip daddr 169.254.7.127 meta l4proto tcp accept',
        'meta l4proto tcp meta mark and 0xfff == 0x111 accept',
        'oifname "lo" ip daddr != 127.0.0.1 accept',
        'ip daddr != 127.0.0.1 meta l4proto tcp meta mark and 0xfff != 0x539 redirect to :15001',
      ],
    },
  ];
  for (const c of cases) {
    it(`chain ${c.chain}`, () => {
      assert.equal(hook(s, c.chain), c.hook);
      assert.deepEqual(chainBody(s, c.chain), c.rules);
    });
  }

  it('uses the given ports', () => {
    const o = renderCaptureRules({ outbound: 25001, inbound: 25006, hbone: 25008 });
    assert.match(o, /redirect to :25001$/m);
    assert.match(o, /dport != 25008 meta mark and 0xfff != 0x539 redirect to :25006$/m);
    assert.match(o, /ct status and dnat == 0 tcp dport != 25008 drop$/m);
    assert.doesNotMatch(o, /1500[168]/);
  });

  it('removal declares then deletes, so it succeeds whether or not the table exists', () => {
    assert.equal(renderRemoveRules(), `table ip ${CAPTURE_TABLE}\ndelete table ip ${CAPTURE_TABLE}\n`);
  });
});
