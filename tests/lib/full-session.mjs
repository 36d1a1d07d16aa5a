// One scripted MCP session against server-everything through an agent
// (mcp-agent.mjs), exercising every MCP feature it offers, summarised
// into a transcript that does not depend on session ids, timing or
// server-side randomness, so a direct run and an intercepted run can be
// compared with deepEqual.
import { resultText, waitUntil } from './mcp.mjs';

const sortedNames = (items, key = 'name') => items.map((item) => item[key]).sort();

async function notificationsOf(agent, method) {
  return (await agent.must('notifications')).filter((n) => n.method === method);
}

export async function fullSession(agent, { streamable = true } = {}) {
  const t = {};
  const { serverInfo, capabilities, protocolVersion } = agent.connected;
  t.serverInfo = serverInfo;
  t.capabilities = Object.keys(capabilities).sort();
  t.protocolVersion = protocolVersion;

  const { tools } = await agent.must('listTools');
  t.tools = [...tools].sort();
  t.echo = resultText(await agent.callTool('echo', { message: 'hello through mcpfence' }));
  t.sum = resultText(await agent.callTool('get-sum', { a: 2, b: 40 }));
  t.structured = (await agent.callTool('get-structured-content', { location: 'New York' })).structuredContent;

  // Resources: list, templates, read, subscribe (the update arrives as a
  // notification once toggle-subscriber-updates starts sending them).
  const resources = await agent.must('request', { method: 'resources/list', params: {} });
  t.resources = sortedNames(resources.resources, 'uri');
  const templates = await agent.must('request', { method: 'resources/templates/list', params: {} });
  t.templates = sortedNames(templates.resourceTemplates, 'uriTemplate');
  const read = await agent.must('request', { method: 'resources/read', params: { uri: 'demo://resource/dynamic/text/1' } });
  t.read = read.contents.map((c) => ({ uri: c.uri, mimeType: c.mimeType, hasText: typeof c.text === 'string' }));
  const subscribedUri = 'demo://resource/dynamic/text/1';
  t.subscribe = await agent.must('request', { method: 'resources/subscribe', params: { uri: subscribedUri } });
  await agent.callTool('toggle-subscriber-updates', {});
  const updates = await waitUntil(async () => {
    const found = await notificationsOf(agent, 'notifications/resources/updated');
    return found.length > 0 && found;
  }, 'notifications/resources/updated', 15000);
  t.resourceUpdated = updates[0].params.uri;
  await agent.callTool('toggle-subscriber-updates', {});
  t.unsubscribe = await agent.must('request', { method: 'resources/unsubscribe', params: { uri: subscribedUri } });

  // Prompts and completion.
  const prompts = await agent.must('request', { method: 'prompts/list', params: {} });
  t.prompts = sortedNames(prompts.prompts);
  const simple = await agent.must('request', { method: 'prompts/get', params: { name: 'simple-prompt' } });
  t.simplePrompt = simple.messages;
  const args = await agent.must('request', { method: 'prompts/get', params: { name: 'args-prompt', arguments: { city: 'Paris', state: 'Texas' } } });
  t.argsPrompt = args.messages;
  const completion = await agent.must('request', { method: 'completion/complete', params: {
    ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } } });
  t.completion = completion.completion.values;

  // Logging: level set, then simulated log messages arrive (random level,
  // so only their presence and shape are compared).
  t.setLevel = await agent.must('request', { method: 'logging/setLevel', params: { level: 'debug' } });
  await agent.callTool('toggle-simulated-logging', {});
  const logs = await waitUntil(async () => {
    const found = await notificationsOf(agent, 'notifications/message');
    return found.length > 0 && found;
  }, 'notifications/message', 15000);
  t.logShape = Object.keys(logs[0].params).sort();
  await agent.callTool('toggle-simulated-logging', {});

  // Progress on long-running operations, three at once: each has its own
  // SSE response stream (plus the session's standalone GET stream).
  const longRuns = await Promise.all([1, 2, 3].map((n) => agent.callTool('trigger-long-running-operation',
    { duration: 1 + n * 0.5, steps: 3 + n }, { progress: true })));
  // The SDK client drops a progress notification that it dispatches after
  // the response it belongs to (seen direct, on the legacy transport), so
  // the last one is not required; every other one is, in order.
  t.longRuns = longRuns.map((r, i) => {
    const steps = 4 + i;
    const seen = r.progress.map((p) => `${p.progress}/${p.total}`);
    const wanted = Array.from({ length: steps }, (_, k) => `${k + 1}/${steps}`);
    return { text: resultText(r), progress: seen.length >= steps - 1 && seen.every((p, k) => p === wanted[k]) ? 'in order' : seen };
  });

  // Server-to-client requests answered over the same streams.
  const sampled = await agent.callTool('trigger-sampling-request', { prompt: 'say hi', maxTokens: 10 });
  t.sampling = resultText(sampled).includes('sampled: ');
  const elicited = await agent.callTool('trigger-elicitation-request', {});
  t.elicitation = resultText(elicited).toLowerCase().includes('decline');
  const serverRequests = await agent.must('serverRequests');
  t.serverRequests = serverRequests.map((r) => r.method);

  if (streamable) {
    // Session termination: DELETE, then the session is gone on the server.
    t.terminate = await agent.must('terminate');
    const after = await agent.send('callTool', { name: 'echo', arguments: { message: 'after DELETE' } });
    t.afterTerminate = { ok: after.ok, error: after.ok ? null : after.error.replace(/[0-9a-f-]{36}/g, 'SESSION') };
  }
  return t;
}
