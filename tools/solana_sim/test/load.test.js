'use strict';
// Load: a 1,000-transaction batch lands with strictly increasing slots, every one notified
// once and in order, and paging with `before` walks the whole gap.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, rpc, control, waitFor, PubSub } = require('../testing');

test('1000 mints: every notification once, in slot order, and a full getSignaturesForAddress walk', async (t) => {
  const sim = await startSim();
  const port = sim.info.rpc_port;
  const ws = await PubSub.open(sim.info.ws_port);
  try {
    const sub = (await ws.call('logsSubscribe', [{ mentions: [sim.info.mint] }])).result;
    const started = Date.now();
    const minted = await control(port, 'mint', { count: 1000, checked: 'alternate' });
    const elapsed = Date.now() - started;
    assert.equal(minted.signatures.length, 1000);
    await waitFor(() => ws.notifications('logsNotification', sub).length >= 1000, { what: '1000 notifications', timeoutMs: 60_000 });
    const notes = ws.notifications('logsNotification', sub);
    assert.equal(notes.length, 1000);
    assert.deepEqual(notes.map((n) => n.params.result.value.signature), minted.signatures);
    for (let i = 1; i < notes.length; i++) {
      assert.ok(notes[i].params.result.context.slot > notes[i - 1].params.result.context.slot);
    }
    // Walk back from the newest with limit 300 until the first minted signature.
    const walked = [];
    let before;
    for (;;) {
      const page = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 300, before, until: sim.info.setup_signatures[0] }])).result;
      if (page.length === 0) break;
      walked.push(...page.map((e) => e.signature));
      before = page[page.length - 1].signature;
    }
    assert.deepEqual(walked.slice(0, 1000), [...minted.signatures].reverse());
    assert.deepEqual(walked.slice(1000), [sim.info.setup_signatures[1]]);
    const stats = await control(port, 'stats');
    assert.ok(stats.transactions_landed >= 1002);
    t.diagnostic(`1000 mints landed in ${elapsed} ms`);
  } finally {
    ws.close();
    await sim.stop();
  }
});
