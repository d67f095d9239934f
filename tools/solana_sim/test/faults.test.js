'use strict';
// RPC fault controls: JSON-RPC errors, HTTP errors, dropped connections and hangs, each
// bounded by a count or a duration; controls and PubSub keep working meanwhile.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, post, rpc, control, waitFor, PubSub } = require('../testing');

let sim;
let port;
test.before(async () => { sim = await startSim(); port = sim.info.rpc_port; });
test.after(async () => { if (sim) await sim.stop(); });
test.afterEach(async () => { await control(port, 'rpc/clear'); });

test('error mode answers a JSON-RPC error for the next N requests, then recovers', async () => {
  await control(port, 'rpc/fault', { mode: 'error', count: 2, code: -32005, message: 'Node is behind by 42 slots' });
  for (let i = 0; i < 2; i++) {
    const answer = await post(port, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { jsonrpc: '2.0', error: { code: -32005, message: 'Node is behind by 42 slots' }, id: 1 });
  }
  assert.ok(Number.isInteger((await rpc(port, 'getSlot')).result));
});

test('a fault can target methods only', async () => {
  await control(port, 'rpc/fault', { mode: 'error', methods: ['getTransaction'] });
  assert.ok(Number.isInteger((await rpc(port, 'getSlot')).result));
  const faulted = await rpc(port, 'getTransaction', [sim.info.setup_signatures[0], { encoding: 'json' }]);
  assert.equal(faulted.error.code, -32005);
});

test('http_error mode answers an HTTP status for a while', async () => {
  await control(port, 'rpc/fault', { mode: 'http_error', status: 503, duration_ms: 400 });
  const during = await post(port, { jsonrpc: '2.0', id: 1, method: 'getHealth' });
  assert.equal(during.status, 503);
  await waitFor(async () => (await post(port, { jsonrpc: '2.0', id: 1, method: 'getHealth' })).status === 200,
    { what: 'the fault to expire', timeoutMs: 5000, intervalMs: 50 });
});

test('drop mode closes the connection without an answer', async () => {
  await control(port, 'rpc/fault', { mode: 'drop', count: 1 });
  await assert.rejects(post(port, { jsonrpc: '2.0', id: 1, method: 'getSlot' }));
  assert.ok(Number.isInteger((await rpc(port, 'getSlot')).result));
});

test('hang mode holds requests until the client times out; history still grows and PubSub still notifies', async () => {
  const ws = await PubSub.open(sim.info.ws_port);
  const sub = (await ws.call('logsSubscribe', [{ mentions: [sim.info.mint] }])).result;
  await control(port, 'rpc/fault', { mode: 'hang' });
  const started = Date.now();
  await assert.rejects(post(port, { jsonrpc: '2.0', id: 1, method: 'getSlot' }, { timeoutMs: 300 }), /abort|timeout/i);
  assert.ok(Date.now() - started >= 290);
  const minted = await control(port, 'mint', { count: 3 });
  await waitFor(() => ws.notifications('logsNotification', sub).length === 3, { what: 'notifications during the hang' });
  const stats = await control(port, 'stats');
  assert.equal(stats.fault, 'hang');
  // A request still hanging when the fault clears is cut off, not answered late. The
  // rejection is expected at once, so its handler is attached before anything else is
  // awaited: the cut can land while rpc/clear is still answering.
  const cutOff = assert.rejects(post(port, { jsonrpc: '2.0', id: 2, method: 'getSlot' }, { timeoutMs: 5000 }));
  await waitFor(async () => (await control(port, 'stats')).hanging_requests >= 1, { what: 'a hanging request' });
  await control(port, 'rpc/clear');
  await cutOff;
  const history = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 3 }])).result;
  assert.deepEqual(history.map((e) => e.signature), [...minted.signatures].reverse());
  ws.close();
});

test('a timed hang ends by itself', async () => {
  await control(port, 'rpc/fault', { mode: 'hang', duration_ms: 300 });
  await waitFor(async () => (await control(port, 'stats')).fault === null, { what: 'the hang to end', timeoutMs: 5000 });
  assert.ok(Number.isInteger((await rpc(port, 'getSlot')).result));
});
