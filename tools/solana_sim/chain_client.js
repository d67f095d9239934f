'use strict';
// The main thread's side of the ledger (chain_thread.js runs it). It keeps what an RPC node
// keeps to answer queries (history, the per-signature and per-address indexes, the slot),
// filled from the thread's "landed" messages in landing order, and calls the thread for
// everything that reads or changes accounts.
const path = require('node:path');
const v8 = require('node:v8');
const { MessageChannel, Worker, receiveMessageOnPort } = require('node:worker_threads');

const SYNC_CALL_LIMIT_MS = 60_000;

// Buffers cross threads as plain Uint8Arrays; the server encodes them with Buffer methods.
const asBuffer = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * A landed transaction as the main thread keeps it: what notifications and history walks read,
 * and the rest (the full record and the accounts it left) serialized until getTransaction or
 * an account notification asks for it. Kept as one byte buffer outside the JavaScript heap,
 * a record costs the garbage collector a few objects instead of about a hundred: with every
 * record kept for good, each young-generation collection copied all those made since the last
 * one, pauses of 2-17 ms that a getTransaction arriving meanwhile waited out.
 */
class Landed {
  constructor(message) {
    this.signature = message.signature;
    this.slot = message.recordSlot;
    this.err = message.err;
    this.logs = message.logs;
    this.memo = message.memo;
    this.blockTime = message.blockTime;
    this.accountKeys = message.accountKeys;
    this.packed = message.details;
  }

  /** {record: the chain's full record (tx, wire, meta fields), accounts: address -> account after it}. */
  details() {
    const { record, accounts } = v8.deserialize(this.packed);
    record.wire = asBuffer(record.wire);
    for (const instruction of record.tx.message.instructions) instruction.data = asBuffer(instruction.data);
    for (const account of Object.values(accounts)) if (account) account.data = asBuffer(account.data);
    return { record, accounts };
  }
}

class ChainClient {
  /** options: {decimals, txPerSlot, mintAuthoritySecret (64-byte array or null)}. Blocks until set up. */
  constructor(options) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.flag = new Int32Array(new SharedArrayBuffer(4));
    this.worker = new Worker(path.join(__dirname, 'chain_thread.js'), {
      workerData: { port: port2, flag: this.flag.buffer, options }, transferList: [port2],
    });
    this.worker.on('error', (error) => {
      process.stderr.write(`solana_sim: the chain thread failed: ${error.stack || error}\n`);
      process.exit(1);
    });
    this.history = [];              // Landed records in order (slot ascending)
    this.bySignature = new Map();   // signature -> record
    this.byAddress = new Map();     // address -> [record] in landing order
    this.listeners = [];            // (record) => void, called after each landing
    this.pending = new Map();       // call id -> (reply) => void
    this.inbox = [];                // landings not yet handed to the listeners
    this.delivering = false;
    this.nextId = 1;
    this.port.on('message', (message) => this.dispatch(message));
    Object.assign(this, this.callSync('info'));
  }

  dispatch(message) {
    if (message.type === 'landed') {
      // A listener that calls the chain thread synchronously drains the port: landings it
      // finds wait here, so every listener sees them in landing order.
      this.inbox.push(message);
      if (this.delivering) return;
      this.delivering = true;
      try {
        while (this.inbox.length > 0) this.land(this.inbox.shift());
      } finally {
        this.delivering = false;
      }
      return;
    }
    const settle = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (settle) settle(message);
  }

  land(message) {
    const record = new Landed(message);
    this.slot = message.slot;
    this.history.push(record);
    this.bySignature.set(record.signature, record);
    for (const address of new Set(record.accountKeys)) {
      let list = this.byAddress.get(address);
      if (!list) this.byAddress.set(address, (list = []));
      list.push(record);
    }
    for (const listener of this.listeners) listener(record);
  }

  /**
   * Runs `op` on the chain thread and waits for it, handling every landing reported before
   * the answer first. For calls the RPC answers at once (balances, sendTransaction…).
   */
  callSync(op, ...args) {
    const id = this.nextId++;
    let reply = null;
    this.pending.set(id, (message) => { reply = message; });
    this.port.postMessage({ id, op, args });
    const deadline = Date.now() + SYNC_CALL_LIMIT_MS;
    for (;;) {
      // Cleared before draining, so a message posted after the drain wakes the wait below.
      Atomics.store(this.flag, 0, 0);
      for (let m; reply === null && (m = receiveMessageOnPort(this.port));) this.dispatch(m.message);
      if (reply !== null) break;
      if (Date.now() >= deadline) throw new Error(`the chain thread did not answer ${op} within 60 s`);
      Atomics.wait(this.flag, 0, 0, deadline - Date.now());
    }
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.result;
  }

  /** Runs `op` on the chain thread while this one goes on serving; for long work (big mints). */
  call(op, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, (message) => (message.error !== undefined ? reject(new Error(message.error)) : resolve(message.result)));
      this.port.postMessage({ id, op, args });
    });
  }

  balance(address) { return this.callSync('balance', address); }

  /** {lamports, owner(base58), executable, data(Buffer)} or null. */
  account(address) {
    const account = this.callSync('account', address);
    if (account) account.data = asBuffer(account.data);
    return account;
  }

  tokenBalances(keys) { return this.callSync('tokenBalances', keys); }
  tokenAmount(address) { return this.callSync('tokenAmount', address); }
  minimumBalanceForRentExemption(length) { return this.callSync('minimumBalanceForRentExemption', length); }
  simulate(bytes) { return this.callSync('simulate', bytes); }
  submitWire(bytes) { return this.callSync('submitWire', bytes); }
  airdrop(to, lamports) { return this.callSync('airdrop', to, lamports); }
  createTokenAccount(owner) { return this.callSync('createTokenAccount', owner); }
  failingMint() { return this.callSync('failingMint'); }
  memo(text) { return this.callSync('memo', text); }
  advanceSlots(slots) { this.slot = this.callSync('advanceSlots', slots); return this.slot; }
  anchorEvent(input) { return this.callSync('anchorEvent', input); }
  mintMany(count, options) { return this.call('mintMany', count, options); }
  mintStream(count, intervalMs, options) { return this.call('mintStream', count, intervalMs, options); }
}

module.exports = { ChainClient };
