// The rules a rendered mcpfence deployment (deploy/kubernetes or one of its
// overlays) must keep. checkDeployment(objects, opts) returns one string per
// broken rule, so a test can show every violation at once and can also feed
// deliberately broken objects to prove each rule bites.

// Capabilities the daemon needs (deploy/kubernetes/README.md says why each),
// and the only ones it may be given.
export const REQUIRED_CAPS = ['BPF', 'PERFMON', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'];
export const ALLOWED_CAPS = [...REQUIRED_CAPS, 'SYS_RESOURCE', 'DAC_READ_SEARCH'];
// OpenTelemetry's Prometheus exporter default, which the daemon's own
// default metrics address still uses: the manifests must not.
export const OTEL_PROMETHEUS_PORT = 9464;

// `--name=value` / `--name` arguments of the daemon's container.
export function parseArgs(args) {
  const flags = new Map();
  for (const arg of args || []) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m) flags.set(m[1], m[2] === undefined ? true : m[2]);
  }
  return flags;
}

function portOf(addr) {
  const m = /:(\d+)$/.exec(String(addr));
  return m ? Number(m[1]) : NaN;
}

// The volume behind the mount whose mountPath is dir or a parent of it.
function mountFor(container, volumes, dir) {
  let best = null;
  for (const vm of container.volumeMounts || []) {
    const p = vm.mountPath.replace(/\/$/, '');
    if ((dir === p || dir.startsWith(p + '/')) && (!best || p.length > best.mount.mountPath.length))
      best = { mount: vm, volume: volumes.find((v) => v.name === vm.name) };
  }
  return best;
}

export function checkDeployment(objects, { expectPodMonitor = true } = {}) {
  const bad = [];
  const fail = (msg) => bad.push(msg);
  const of = (kind) => objects.filter((o) => o.kind === kind);

  const dss = of('DaemonSet');
  if (dss.length !== 1) {
    fail(`expected one DaemonSet, found ${dss.length}`);
    return bad;
  }
  const ds = dss[0];
  const ns = ds.metadata.namespace;
  const nsObj = of('Namespace').find((n) => n.metadata.name === ns);
  if (!ns || !nsObj) fail(`DaemonSet namespace ${ns} is not among the rendered Namespaces`);
  else if (nsObj.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'privileged')
    fail(`Namespace ${ns} lacks pod-security.kubernetes.io/enforce: privileged`);
  for (const o of objects)
    if (o.kind !== 'Namespace' && o.metadata.namespace !== ns)
      fail(`${o.kind}/${o.metadata.name} is in namespace ${o.metadata.namespace}, not ${ns}`);

  const spec = ds.spec.template.spec;
  const podLabels = ds.spec.template.metadata.labels || {};
  if (spec.priorityClassName !== 'system-node-critical')
    fail(`priorityClassName is ${spec.priorityClassName}, not system-node-critical`);
  const ru = ds.spec.updateStrategy?.rollingUpdate;
  if (ds.spec.updateStrategy?.type !== 'RollingUpdate' || String(ru?.maxUnavailable) !== '0' || String(ru?.maxSurge) !== '1')
    fail(`updateStrategy is ${JSON.stringify(ds.spec.updateStrategy)}, not RollingUpdate maxSurge 1 maxUnavailable 0`);
  if (spec.hostNetwork !== true) fail('hostNetwork is not true');
  if (spec.hostPID !== true) fail('hostPID is not true');
  const sa = spec.serviceAccountName;
  if (!sa || !of('ServiceAccount').some((s) => s.metadata.name === sa))
    fail(`serviceAccountName ${sa} is not a rendered ServiceAccount`);
  if (spec.automountServiceAccountToken !== false) fail('automountServiceAccountToken is not false');

  const volumes = spec.volumes || [];
  const all = [...(spec.initContainers || []).map((c) => ({ c, init: true })), ...(spec.containers || []).map((c) => ({ c, init: false }))];
  for (const { c, init } of all) {
    // hostNetwork makes every containerPort a hostPort: the surge pod of a
    // maxSurge rollout could never be scheduled next to the old one.
    if ((c.ports || []).length) fail(`container ${c.name} declares ports (hostPorts under hostNetwork block the surge pod)`);
    if (c.resources?.limits?.cpu !== undefined) fail(`container ${c.name} has a CPU limit`);
    const sc = c.securityContext || {};
    if (sc.privileged === true) {
      const bidi = (c.volumeMounts || []).some((m) => m.mountPath === '/sys/fs/bpf' && m.mountPropagation === 'Bidirectional');
      if (!init || !bidi) fail(`container ${c.name} is privileged (only an init container mounting the bpffs may be)`);
    } else if (!(sc.capabilities?.drop || []).includes('ALL')) {
      fail(`container ${c.name} does not drop ALL capabilities`);
    }
  }

  const daemon = (spec.containers || []).find((c) => c.name === 'mcpfence');
  if (!daemon) {
    fail('no container named mcpfence');
    return bad;
  }
  const sc = daemon.securityContext || {};
  const add = sc.capabilities?.add || [];
  for (const cap of REQUIRED_CAPS) if (!add.includes(cap)) fail(`mcpfence lacks capability ${cap}`);
  for (const cap of add) if (!ALLOWED_CAPS.includes(cap)) fail(`mcpfence has capability ${cap}, not in ${ALLOWED_CAPS}`);
  if (sc.readOnlyRootFilesystem !== true) fail('mcpfence root filesystem is writable');
  if (!daemon.resources?.limits?.memory) fail('mcpfence has no memory limit');
  if (!daemon.resources?.requests?.memory || !daemon.resources?.requests?.cpu) fail('mcpfence lacks cpu/memory requests');

  const flags = parseArgs(daemon.args);
  if (daemon.args?.[0] !== 'run') fail(`mcpfence args start with ${daemon.args?.[0]}, not run`);
  if (flags.get('fail-closed') !== true) fail('mcpfence runs without --fail-closed');
  const metricsPort = portOf(flags.get('metrics'));
  if (!Number.isInteger(metricsPort)) fail(`--metrics ${flags.get('metrics')} names no port`);
  if (metricsPort === OTEL_PROMETHEUS_PORT) fail(`metrics port is ${OTEL_PROMETHEUS_PORT}, OpenTelemetry's Prometheus exporter default`);
  if (!/^\/sys\/fs\/cgroup\/kubepods(\.slice)?$/.test(String(flags.get('cgroup'))))
    fail(`--cgroup is ${flags.get('cgroup')}, not the kubepods cgroup`);

  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const g = daemon[kind]?.httpGet;
    if (!g) fail(`mcpfence has no HTTP ${kind}`);
    else if (g.host !== '127.0.0.1' || Number(g.port) !== metricsPort || g.path !== '/healthz')
      fail(`${kind} is ${JSON.stringify(g)}, not http://127.0.0.1:${metricsPort}/healthz`);
  }
  const annPort = ds.spec.template.metadata.annotations?.['prometheus.io/port'];
  if (annPort !== undefined && Number(annPort) !== metricsPort) fail(`prometheus.io/port ${annPort} is not the metrics port ${metricsPort}`);

  const drain = Number(flags.get('drain-timeout'));
  if (!(drain > 0)) fail('mcpfence runs without --drain-timeout');
  else if (!(spec.terminationGracePeriodSeconds > drain))
    fail(`terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} is not above --drain-timeout ${drain}`);

  // Host paths the daemon needs, each where its flag says.
  const hostMount = (what, dir, hostPaths, { propagation, writable } = {}) => {
    if (typeof dir !== 'string') return fail(`${what}: no directory given`);
    const m = mountFor(daemon, volumes, dir);
    if (!m?.volume?.hostPath || !hostPaths.includes(m.volume.hostPath.path))
      return fail(`${what} ${dir} is not on a hostPath of ${hostPaths.join(' or ')}`);
    if (m.mount.mountPath !== dir && !dir.startsWith(m.mount.mountPath + '/')) fail(`${what}: bad mount`);
    if (propagation && m.mount.mountPropagation !== propagation)
      fail(`${what} mount has propagation ${m.mount.mountPropagation}, not ${propagation}`);
    if (writable && m.mount.readOnly) fail(`${what} mount is read-only`);
  };
  hostMount('--cgroup', flags.get('cgroup'), ['/sys/fs/cgroup']);
  hostMount('--bpffs', flags.get('bpffs'), ['/sys/fs/bpf'], { propagation: 'HostToContainer', writable: true });
  hostMount('--netns-dir', flags.get('netns-dir'), ['/var/run/netns', '/run/netns'], { propagation: 'HostToContainer' });
  hostMount('--state-dir', flags.get('state-dir'), ['/run/mcpfence', '/var/run/mcpfence'], { writable: true });
  if (flags.get('state-dir') !== undefined && !/^\/(var\/)?run\/mcpfence$/.test(flags.get('state-dir')))
    fail(`--state-dir ${flags.get('state-dir')} is not /run/mcpfence on the host`);

  // The policy: a ConfigMap mounted as a directory (a subPath mount never
  // sees the kubelet's updates), holding the file --policy names.
  const policy = String(flags.get('policy'));
  const pm = mountFor(daemon, volumes, policy);
  const cmName = pm?.volume?.configMap?.name;
  const cm = of('ConfigMap').find((c) => c.metadata.name === cmName);
  const key = policy.split('/').pop();
  if (!cm) fail(`--policy ${policy} is not in a rendered ConfigMap's volume`);
  else if (pm.mount.subPath) fail('the policy ConfigMap is mounted with subPath (never updated)');
  else if (typeof cm.data?.[key] !== 'string') fail(`ConfigMap ${cmName} has no ${key}`);

  const pms = of('PodMonitor');
  if (!expectPodMonitor) {
    if (pms.length) fail('PodMonitor rendered where none was expected');
  } else if (pms.length !== 1) {
    fail(`expected one PodMonitor, found ${pms.length}`);
  } else {
    const sel = pms[0].spec.selector?.matchLabels || {};
    if (!Object.keys(sel).length || !Object.entries(sel).every(([k, v]) => podLabels[k] === v))
      fail(`PodMonitor selector ${JSON.stringify(sel)} does not select the daemon's pods`);
    const eps = pms[0].spec.podMetricsEndpoints || [];
    const addrs = eps.flatMap((e) => (e.relabelings || []).filter((r) => r.targetLabel === '__address__').map((r) => r.replacement));
    if (!eps.length || eps.some((e) => e.path !== '/metrics')) fail('PodMonitor does not scrape /metrics');
    if (!addrs.length || addrs.some((a) => portOf(a) !== metricsPort))
      fail(`PodMonitor targets ${JSON.stringify(addrs)} are not on the metrics port ${metricsPort}`);
  }
  return bad;
}

// The policy file text of the rendered ConfigMap the daemon mounts.
export function policyText(objects) {
  const ds = objects.find((o) => o.kind === 'DaemonSet');
  const daemon = ds.spec.template.spec.containers.find((c) => c.name === 'mcpfence');
  const policy = String(parseArgs(daemon.args).get('policy'));
  const m = mountFor(daemon, ds.spec.template.spec.volumes || [], policy);
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === m.volume.configMap.name);
  return cm.data[policy.split('/').pop()];
}
