'use strict';
// PubSub over WebSocket: logs/signature/account subscriptions and the socket controls
// (pause, hold, drop, freeze, inject).
const test = require('node:test');
const assert = require('node:assert/strict');
const bs58 = require('bs58').default;
const { startSim, post, rpc, control, waitFor, PubSub } = require('../testing');

let sim;
let port;
let wsPort;
const open = [];
test.before(async () => { sim = await startSim(); port = sim.info.rpc_port; wsPort = sim.info.ws_port; });
test.after(async () => { for (const c of open) c.close(); if (sim) await sim.stop(); });

async function client() {
  const c = await PubSub.open(wsPort);
  open.push(c);
  return c;
}

async function subscribeMint(c) {
  const answer = await c.call('logsSubscribe', [{ mentions: [sim.info.mint] }, { commitment: 'confirmed' }]);
  assert.equal(answer.jsonrpc, '2.0');
  assert.ok(Number.isInteger(answer.result), JSON.stringify(answer));
  return answer.result;
}

test('logsSubscribe delivers one logsNotification per real mint, in slot order', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  const minted = await control(port, 'mint', { count: 25, checked: 'alternate' });
  await waitFor(() => c.notifications('logsNotification', sub).length >= 25, { what: '25 notifications' });
  const notes = c.notifications('logsNotification', sub);
  assert.equal(notes.length, 25);
  assert.deepEqual(notes.map((n) => n.params.result.value.signature), minted.signatures);
  assert.deepEqual(notes.map((n) => n.params.result.context.slot), minted.slots);
  const first = notes[0];
  assert.deepEqual(Object.keys(first).sort(), ['jsonrpc', 'method', 'params']);
  assert.deepEqual(Object.keys(first.params.result.value).sort(), ['err', 'logs', 'signature']);
  assert.equal(first.params.result.value.err, null);
  assert.equal(first.params.result.value.logs[0], 'Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]');
  // Failed transactions are notified too, with their error.
  const failed = await control(port, 'fail', {});
  await waitFor(() => c.notifications('logsNotification', sub).length === 26, { what: 'failure notification' });
  const last = c.notifications('logsNotification', sub)[25].params.result.value;
  assert.equal(last.signature, failed.signatures[0]);
  assert.deepEqual(last.err, { InstructionError: [0, { Custom: 4 }] });
  // Unsubscribing stops them.
  const unsub = await c.call('logsUnsubscribe', [sub]);
  assert.equal(unsub.result, true);
  const again = await c.call('logsUnsubscribe', [sub]);
  assert.deepEqual(again.error, { code: -32602, message: 'Invalid params: Invalid subscription id.' });
  await control(port, 'mint', { count: 3 });
  const marker = await c.call('getHealthPing', []); // any round trip orders after the landed mints
  assert.equal(marker.error.code, -32601);
  assert.equal(c.notifications('logsNotification', sub).length, 26);
});

test('interval_ms streams mints in the background, each notified as it lands', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  const answer = await control(port, 'mint', { count: 5, interval_ms: 20 });
  assert.deepEqual(answer, { scheduled: 5, interval_ms: 20 });
  await waitFor(() => c.notifications('logsNotification', sub).length === 5, { what: 'five streamed mints' });
  const slots = c.notifications('logsNotification', sub).map((n) => n.params.result.context.slot);
  for (let i = 1; i < slots.length; i++) assert.ok(slots[i] > slots[i - 1]);
});

test('mentions takes exactly one address, as on Solana', async () => {
  const c = await client();
  const two = await c.call('logsSubscribe', [{ mentions: [sim.info.mint, sim.info.token_program] }]);
  assert.deepEqual(two.error, { code: -32602, message: 'Invalid Request: Only 1 address supported' });
  const none = await c.call('logsSubscribe', [{ mentions: [] }]);
  assert.equal(none.error.code, -32602);
  const bad = await c.call('logsSubscribe', [{ mentions: ['zzz'] }]);
  assert.equal(bad.error.code, -32602);
  const all = await c.call('logsSubscribe', ['all']);
  assert.ok(Number.isInteger(all.result));
  const parse = await new Promise((resolve) => {
    c.ws.send('{nope');
    waitFor(() => c.messages.find((m) => m.error && m.error.code === -32700)).then(resolve);
  });
  assert.deepEqual(parse, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
});

test('signatureSubscribe fires once, also for a signature that already landed', async () => {
  const c = await client();
  const minted = await control(port, 'mint', { count: 1 });
  const sub = (await c.call('signatureSubscribe', [minted.signatures[0], { commitment: 'finalized' }])).result;
  const note = await waitFor(() => c.notifications('signatureNotification', sub)[0], { what: 'signatureNotification' });
  assert.deepEqual(note, { jsonrpc: '2.0', method: 'signatureNotification',
    params: { result: { context: { slot: minted.slots[0] }, value: { err: null } }, subscription: sub } });
  const gone = await c.call('signatureUnsubscribe', [sub]);
  assert.equal(gone.error.code, -32602, 'one-shot: the subscription is gone after the notification');
});

test('accountSubscribe notifies the token account after each mint', async () => {
  const c = await client();
  const sub = (await c.call('accountSubscribe', [sim.info.recipient_token_account, { encoding: 'base64', commitment: 'confirmed' }])).result;
  const minted = await control(port, 'mint', { count: 2, amount: 5 });
  await waitFor(() => c.notifications('accountNotification', sub).length === 2, { what: 'account notifications' });
  const value = c.notifications('accountNotification', sub)[1].params.result.value;
  assert.equal(value.owner, 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
  assert.equal(Buffer.from(value.data[0], 'base64').readBigUInt64LE(64).toString(), minted.balance);
});

test('two subscribers of one account each get the encoding they asked for', async () => {
  const c = await client();
  const account = sim.info.recipient_token_account;
  const b64 = (await c.call('accountSubscribe', [account, { encoding: 'base64' }])).result;
  const b58 = (await c.call('accountSubscribe', [account, { encoding: 'base58' }])).result;
  await control(port, 'mint', { count: 1 });
  await waitFor(() => c.notifications('accountNotification', b64).length === 1 &&
    c.notifications('accountNotification', b58).length === 1, { what: 'one notification per subscription' });
  assert.equal(c.notifications('accountNotification', b64)[0].params.result.value.data[1], 'base64');
  assert.equal(c.notifications('accountNotification', b58)[0].params.result.value.data[1], 'base58');
});

test('pause drops notifications while transactions keep landing in history; resume restores them', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  await control(port, 'ws/pause', { mode: 'drop' });
  const during = await control(port, 'mint', { count: 10 });
  const history = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 10 }])).result;
  assert.deepEqual(history.map((e) => e.signature), [...during.signatures].reverse());
  const stats = await control(port, 'stats');
  assert.equal(stats.paused, 'drop');
  assert.ok(stats.notifications_dropped >= 10);
  await control(port, 'ws/resume');
  const after = await control(port, 'mint', { count: 1 });
  await waitFor(() => c.notifications('logsNotification', sub).length >= 1, { what: 'post-resume notification' });
  assert.deepEqual(c.notifications('logsNotification', sub).map((n) => n.params.result.value.signature), after.signatures);
});

test('pause in hold mode delays notifications and flushes them in order on resume', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  await control(port, 'ws/pause', { mode: 'hold' });
  const during = await control(port, 'mint', { count: 5 });
  await c.call('ping', []);
  assert.equal(c.notifications('logsNotification', sub).length, 0);
  const resumed = await control(port, 'ws/resume');
  assert.ok(resumed.flushed >= 5);
  await waitFor(() => c.notifications('logsNotification', sub).length === 5, { what: 'flushed notifications' });
  assert.deepEqual(c.notifications('logsNotification', sub).map((n) => n.params.result.value.signature), during.signatures);
});

test('a paced resume releases the held notifications one slot at a time, and what lands meanwhile queues behind', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  const arrivedAt = [];
  c.ws.on('message', (data) => { if (data.toString('utf8').includes('"logsNotification"')) arrivedAt.push(Date.now()); });
  await control(port, 'ws/pause', { mode: 'hold' });
  const held = await control(port, 'mint', { count: 4 });
  const released = await control(port, 'ws/resume', { interval_ms: 100 });
  assert.equal(released.paused, true, 'still paused while the queue drains');
  assert.ok(released.releasing >= 4, JSON.stringify(released));
  const later = await control(port, 'mint', { count: 1 });
  await waitFor(() => c.notifications('logsNotification', sub).length === 5, { what: 'all five notifications' });
  assert.deepEqual(c.notifications('logsNotification', sub).map((n) => n.params.result.value.signature),
    [...held.signatures, ...later.signatures]);
  // Timers never fire early, so every gap is at least about the interval.
  for (let i = 1; i < arrivedAt.length; i++) assert.ok(arrivedAt[i] - arrivedAt[i - 1] >= 90, `gaps ${arrivedAt}`);
  await waitFor(async () => (await control(port, 'stats')).paused === null, { what: 'the pause to end once drained' });
});

test('a paced resume refuses a bad interval, and needs something held', async () => {
  for (const interval of [0, -5, 1.5, 'fast', 60_001]) {
    const answer = await post(port, { interval_ms: interval }, { path: '/control/ws/resume' });
    assert.equal(answer.status, 400, `interval ${interval}: ${answer.text}`);
    assert.match(answer.json.error, /interval_ms is an integer from 1 to 60000/);
  }
  const unpaused = await post(port, { interval_ms: 10 }, { path: '/control/ws/resume' });
  assert.equal(unpaused.status, 409);
  assert.match(unpaused.json.error, /nothing is held/);
});

test('a timed pause ends by itself', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  await control(port, 'ws/pause', { duration_ms: 300 });
  await control(port, 'mint', { count: 2 });
  await waitFor(async () => (await control(port, 'stats')).paused === null, { what: 'pause to end', timeoutMs: 5000 });
  const after = await control(port, 'mint', { count: 1 });
  await waitFor(() => c.notifications('logsNotification', sub).length === 1, { what: 'notification after pause' });
  assert.equal(c.notifications('logsNotification', sub)[0].params.result.value.signature, after.signatures[0]);
});

test('drop closes every PubSub socket; subscriptions die with them', async () => {
  const a = await client();
  const b = await client();
  await subscribeMint(a);
  await subscribeMint(b);
  const dropped = await control(port, 'ws/drop', { mode: 'terminate' });
  assert.ok(dropped.dropped >= 2);
  await waitFor(() => a.closed && b.closed, { what: 'sockets to close' });
  assert.equal(a.closeCode, 1006, 'terminate is an abrupt close (no close frame)');
  const c = await client();
  await subscribeMint(c);
  await control(port, 'ws/drop', { mode: 'close', code: 1001 });
  await waitFor(() => c.closed, { what: 'graceful close' });
  assert.equal(c.closeCode, 1001);
  await waitFor(async () => (await control(port, 'stats')).subscribers === 0, { what: 'no subscribers' });
});

test('freeze stops reading sockets so pings go unanswered; thaw answers them', async () => {
  const c = await client();
  await control(port, 'ws/freeze');
  let ponged = false;
  c.ws.on('pong', () => { ponged = true; });
  c.ws.ping();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ponged, false);
  await control(port, 'ws/thaw');
  await waitFor(() => ponged, { what: 'pong after thaw' });
});

test('inject sends malformed, wrongly typed, unknown-subscription and oversized notifications', async () => {
  const c = await client();
  const sub = await subscribeMint(c);
  for (const kind of ['malformed', 'bad_fields', 'unknown_subscription']) {
    const before = c.messages.length;
    const sent = await control(port, 'ws/inject', { kind });
    assert.ok(sent.sent >= 1);
    await waitFor(() => c.messages.length > before, { what: `${kind} message` });
  }
  assert.ok(c.messages.some((m) => m.raw && m.raw.startsWith('{"jsonrpc":"2.0","method":"logsNotification"')));
  assert.ok(c.messages.some((m) => m.params && m.params.subscription === 987654321));
  assert.ok(c.messages.some((m) => m.params && m.params.result && m.params.result.value && m.params.result.value.logs === 'not a list'));
  const before = c.messages.length;
  await control(port, 'ws/inject', { kind: 'oversized', bytes: 2 * 1024 * 1024 });
  const big = await waitFor(() => c.messages.length > before && c.messages[c.messages.length - 1], { what: 'oversized' });
  assert.equal(big.params.subscription, sub);
  assert.ok(JSON.stringify(big).length >= 2 * 1024 * 1024);
  await control(port, 'ws/inject', { text: 'plain text' });
  await waitFor(() => c.messages.some((m) => m.raw === 'plain text'), { what: 'raw text' });
  // The socket survives all of it.
  assert.equal(c.closed, false);
  const minted = await control(port, 'mint', { count: 1 });
  await waitFor(() => c.notifications('logsNotification', sub).some((n) => n.params.result.value.signature === minted.signatures[0]),
    { what: 'a real notification after injections' });
});

test('anchor_event records a synthetic transaction with Anchor-shaped logs', async () => {
  const c = await client();
  const crypto = require('node:crypto');
  const sub = (await c.call('logsSubscribe', [{ mentions: [sim.info.anchor_program] }])).result;
  const payload = Buffer.from([1, 2, 3, 4]).toString('base64');
  const event = await control(port, 'anchor_event', { instruction: 'MintEnergy', name: 'EnergyMinted', data_base64: payload });
  const note = await waitFor(() => c.notifications('logsNotification', sub)[0], { what: 'anchor notification' });
  const logs = note.params.result.value.logs;
  assert.equal(logs[1], 'Program log: Instruction: MintEnergy');
  const data = Buffer.from(logs[2].slice('Program data: '.length), 'base64');
  assert.deepEqual(data.subarray(0, 8), crypto.createHash('sha256').update('event:EnergyMinted').digest().subarray(0, 8));
  assert.deepEqual([...data.subarray(8)], [1, 2, 3, 4]);
  const listed = (await rpc(port, 'getSignaturesForAddress', [sim.info.anchor_program])).result;
  assert.equal(listed[0].signature, event.signature);
  const tx = (await rpc(port, 'getTransaction', [event.signature, { encoding: 'json' }])).result;
  assert.deepEqual(tx.meta.logMessages, logs);
  assert.equal(bs58.decode(tx.transaction.message.instructions[0].data).length, 8);
});
