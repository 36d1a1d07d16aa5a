// deploy/kubernetes renders with the kubectl that `make test-deps` installs
// (Debian 12's kubernetes-client is 1.20, kustomize v2.0.3; a newer kubectl
// also works), and every rendering, the base and each overlay, keeps the
// rules in manifest-rules.mjs. MCPF_KUBECTL=PATH picks another kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkDeployment, policyText, parseArgs } from './manifest-rules.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const kubeDir = path.join(root, 'deploy/kubernetes');
const kubectl = process.env.MCPF_KUBECTL || 'kubectl';
const mcpfence = path.join(root, 'build/mcpfence');
// No cluster is ever contacted: every kubectl call here is local.
const env = { ...process.env, KUBECONFIG: '/dev/null' };

function run(cmd, args, input) {
  return execFileSync(cmd, args, { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

// kubectl prints several JSON documents one after the other.
function jsonStream(text) {
  return text.split(/\n(?=\{)/).filter((s) => s.trim()).map((s) => JSON.parse(s));
}

// Render a kustomization and decode it with kubectl itself (label --local
// reads every document, CRDs included, without a server, and prints JSON).
function render(dir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpf-kustomize-'));
  try {
    const file = path.join(tmp, 'rendered.yaml');
    fs.writeFileSync(file, run(kubectl, ['kustomize', dir]));
    const objs = jsonStream(run(kubectl, ['label', '--local', '-f', file, '-o', 'json', 'mcpfence.test/rendered=1']));
    for (const o of objs) delete o.metadata.labels['mcpfence.test/rendered'];
    return objs;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const overlays = fs.readdirSync(path.join(kubeDir, 'overlays')).sort();
const targets = [
  { name: 'deploy/kubernetes', dir: kubeDir, podMonitor: true },
  { name: 'deploy/kubernetes/core', dir: path.join(kubeDir, 'core'), podMonitor: false },
  ...overlays.map((o) => ({ name: `deploy/kubernetes/overlays/${o}`, dir: path.join(kubeDir, 'overlays', o), podMonitor: true })),
];

test('kubectl is installed (make test-deps)', () => {
  const out = run(kubectl, ['version', '--client']);
  assert.match(out, /Client Version/);
});

for (const t of targets) {
  test(`${t.name} renders and keeps the deployment rules`, () => {
    const objs = render(t.dir);
    assert.deepEqual(checkDeployment(objs, { expectPodMonitor: t.podMonitor }), []);
  });

  test(`${t.name}: its policy passes mcpfence policy check`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpf-policy-'));
    try {
      const file = path.join(tmp, 'policy.json');
      fs.writeFileSync(file, policyText(render(t.dir)));
      run(mcpfence, ['policy', 'check', file]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test('overlays change what they say they change', () => {
  const base = render(kubeDir);
  const daemonOf = (objs) => objs.find((o) => o.kind === 'DaemonSet').spec.template.spec;
  const argsOf = (objs) => parseArgs(daemonOf(objs).containers.find((c) => c.name === 'mcpfence').args);
  assert.equal(argsOf(render(path.join(kubeDir, 'overlays/cgroupfs'))).get('cgroup'), '/sys/fs/cgroup/kubepods');
  assert.equal(argsOf(base).get('cgroup'), '/sys/fs/cgroup/kubepods.slice');
  const bpffsInit = daemonOf(render(path.join(kubeDir, 'overlays/mount-bpffs'))).initContainers.find((c) => c.name === 'bpffs');
  assert.equal(bpffsInit.securityContext.privileged, true);
  assert.match(bpffsInit.command.join(' '), /mount -t bpf bpf \/sys\/fs\/bpf/);
  assert.equal(daemonOf(base).initContainers.find((c) => c.name === 'bpffs').securityContext.privileged, false);
  const sel = render(path.join(kubeDir, 'overlays/node-selector'));
  assert.equal(daemonOf(sel).nodeSelector['mcpfence.io/enforce'], 'true');
  assert.notEqual(policyText(sel), policyText(base));
});

// Each rule bites: break the rendered base one way at a time.
test('the rules reject what a platform team would reject', () => {
  const base = render(kubeDir);
  const breakWith = (mutate) => {
    const objs = structuredClone(base);
    const ds = objs.find((o) => o.kind === 'DaemonSet');
    mutate(ds.spec.template.spec, ds, objs);
    return checkDeployment(objs).join('\n');
  };
  const daemon = (spec) => spec.containers.find((c) => c.name === 'mcpfence');
  const setArg = (spec, flag, value) => {
    const c = daemon(spec);
    c.args = c.args.filter((a) => !a.startsWith(`--${flag}`));
    if (value !== undefined) c.args.push(value === true ? `--${flag}` : `--${flag}=${value}`);
  };
  const cases = [
    [(s) => { daemon(s).securityContext.privileged = true; }, /is privileged/],
    [(s) => { s.initContainers[0].securityContext.privileged = true; }, /bpffs is privileged/],
    [(s) => { daemon(s).resources.limits.cpu = '1'; }, /CPU limit/],
    [(s) => { delete daemon(s).resources.limits.memory; }, /no memory limit/],
    [(s) => { delete daemon(s).livenessProbe.httpGet.host; }, /livenessProbe/],
    [(s) => { daemon(s).readinessProbe.httpGet.port = 9999; }, /readinessProbe/],
    [(s) => { delete daemon(s).startupProbe; }, /no HTTP startupProbe/],
    [(s) => { delete s.priorityClassName; }, /priorityClassName/],
    [(s, ds) => { ds.spec.updateStrategy.rollingUpdate.maxUnavailable = 1; }, /maxUnavailable 0/],
    [(s) => { daemon(s).ports = [{ containerPort: 17002 }]; }, /declares ports/],
    [(s) => { daemon(s).securityContext.capabilities.add = daemon(s).securityContext.capabilities.add.filter((c) => c !== 'SYS_PTRACE'); }, /lacks capability SYS_PTRACE/],
    [(s) => { daemon(s).securityContext.capabilities.add.push('SYS_MODULE'); }, /capability SYS_MODULE, not in/],
    [(s) => { daemon(s).securityContext.capabilities.drop = []; }, /does not drop ALL/],
    [(s) => { s.hostPID = false; }, /hostPID/],
    [(s) => { setArg(s, 'fail-closed'); }, /without --fail-closed/],
    [(s) => { setArg(s, 'metrics', '0.0.0.0:9464'); }, /OpenTelemetry/],
    [(s) => { setArg(s, 'drain-timeout', '45'); }, /not above --drain-timeout/],
    [(s) => { setArg(s, 'state-dir', '/tmp/mcpfence'); }, /--state-dir/],
    [(s) => { daemon(s).volumeMounts.find((m) => m.mountPath === '/var/run/netns').mountPropagation = 'None'; }, /--netns-dir mount has propagation None/],
    [(s) => { s.volumes.find((v) => v.name === 'netns').hostPath.path = '/tmp/netns'; }, /--netns-dir .* is not on a hostPath/],
    [(s) => { daemon(s).volumeMounts.find((m) => m.mountPath === '/etc/mcpfence').subPath = 'policy.json'; }, /subPath/],
    [(s, ds, objs) => { objs.splice(objs.findIndex((o) => o.kind === 'ConfigMap'), 1); }, /not in a rendered ConfigMap/],
    [(s, ds, objs) => { objs.splice(objs.findIndex((o) => o.kind === 'PodMonitor'), 1); }, /expected one PodMonitor/],
    [(s, ds, objs) => { objs.find((o) => o.kind === 'PodMonitor').spec.selector.matchLabels = { app: 'other' }; }, /does not select/],
    [(s, ds) => { ds.spec.template.metadata.annotations['prometheus.io/port'] = '9464'; }, /prometheus.io\/port/],
  ];
  for (const [mutate, expected] of cases) assert.match(breakWith(mutate), expected, String(mutate));
  assert.deepEqual(checkDeployment(base), []);
});
