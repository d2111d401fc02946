/**
 * Loading the datapath into this kernel: the BTF layout check (and its refusal of a wrong layout), pins, attach and
 * detach on a real interface, typed errors for the failures a person meets (missing object, verifier refusal,
 * missing interface), and no leftovers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ABI_LAYOUTS, AbiMismatchError, Btf, checkAbiLayouts, openDatapath, type KernelIds, type LoadedDatapath } from '../../node-agent/datapath/index.js';
import { BpfObject, BpffsMissingError, Errno, LibbpfError, VerifierError, closeFd, ensurePinDir, ifIndex, objGet, objPin, tcQuery } from '../../node-agent/libbpf/index.js';
import { OBJECT_PATH, REPO, describeKernel, leftovers, sh, shQuiet } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-load';
const IF_HOST = 'pldload0';
const IF_PEER = 'pldload1';

describeKernel('datapath load', () => {
  const ids: { programs: number[]; maps: number[] } = { programs: [], maps: [] };
  const opened: LoadedDatapath[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'pld-load-'));

  const open = (): LoadedDatapath => {
    const dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    opened.push(dp);
    const k: KernelIds = dp.kernelIds();
    ids.programs.push(...k.programs);
    ids.maps.push(...k.maps);
    return dp;
  };

  afterAll(async () => {
    for (const dp of opened) dp.close();
    shQuiet('ip', 'link', 'del', IF_HOST);
    rmSync(scratch, { recursive: true, force: true });
    expect(await leftovers({ ...ids, pinDir: PIN_DIR, links: [IF_HOST, IF_PEER] })).toEqual([]);
  });

  test('the built object carries every ABI struct with the layout abi.ts expects', () => {
    const btf = new Btf(readFileSync(OBJECT_PATH), OBJECT_PATH);
    expect(checkAbiLayouts(btf)).toEqual([]);
    expect(btf.struct('policy_key')?.members.map((m) => m.name)).toEqual([
      'prefixlen', 'gen', 'direction', 'endpoint_id', 'identity', 'protocol', 'pad', 'dport',
    ]);
  });

  test('a mirror that disagrees with the object is reported field by field', () => {
    const btf = new Btf(readFileSync(OBJECT_PATH), OBJECT_PATH);
    const wrong = ABI_LAYOUTS.map((l) =>
      l.name === 'policy_value'
        ? { ...l, fields: l.fields.map((f) => (f.name === 'rule_id' ? { ...f, offset: 2 } : f)) }
        : l,
    );
    expect(checkAbiLayouts(btf, wrong)).toEqual(['struct policy_value.rule_id: offset 4 in the object, 2 in abi.ts']);
  });

  test('an object built from a changed header is refused before anything is loaded', () => {
    // Build the real program against a header whose policy_value grew a field: the layout check must refuse it.
    const header = readFileSync(join(REPO, 'bpf', 'palisade_abi.h'), 'utf8').replace(
      '__u32 rule_id;    /* index into the bundle\'s rule table, for attribution; host order */',
      '__u32 rule_id;\n\t__u32 extra;',
    );
    expect(header).toContain('__u32 extra;');
    writeFileSync(join(scratch, 'palisade_abi.h'), header);
    copyFileSync(join(REPO, 'bpf', 'palisade.bpf.c'), join(scratch, 'palisade.bpf.c'));
    cpSync(join(REPO, 'bpf', 'lib'), join(scratch, 'lib'), { recursive: true }); // its shared headers, which include the changed one
    const obj = join(scratch, 'wrong.bpf.o');
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', `-I${scratch}`, '-c', join(scratch, 'palisade.bpf.c'), '-o', obj]);
    const before = sh('bpftool', '-j', 'prog', 'list');
    let err: unknown;
    try {
      openDatapath({ objectPath: obj, pinDir: PIN_DIR });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AbiMismatchError);
    expect((err as AbiMismatchError).code).toBe('abi-mismatch');
    expect((err as AbiMismatchError).mismatches).toContain('struct policy_value: size 12 in the object, 8 in abi.ts');
    expect(existsSync(PIN_DIR)).toBe(false);
    expect(sh('bpftool', '-j', 'prog', 'list')).toBe(before);
  });

  test('load pins every map, reopening reuses the pins, close removes only its own pins', () => {
    const dp = open();
    expect(sh('ls', PIN_DIR).trim().split('\n').sort()).toEqual(
      ['pal_conntrack', 'pal_control', 'pal_counters', 'pal_endpoints', 'pal_events', 'pal_ipcache', 'pal_policy'],
    );
    dp.stageGeneration(1, { ipcache: [{ prefix: '10.199.9.0/24', identity: 300 }], policy: [] });
    dp.switchTo(1, 42n);
    // A second handle (an agent restart) sees the same maps: the switch survives.
    const again = open();
    expect(again.control()).toEqual({ activeGen: 1, serial: 42n, eventsOff: false, audit: 'off' });
    expect(again.kernelIds().maps).toEqual(dp.kernelIds().maps);
    expect(again.kernelIds().programs).not.toEqual(dp.kernelIds().programs);
    again.close();
    expect(existsSync(join(PIN_DIR, 'pal_control'))).toBe(true); // not created by `again`
    dp.close();
    expect(existsSync(PIN_DIR)).toBe(false);
  });

  test('attach puts both classifiers on the interface; detach removes them and the qdisc it created', () => {
    sh('ip', 'link', 'add', IF_HOST, 'type', 'veth', 'peer', 'name', IF_PEER);
    const dp = open();
    const ifindex = ifIndex(IF_HOST);
    dp.attach(IF_HOST);
    const [from, to] = dp.kernelIds().programs;
    expect(tcQuery(ifindex, 'ingress')).toBe(from);
    expect(tcQuery(ifindex, 'egress')).toBe(to);
    expect(sh('tc', 'qdisc', 'show', 'dev', IF_HOST)).toContain('clsact');
    dp.detach(IF_HOST);
    expect(tcQuery(ifindex, 'ingress')).toBeUndefined();
    expect(sh('tc', 'qdisc', 'show', 'dev', IF_HOST)).not.toContain('clsact');
    // close() detaches whatever is still attached.
    dp.attach(IF_HOST);
    dp.close();
    expect(sh('tc', 'qdisc', 'show', 'dev', IF_HOST)).not.toContain('clsact');
    sh('ip', 'link', 'del', IF_HOST);
  });

  test('a probe datapath may ask for a small conntrack map (clearing walks every bucket of a full-size one)', () => {
    const conntrackMax = (dp: LoadedDatapath): number => {
      for (const id of dp.kernelIds().maps) {
        const m = JSON.parse(sh('bpftool', '-j', 'map', 'show', 'id', String(id))) as { name: string; max_entries: number };
        if (m.name === 'pal_conntrack') return m.max_entries;
      }
      throw new Error('no pal_conntrack map');
    };
    const small = openDatapath({ objectPath: OBJECT_PATH, pinDir: `${PIN_DIR}-small`, conntrackEntries: 64 });
    opened.push(small);
    ids.maps.push(...small.kernelIds().maps);
    ids.programs.push(...small.kernelIds().programs);
    expect(conntrackMax(small)).toBe(64);
    small.close();
    expect(existsSync(`${PIN_DIR}-small`)).toBe(false);
    expect(conntrackMax(open())).toBe(262144);
  });

  test('release() leaves the datapath enforcing; the next process takes it over in place', () => {
    sh('ip', 'link', 'add', IF_HOST, 'type', 'veth', 'peer', 'name', IF_PEER);
    const first = open();
    first.stageGeneration(1, { ipcache: [{ prefix: '10.199.9.0/24', identity: 300 }], policy: [] });
    first.switchTo(1, 7n);
    first.attach(IF_HOST);
    const ifindex = ifIndex(IF_HOST);
    const [oldFrom] = first.kernelIds().programs;
    first.release();
    expect(tcQuery(ifindex, 'ingress')).toBe(oldFrom); // still attached, though no process holds it
    const second = open();
    expect(second.control()).toMatchObject({ activeGen: 1, serial: 7n });
    second.attach(IF_HOST);
    const [newFrom] = second.kernelIds().programs;
    expect(tcQuery(ifindex, 'ingress')).toBe(newFrom);
    second.detach(IF_HOST);
    expect(tcQuery(ifindex, 'ingress')).toBeUndefined();
    second.close();
    // The pins were created by `first`, which released rather than closed: they stay until someone removes them.
    expect(existsSync(join(PIN_DIR, 'pal_policy'))).toBe(true);
    rmSync(PIN_DIR, { recursive: true });
    sh('ip', 'link', 'del', IF_HOST);
  });

  test('staging the active generation is refused; a bad entry writes nothing', () => {
    const dp = open();
    expect(() => dp.stageGeneration(0, { ipcache: [], policy: [] })).toThrow(/generation 0 is active/);
    dp.stageGeneration(1, { ipcache: [{ prefix: '10.199.9.0/24', identity: 300 }], policy: [] });
    const bad = () =>
      dp.stageGeneration(1, {
        ipcache: [{ prefix: '10.199.9.0/24', identity: 301 }],
        policy: [{ endpointId: 1, direction: 'ingress', identity: 0, protocol: 6, port: 81, portPrefixLen: 15, deny: false, proxy: false, ruleId: 1 }],
      });
    expect(bad).toThrow(/port 81 has bits below its \/15 prefix/);
    dp.close();
  });

  test('a generation that does not fit beside the active one is refused before anything is written', () => {
    const dp = open();
    const many = (n: number, ruleBase: number) =>
      Array.from({ length: n }, (_, i) => ({
        endpointId: 1 + (i % 60000), direction: 'egress' as const, identity: 256 + Math.floor(i / 60000), protocol: 6,
        port: 80, portPrefixLen: 16, deny: false, proxy: false, ruleId: ruleBase + i,
      }));
    const first = dp.stageGeneration(1, { ipcache: [], policy: many(140_000, 0) });
    expect(first.policyEntries).toBe(140_000);
    dp.switchTo(1);
    expect(() => dp.stageGeneration(0, { ipcache: [{ prefix: '10.199.9.0/24', identity: 9 }], policy: many(130_000, 1_000_000) })).toThrow(
      expect.objectContaining({ code: 'map-full', message: expect.stringMatching(/policy: 130000 entries do not fit beside the active generation's 140000 \(max 262144\)/) }),
    );
    // Nothing of the refused generation was written.
    expect(dp.stageGeneration(0, { ipcache: [], policy: [] }).cleared).toBe(0);
    dp.close();
  });

  test('pin and get by path; a taken path, a missing pin and a directory outside bpffs are clear errors', () => {
    const dp = open();
    const extra = `${PIN_DIR}-extra`;
    try {
      const fd = objGet(join(PIN_DIR, 'pal_control'));
      expect(fd).toBeGreaterThan(2);
      objPin(fd, extra);
      expect(existsSync(extra)).toBe(true);
      expect(() => objPin(fd, extra)).toThrow(expect.objectContaining({ errno: Errno.EEXIST, operation: 'bpf_obj_pin' }));
      closeFd(fd);
    } finally {
      rmSync(extra, { force: true });
      dp.close();
    }
    expect(() => objGet(`${PIN_DIR}-missing`)).toThrow(/bpf_obj_get: not found: \/sys\/fs\/bpf\/pld-load-missing/);
    expect(() => ensurePinDir('/tmp/pld-not-bpffs')).toThrow(/is not under \/sys\/fs\/bpf/);
    expect(new BpffsMissingError('pin', '/sys/fs/bpf').message).toBe('pin: bpffs not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)');
  });

  test('without privileges, loading says it needs root or CAP_BPF', () => {
    // The compiled bindings (npm run build) in a child process running as nobody.
    const dist = join(REPO, 'dist', 'node-agent', 'libbpf', 'index.js');
    if (!existsSync(dist)) {
      if (process.env.CI === 'true') throw new Error('dist/ is missing: npm test builds before testing');
      return; // off CI without a build: the other tests cover the bindings from source
    }
    const code =
      `import { BpfObject } from ${JSON.stringify(dist)};\n` +
      `try { const o = BpfObject.open(${JSON.stringify(OBJECT_PATH)}); o.load(); console.log('{"loaded":true}'); }\n` +
      `catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, errno: e.errno, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'LibbpfError', code: 'libbpf-failed', errno: Errno.EPERM });
    expect(out.message).toMatch(/needs root or CAP_BPF/);
  });

  test('failures become typed errors a person understands', () => {
    expect(() => BpfObject.open(join(scratch, 'missing.bpf.o'))).toThrow(LibbpfError);
    expect(() => ifIndex('pld-nosuchif')).toThrow(/no such network interface: pld-nosuchif/);
    // A classifier that reads the packet without a bounds check: the verifier refuses it, and the log says why.
    writeFileSync(
      join(scratch, 'unchecked.bpf.c'),
      '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\n' +
        'SEC("tc") int unchecked(struct __sk_buff *skb) { return *(unsigned char *)(long)skb->data; }\n',
    );
    const obj = join(scratch, 'unchecked.bpf.o');
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(scratch, 'unchecked.bpf.c'), '-o', obj]);
    const o = BpfObject.open(obj);
    let err: unknown;
    try {
      o.load();
    } catch (e) {
      err = e;
    } finally {
      o.close();
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).errno).toBe(13);
    expect((err as VerifierError).log).toMatch(/invalid access to packet/);
    expect((err as VerifierError).message).toMatch(/the kernel refused the BPF object \[EACCES\]/);
  });
});
