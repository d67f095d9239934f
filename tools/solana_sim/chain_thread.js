'use strict';
// The ledger's own thread. A validator executes transactions on threads apart from the ones
// answering RPC; when the emulator minted on its one JavaScript thread, an RPC request that
// arrived during a mint (or the garbage collection after one) waited for it, and that wait
// was most of the getTransaction tail that clients measured. The main thread (server.js,
// through chain_client.js) keeps the history and serves RPC and PubSub; this thread owns the
// LiteSVM instance and runs every operation that reads or changes accounts.
//
// Protocol on the MessagePort in workerData.port:
//   in:  {id, op, args}                     one of the ops below
//   out: {type: "landed", slot, signature, recordSlot, err, logs, memo, blockTime, accountKeys,
//         details: v8.serialize({record, accounts})}  after every landing, in landing order
//        {type: "reply", id, result}        or {type: "reply", id, error: "<message>"}
// After each message it posts, it sets workerData.flag[0] to 1 and wakes the main thread,
// which may be blocked in Atomics.wait for a reply (see ChainClient.callSync).
const v8 = require('node:v8');
const { workerData } = require('node:worker_threads');
const { Chain } = require('./chain');
const w = require('./wire');

const { port, options } = workerData;
const flag = new Int32Array(workerData.flag);

function post(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

// Set up before the first call arrives; a failure (a bad mint authority keypair…) is the
// answer to every call, so the main thread reports it instead of waiting.
let chain = null;
let setupError = null;
try {
  const mintAuthority = options.mintAuthoritySecret ? w.keypairFromSecret(options.mintAuthoritySecret) : null;
  chain = new Chain({ decimals: options.decimals, txPerSlot: options.txPerSlot, mintAuthority });
  // With each landing go its accounts as they are after it, for accountNotification: by the
  // time the main thread sends it, later transactions may have changed them.
  chain.listeners.push((record) => {
    const accounts = {};
    for (const key of record.tx.message.accountKeys) accounts[key] = chain.account(key);
    post({
      type: 'landed', slot: chain.slot, signature: record.signature, recordSlot: record.slot, err: record.err,
      logs: record.logs, memo: record.memo, blockTime: record.blockTime, accountKeys: record.tx.message.accountKeys,
      details: v8.serialize({ record, accounts }),
    });
  });
  chain.setup();
} catch (error) {
  setupError = error;
}

/** What a caller needs of a landing; the whole record went out as "landed" before it. */
const outcome = (r) => ({ landed: r.landed !== false, signature: r.signature, slot: r.slot, err: r.err, logs: r.logs });

const ops = {
  info: () => ({
    mint: chain.mint, decimals: chain.decimals, mintAuthority: chain.mintAuthority.publicKey,
    payer: chain.payer.publicKey, recipient: chain.recipient.publicKey,
    recipientTokenAccount: chain.recipientTokenAccount, setupSignatures: chain.setupSignatures, slot: chain.slot,
  }),
  balance: (address) => chain.balance(address),
  account: (address) => chain.account(address),
  tokenBalances: (keys) => chain.tokenBalances(keys),
  tokenAmount: (address) => chain.tokenAmount(address),
  minimumBalanceForRentExemption: (length) => chain.minimumBalanceForRentExemption(length),
  simulate: (bytes) => chain.simulate(Buffer.from(bytes)),
  submitWire: (bytes) => outcome(chain.submitWire(Buffer.from(bytes))),
  airdrop: (to, lamports) => outcome(chain.airdrop(to, lamports)),
  createTokenAccount: (owner) => outcome(chain.createTokenAccount(owner)),
  failingMint: () => outcome(chain.failingMint()),
  memo: (text) => outcome(chain.memo(text)),
  mintMany: (count, mintOptions) => chain.mintMany(count, mintOptions).map(outcome),
  advanceSlots: (slots) => chain.advanceSlots(slots),
  anchorEvent: (input) => outcome(chain.anchorEvent(input)),
  /** One mint every `intervalMs` in the background, as a stream of payments would land. */
  mintStream: (count, intervalMs, mintOptions) => {
    let done = 0;
    const timer = setInterval(() => {
      if (done >= count) { clearInterval(timer); return; }
      chain.mintMany(1, { ...mintOptions, first: done });
      done++;
    }, intervalMs);
    return { scheduled: count, interval_ms: intervalMs };
  },
};

port.on('message', ({ id, op, args }) => {
  try {
    if (setupError) throw setupError;
    if (!ops[op]) throw new Error(`unknown chain operation ${op}`);
    post({ type: 'reply', id, result: ops[op](...args) });
  } catch (error) {
    post({ type: 'reply', id, error: error.message });
  }
});
