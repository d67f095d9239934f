'use strict';
// JSON-RPC over HTTP: real mints in history, Solana's response shapes and error shapes.
const test = require('node:test');
const assert = require('node:assert/strict');
const bs58 = require('bs58').default;
const { startSim, post, rpc, control } = require('../testing');
const w = require('../wire');

let sim;
let port;
test.before(async () => { sim = await startSim(); port = sim.info.rpc_port; });
test.after(async () => { if (sim) await sim.stop(); });

test('READY line names the ports, the mint and the program ids', () => {
  const { info } = sim;
  assert.ok(info.rpc_port > 0 && info.ws_port > 0 && info.rpc_port !== info.ws_port);
  assert.equal(bs58.decode(info.mint).length, 32);
  assert.ok(info.program_ids.includes('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'));
  assert.equal(info.decimals, 9);
  assert.equal(info.setup_signatures.length, 2);
});

test('real MintTo and MintToChecked transactions show in getSignaturesForAddress newest first', async () => {
  const minted = await control(port, 'mint', { count: 6, checked: 'alternate' });
  assert.equal(minted.signatures.length, 6);
  for (let i = 1; i < minted.slots.length; i++) assert.ok(minted.slots[i] > minted.slots[i - 1], 'slots increase');
  const answer = await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 6, commitment: 'confirmed' }]);
  assert.equal(answer.jsonrpc, '2.0');
  const list = answer.result;
  assert.deepEqual(list.map((e) => e.signature), [...minted.signatures].reverse());
  for (const entry of list) {
    assert.deepEqual(Object.keys(entry).sort(), ['blockTime', 'confirmationStatus', 'err', 'memo', 'signature', 'slot']);
    assert.equal(entry.err, null);
    assert.equal(entry.memo, null);
    assert.equal(entry.confirmationStatus, 'finalized');
    assert.ok(Number.isInteger(entry.blockTime));
  }
  // The token program and the mint authority see the same transactions.
  const byProgram = (await rpc(port, 'getSignaturesForAddress', ['TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', { limit: 6 }])).result;
  assert.deepEqual(byProgram.map((e) => e.signature), [...minted.signatures].reverse());
  const balance = await rpc(port, 'getTokenAccountBalance', [sim.info.recipient_token_account]);
  assert.equal(balance.result.value.decimals, 9);
  assert.equal(balance.result.value.amount, minted.balance);
});

test('before/until page through history and limit is capped at 1000', async () => {
  const minted = await control(port, 'mint', { count: 10 });
  const s = minted.signatures;
  const page = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { before: s[7], until: s[2], limit: 1000 }])).result;
  assert.deepEqual(page.map((e) => e.signature), [s[6], s[5], s[4], s[3]]);
  const limited = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { before: s[9], limit: 2 }])).result;
  assert.deepEqual(limited.map((e) => e.signature), [s[8], s[7]]);
  const tooMany = await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 1001 }]);
  assert.equal(tooMany.error.code, -32602);
  assert.match(tooMany.error.message, /Invalid limit; max 1000/);
  const unknown = (await rpc(port, 'getSignaturesForAddress', [w.newKeypair().publicKey])).result;
  assert.deepEqual(unknown, []);
});

test('getTransaction in json encoding carries logs, balances and the SPL Token instruction data', async () => {
  const minted = await control(port, 'mint', { count: 2, checked: 'alternate', amount: 2500 });
  const [plain, checked] = await Promise.all(minted.signatures.map((sig) =>
    rpc(port, 'getTransaction', [sig, { encoding: 'json', maxSupportedTransactionVersion: 0, commitment: 'confirmed' }])));
  for (const [answer, sig, slot, kind] of [[plain, minted.signatures[0], minted.slots[0], 7], [checked, minted.signatures[1], minted.slots[1], 14]]) {
    const r = answer.result;
    assert.equal(r.slot, slot);
    assert.equal(r.version, 'legacy');
    assert.ok(Number.isInteger(r.blockTime));
    assert.equal(r.meta.err, null);
    assert.deepEqual(r.meta.status, { Ok: null });
    assert.equal(r.meta.fee, 10000);
    assert.ok(r.meta.logMessages.includes('Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA success'));
    assert.equal(r.meta.preBalances.length, r.transaction.message.accountKeys.length);
    assert.equal(r.meta.postBalances[0], r.meta.preBalances[0] - 10000);
    assert.equal(r.transaction.signatures[0], sig);
    assert.deepEqual(Object.keys(r.transaction.message.header).sort(),
      ['numReadonlySignedAccounts', 'numReadonlyUnsignedAccounts', 'numRequiredSignatures']);
    const ix = r.transaction.message.instructions[0];
    assert.equal(r.transaction.message.accountKeys[ix.programIdIndex], 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
    const data = Buffer.from(bs58.decode(ix.data));
    assert.equal(data[0], kind);
    assert.equal(data.readBigUInt64LE(1), 2500n);
    const post = r.meta.postTokenBalances[0];
    assert.equal(post.mint, sim.info.mint);
    assert.equal(BigInt(post.uiTokenAmount.amount) - BigInt(r.meta.preTokenBalances[0].uiTokenAmount.amount), 2500n);
  }
  const b64 = await rpc(port, 'getTransaction', [minted.signatures[0], { encoding: 'base64' }]);
  assert.equal(b64.result.transaction[1], 'base64');
  assert.equal(w.decodeTransaction(Buffer.from(b64.result.transaction[0], 'base64')).signatures[0], minted.signatures[0]);
  assert.equal(b64.result.version, undefined, 'version is only present with maxSupportedTransactionVersion');
  const missing = await rpc(port, 'getTransaction', [bs58.encode(Buffer.alloc(64, 7)), { encoding: 'json' }]);
  assert.equal(missing.result, null);
});

test('a failing transaction lands with its InstructionError in history and statuses', async () => {
  const failed = await control(port, 'fail', {});
  assert.deepEqual(failed.err, { InstructionError: [0, { Custom: 4 }] });
  const sig = failed.signatures[0];
  const tx = (await rpc(port, 'getTransaction', [sig, { encoding: 'json', maxSupportedTransactionVersion: 0 }])).result;
  assert.deepEqual(tx.meta.err, { InstructionError: [0, { Custom: 4 }] });
  assert.deepEqual(tx.meta.status, { Err: { InstructionError: [0, { Custom: 4 }] } });
  assert.ok(tx.meta.logMessages.some((l) => l.endsWith('failed: custom program error: 0x4')));
  const listed = (await rpc(port, 'getSignaturesForAddress', [sim.info.mint, { limit: 1 }])).result[0];
  assert.equal(listed.signature, sig);
  assert.deepEqual(listed.err, { InstructionError: [0, { Custom: 4 }] });
  const statuses = (await rpc(port, 'getSignatureStatuses', [[sig, bs58.encode(Buffer.alloc(64, 9))], { searchTransactionHistory: true }])).result;
  assert.ok(statuses.context.slot >= failed.slots[0]);
  assert.deepEqual(statuses.value[0], { slot: failed.slots[0], confirmations: null, err: tx.meta.err,
    status: { Err: tx.meta.err }, confirmationStatus: 'finalized' });
  assert.equal(statuses.value[1], null);
});

test('sendTransaction executes a client-signed MintTo (base64) and rejects a bad one in preflight', async () => {
  // The emulator's own mint authority is not exported, so the client creates its own mint.
  const authority = w.newKeypair();
  const payer = w.newKeypair();
  const airdrop = await rpc(port, 'requestAirdrop', [payer.publicKey, 10_000_000_000]);
  assert.equal(typeof airdrop.result, 'string');
  const mint = w.newKeypair();
  const rent = (await rpc(port, 'getMinimumBalanceForRentExemption', [82])).result;
  const { blockhash } = (await rpc(port, 'getLatestBlockhash', [{ commitment: 'confirmed' }])).result.value;
  const ata = w.associatedTokenAddress(payer.publicKey, mint.publicKey);
  const message = w.compileLegacyMessage(payer.publicKey, [
    w.ix.createAccount(payer.publicKey, mint.publicKey, rent, 82, w.TOKEN_PROGRAM),
    w.ix.initializeMint2(mint.publicKey, 6, authority.publicKey),
    w.ix.createAta(payer.publicKey, ata, payer.publicKey, mint.publicKey),
    w.ix.mintTo(mint.publicKey, ata, authority.publicKey, 42),
  ], blockhash);
  const signers = new Map([payer, mint, authority].map((k) => [k.publicKey, k]));
  const wire = w.signTransaction(message.bytes, message.keys.slice(0, message.header.numRequiredSignatures).map((k) => signers.get(k)));
  const sent = await rpc(port, 'sendTransaction', [wire.toString('base64'), { encoding: 'base64' }]);
  assert.equal(sent.result, w.decodeTransaction(wire).signatures[0], JSON.stringify(sent));
  const balance = (await rpc(port, 'getTokenAccountBalance', [ata])).result.value;
  assert.deepEqual(balance, { amount: '42', decimals: 6, uiAmount: 0.000042, uiAmountString: '0.000042' });

  const impostor = w.newKeypair();
  const bad = w.compileLegacyMessage(payer.publicKey, [w.ix.mintTo(mint.publicKey, ata, impostor.publicKey, 1)], blockhash);
  const badWire = w.signTransaction(bad.bytes, [payer, impostor]);
  const rejected = await rpc(port, 'sendTransaction', [w.bs58.encode(badWire)]);
  assert.equal(rejected.error.code, -32002);
  assert.match(rejected.error.message, /^Transaction simulation failed: Error processing Instruction 0: custom program error: 0x4/);
  assert.deepEqual(rejected.error.data.err, { InstructionError: [0, { Custom: 4 }] });
  assert.ok(Array.isArray(rejected.error.data.logs));
  const notLanded = (await rpc(port, 'getSignatureStatuses', [[w.decodeTransaction(badWire).signatures[0]]])).result.value;
  assert.deepEqual(notLanded, [null]);
});

test('errors are shaped as Solana shapes them', async () => {
  const parse = await post(port, '{"jsonrpc":"2.0","id":1,"method":');
  assert.equal(parse.status, 200);
  assert.deepEqual(parse.json, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
  assert.equal(parse.text, '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}');
  const unknown = await post(port, { jsonrpc: '2.0', id: 7, method: 'getTeleport' });
  assert.equal(unknown.text, '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":7}');
  const badAddress = await rpc(port, 'getSignaturesForAddress', ['not-an-address']);
  assert.equal(badAddress.error.code, -32602);
  const badSig = await rpc(port, 'getTransaction', ['xyz', { encoding: 'json' }]);
  assert.equal(badSig.error.code, -32602);
  const badCommitment = await rpc(port, 'getTransaction', [bs58.encode(Buffer.alloc(64, 1)), { commitment: 'processed' }]);
  assert.equal(badCommitment.error.code, -32602);
  assert.match(badCommitment.error.message, /commitment below `confirmed`/);
  const invalid = await post(port, { id: 3, method: 'getSlot' });
  assert.deepEqual(invalid.json, { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: 3 });
  const empty = await post(port, '[]');
  assert.deepEqual(empty.json, { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: null });
});

test('batch requests answer each entry in order', async () => {
  const { json } = await post(port, [
    { jsonrpc: '2.0', id: 1, method: 'getSlot' },
    { jsonrpc: '2.0', id: 2, method: 'getHealth' },
    { jsonrpc: '2.0', id: 3, method: 'nope' },
    { jsonrpc: '2.0', id: 4, method: 'getLatestBlockhash' },
  ]);
  assert.equal(json.length, 4);
  assert.ok(Number.isInteger(json[0].result));
  assert.equal(json[1].result, 'ok');
  assert.deepEqual(json[2], { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 3 });
  assert.equal(bs58.decode(json[3].result.value.blockhash).length, 32);
  assert.ok(json[3].result.value.lastValidBlockHeight > json[0].result);
  assert.ok(json[3].result.context.slot >= json[0].result);
});

test('a memo transaction fills getSignaturesForAddress memo as Solana does', async () => {
  const memo = await control(port, 'memo', { text: 'meter-42' });
  const listed = (await rpc(port, 'getSignaturesForAddress', [w.MEMO_PROGRAM, { limit: 1 }])).result[0];
  assert.equal(listed.signature, memo.signature);
  assert.equal(listed.memo, '[8] meter-42');
});

test('stats count the connections that carried JSON-RPC, so a test can tell a client keeps its connection', async () => {
  const http = require('node:http');
  const call = (agent) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent,
      headers: { 'Content-Type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }));
  });
  const connections = async () => (await control(port, 'stats')).rpc_connections_total;
  const before = await connections();
  const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await call(kept);
  await call(kept);
  kept.destroy();
  assert.equal(await connections(), before + 1);
  await call(false);
  await call(false);
  assert.equal(await connections(), before + 3);
});

test('close_idle closes kept-alive RPC connections between requests; the client dials again', async () => {
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent,
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }));
  });
  await call();
  const connections = async () => (await control(port, 'stats')).rpc_connections_total;
  const before = await connections();
  assert.ok((await control(port, 'rpc/close_idle')).closed >= 1);
  assert.equal((await call()).result, 'ok');
  assert.equal(await connections(), before + 1);
  agent.destroy();
});
