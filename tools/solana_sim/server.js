#!/usr/bin/env node
'use strict';
// Solana emulator for eventnode's tests: Solana JSON-RPC over HTTP and PubSub over WebSocket
// in front of a LiteSVM instance that executes every transaction for real (SPL Token
// included), plus test controls under /control/ on the RPC port. See README.md.
//
//   node server.js [--host 127.0.0.1] [--rpc-port 0] [--ws-port 0] [--decimals 9]
//                  [--tx-per-slot 1] [--mint-authority-keypair FILE]
//                  [--tls-cert FILE --tls-key FILE]   (PEM: serve https:// and wss:// instead)
//
// Prints one line when both ports listen:
//   READY {"rpc_port":…,"ws_port":…,"mint":"…","program_ids":[…],…}
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');
const { freshBlockhash } = require('./chain');
const { ChainClient } = require('./chain_client');
const w = require('./wire');

const { bs58 } = w;
const API_VERSION = '2.2.0';
const MAX_SIGNATURES_LIMIT = 1000;

function parseArgs(argv) {
  const args = { host: '127.0.0.1', rpcPort: 0, wsPort: 0, decimals: 9, txPerSlot: 1, mintAuthorityKeypair: null,
    tlsCert: null, tlsKey: null };
  for (let i = 2; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--host') args.host = value;
    else if (name === '--rpc-port') args.rpcPort = Number(value);
    else if (name === '--ws-port') args.wsPort = Number(value);
    else if (name === '--decimals') args.decimals = Number(value);
    else if (name === '--tx-per-slot') args.txPerSlot = Number(value);
    else if (name === '--mint-authority-keypair') args.mintAuthorityKeypair = value;
    else if (name === '--tls-cert') args.tlsCert = value;
    else if (name === '--tls-key') args.tlsKey = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!args.tlsCert !== !args.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  return args;
}

// ---------------------------------------------------------------------------------------
// JSON-RPC plumbing

class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

const invalidParams = (why) => new RpcError(-32602, `Invalid params: ${why}`);
const invalidParam = (why) => new RpcError(-32602, `Invalid param: ${why}`);

function errorBody(id, code, message, data) {
  const error = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', error, id: id === undefined ? null : id };
}

function isPubkey(s) {
  if (typeof s !== 'string') return false;
  try { return bs58.decode(s).length === 32; } catch { return false; }
}

function isSignature(s) {
  if (typeof s !== 'string') return false;
  try { return bs58.decode(s).length === 64; } catch { return false; }
}

function checkCommitment(config, minimum) {
  const commitment = config && config.commitment;
  if (commitment === undefined || commitment === null) return;
  if (!['processed', 'confirmed', 'finalized'].includes(commitment)) {
    throw invalidParams(`unknown variant \`${commitment}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``);
  }
  if (minimum === 'confirmed' && commitment === 'processed') {
    throw invalidParams('Method does not support commitment below `confirmed`');
  }
}

function configAt(params, index) {
  const config = params[index];
  if (config === undefined || config === null) return {};
  if (typeof config !== 'object' || Array.isArray(config)) throw invalidParams('invalid type: expected a config object');
  return config;
}

// ---------------------------------------------------------------------------------------

class Emulator {
  constructor(args) {
    this.args = args;
    const mintAuthoritySecret = args.mintAuthorityKeypair
      ? JSON.parse(fs.readFileSync(args.mintAuthorityKeypair, 'utf8')) : null;
    this.chain = new ChainClient({ decimals: args.decimals, txPerSlot: args.txPerSlot, mintAuthoritySecret });
    this.anchorProgram = w.newKeypair().publicKey;
    this.stats = {
      transactions_landed: this.chain.history.length, transactions_failed: 0, transactions_rejected: 0,
      notifications_sent: 0, notifications_dropped: 0, notifications_held: 0, rpc_requests: 0, rpc_faulted: 0, rpc_connections_total: 0,
      ws_connections_total: 0, injected_messages: 0,
    };
    this.connections = new Set();
    this.nextSubscription = 1;
    this.paused = null;       // {mode:'drop'|'hold', until:ms|null, timer}
    this.held = [];           // [{conn, text}] while paused in 'hold' mode
    this.fault = null;        // {mode, until, remaining, methods, code, message, status}
    this.hanging = new Set(); // responses held by a 'hang' fault
    this.rpcSockets = new Set(); // open connections to the RPC port
    this.frozen = false;
    this.chain.listeners.push((record) => this.onLanded(record));
  }

  // -------------------------------------------------------------------------- HTTP side

  handleHttp(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (url.pathname.startsWith('/control/')) {
        this.handleControl(req.method, url, body)
          .then(([status, answer]) => sendJson(res, status, answer))
          .catch((error) => sendJson(res, 500, { error: `${error.name}: ${error.message}` }));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/health') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'POST' }).end('Used HTTP Method is not allowed. POST or OPTIONS is required');
        return;
      }
      this.handleRpcBody(body, res);
    });
  }

  handleRpcBody(body, res) {
    let request;
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch {
      if (this.applyFault(res, [], null)) return;
      sendJson(res, 200, errorBody(null, -32700, 'Parse error'));
      return;
    }
    const list = Array.isArray(request) ? request : [request];
    const methods = list.map((r) => (r && typeof r === 'object' ? r.method : undefined));
    this.stats.rpc_requests += list.length;
    // Connections that carried JSON-RPC (controls not counted): tells whether a client keeps its connection.
    if (res.socket && !res.socket.carriedRpc) {
      res.socket.carriedRpc = true;
      this.stats.rpc_connections_total++;
    }
    if (this.applyFault(res, methods, request)) return;
    if (Array.isArray(request)) {
      if (request.length === 0) {
        sendJson(res, 200, errorBody(null, -32600, 'Invalid request'));
        return;
      }
      const answers = request.map((r) => this.answerOne(r)).filter((a) => a !== null);
      sendJson(res, 200, answers);
      return;
    }
    const answer = this.answerOne(request);
    if (answer === null) res.writeHead(204).end();
    else sendJson(res, 200, answer);
  }

  /** One JSON-RPC request object → response object (null for a notification without id). */
  answerOne(request) {
    if (!request || typeof request !== 'object' || Array.isArray(request) || request.jsonrpc !== '2.0' ||
        typeof request.method !== 'string') {
      return errorBody(request && typeof request === 'object' ? request.id : null, -32600, 'Invalid request');
    }
    const { id, method } = request;
    const params = request.params === undefined ? [] : request.params;
    try {
      const handler = this.rpcMethods()[method];
      if (!handler) throw new RpcError(-32601, 'Method not found');
      if (!Array.isArray(params)) throw invalidParams('expected an array of parameters');
      const result = handler(params);
      if (id === undefined) return null;
      return { jsonrpc: '2.0', result, id };
    } catch (error) {
      if (!(error instanceof RpcError)) {
        return errorBody(id, -32603, `Internal error: ${error.message}`);
      }
      return errorBody(id, error.code, error.message, error.data);
    }
  }

  /** True when a fault answered (or is holding) this request. */
  applyFault(res, methods, request) {
    const fault = this.fault;
    if (!fault) return false;
    if (fault.until !== null && Date.now() >= fault.until) { this.clearFault(); return false; }
    if (fault.methods && !methods.some((m) => fault.methods.includes(m))) return false;
    if (fault.remaining !== null) {
      if (fault.remaining <= 0) { this.clearFault(); return false; }
      fault.remaining--;
    }
    this.stats.rpc_faulted++;
    if (fault.mode === 'error') {
      const idOf = (r) => (r && typeof r === 'object' && !Array.isArray(r) ? r.id : null);
      sendJson(res, 200, Array.isArray(request) && request.length > 0
        ? request.map((r) => errorBody(idOf(r), fault.code, fault.message))
        : errorBody(idOf(request), fault.code, fault.message));
    } else if (fault.mode === 'http_error') {
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' }).end(fault.message);
    } else if (fault.mode === 'drop') {
      res.socket.destroy();
    } else { // hang: answer nothing; the socket is destroyed when the fault is cleared
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
    }
    return true;
  }

  clearFault() {
    if (this.fault && this.fault.timer) clearTimeout(this.fault.timer);
    this.fault = null;
    for (const res of this.hanging) res.socket && res.socket.destroy();
    this.hanging.clear();
  }

  context() {
    return { apiVersion: API_VERSION, slot: this.chain.slot };
  }

  rpcMethods() {
    if (this.methods) return this.methods;
    const chain = this.chain;
    this.methods = {
      getHealth: () => 'ok',
      getVersion: () => ({ 'solana-core': API_VERSION, 'feature-set': 3294202862 }),
      getSlot: (p) => { checkCommitment(configAt(p, 0)); return chain.slot; },
      getBlockHeight: (p) => { checkCommitment(configAt(p, 0)); return chain.slot; },
      getGenesisHash: () => 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG',
      getLatestBlockhash: (p) => {
        checkCommitment(configAt(p, 0));
        return { context: this.context(), value: { blockhash: freshBlockhash(), lastValidBlockHeight: chain.slot + 150 } };
      },
      isBlockhashValid: () => ({ context: this.context(), value: true }),
      getMinimumBalanceForRentExemption: (p) => {
        if (!Number.isInteger(p[0]) || p[0] < 0) throw invalidParams('expected a data length');
        return chain.minimumBalanceForRentExemption(p[0]);
      },
      getBalance: (p) => {
        if (!isPubkey(p[0])) throw invalidParam('Invalid');
        return { context: this.context(), value: chain.balance(p[0]) };
      },
      getAccountInfo: (p) => {
        if (!isPubkey(p[0])) throw invalidParam('Invalid');
        const config = configAt(p, 1);
        checkCommitment(config);
        return { context: this.context(), value: accountJson(chain.account(p[0]), config.encoding || 'base64') };
      },
      getTokenAccountBalance: (p) => {
        if (!isPubkey(p[0])) throw invalidParam('Invalid');
        const entry = chain.tokenBalances([p[0]])[0];
        if (!entry) throw invalidParams('Invalid param: not a Token account');
        return { context: this.context(), value: entry.uiTokenAmount };
      },
      getSignaturesForAddress: (p) => this.getSignaturesForAddress(p),
      getTransaction: (p) => this.getTransaction(p),
      getSignatureStatuses: (p) => {
        if (!Array.isArray(p[0])) throw invalidParams('expected an array of signatures');
        if (p[0].length > 256) throw invalidParams('Too many inputs provided; max 256');
        const value = p[0].map((sig) => {
          if (!isSignature(sig)) throw invalidParam('Invalid');
          const r = chain.bySignature.get(sig);
          if (!r) return null;
          return { slot: r.slot, confirmations: null, err: r.err, status: r.err ? { Err: r.err } : { Ok: null },
            confirmationStatus: 'finalized' };
        });
        return { context: this.context(), value };
      },
      sendTransaction: (p) => this.sendTransaction(p),
      requestAirdrop: (p) => {
        if (!isPubkey(p[0])) throw invalidParam('Invalid');
        if (!Number.isInteger(p[1]) || p[1] <= 0) throw invalidParams('expected lamports');
        const r = chain.airdrop(p[0], p[1]);
        if (!r.landed || r.err) throw new RpcError(-32603, 'Internal error: airdrop failed');
        return r.signature;
      },
    };
    return this.methods;
  }


  getSignaturesForAddress(p) {
    if (!isPubkey(p[0])) throw invalidParam('Invalid');
    const config = configAt(p, 1);
    checkCommitment(config, 'confirmed');
    let limit = MAX_SIGNATURES_LIMIT;
    if (config.limit !== undefined && config.limit !== null) {
      if (!Number.isInteger(config.limit) || config.limit < 1 || config.limit > MAX_SIGNATURES_LIMIT) {
        throw invalidParams(`Invalid limit; max ${MAX_SIGNATURES_LIMIT}`);
      }
      limit = config.limit;
    }
    for (const key of ['before', 'until']) {
      if (config[key] !== undefined && config[key] !== null && !isSignature(config[key])) throw invalidParam('Invalid');
    }
    const list = this.chain.byAddress.get(p[0]) || [];
    let start = list.length - 1;
    if (config.before) {
      const at = list.findLastIndex((r) => r.signature === config.before);
      if (at < 0) return [];
      start = at - 1;
    }
    const out = [];
    for (let i = start; i >= 0 && out.length < limit; i--) {
      const r = list[i];
      if (config.until && r.signature === config.until) break;
      out.push({ signature: r.signature, slot: r.slot, err: r.err, memo: r.memo, blockTime: r.blockTime,
        confirmationStatus: 'finalized' });
    }
    return out;
  }

  getTransaction(p) {
    if (!isSignature(p[0])) throw invalidParam('Invalid');
    const config = typeof p[1] === 'string' ? { encoding: p[1] } : configAt(p, 1);
    checkCommitment(config, 'confirmed');
    const encoding = config.encoding || 'json';
    if (!['json', 'base64', 'base58'].includes(encoding)) {
      throw invalidParams(`unsupported encoding \`${encoding}\` (this emulator speaks json, base64, base58)`);
    }
    const landed = this.chain.bySignature.get(p[0]);
    if (!landed) return null;
    const r = landed.details().record;
    const version = r.tx.version;
    if (version !== 'legacy') {
      const max = config.maxSupportedTransactionVersion;
      if (max === undefined || max === null || max < version) {
        throw new RpcError(-32015, `Transaction version (${version}) is not supported by the requesting client. ` +
          'Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0');
      }
    }
    const meta = {
      err: r.err,
      status: r.err ? { Err: r.err } : { Ok: null },
      fee: r.fee,
      preBalances: r.preBalances,
      postBalances: r.postBalances,
      innerInstructions: r.innerInstructions,
      logMessages: r.logs,
      preTokenBalances: r.preTokenBalances,
      postTokenBalances: r.postTokenBalances,
      rewards: [],
      loadedAddresses: { writable: [], readonly: [] },
      computeUnitsConsumed: r.computeUnitsConsumed,
    };
    if (r.returnData) meta.returnData = r.returnData;
    let transaction;
    if (encoding === 'json') {
      const m = r.tx.message;
      const message = {
        accountKeys: m.accountKeys,
        header: m.header,
        instructions: m.instructions.map((i) => ({ programIdIndex: i.programIdIndex, accounts: i.accounts,
          data: bs58.encode(i.data), stackHeight: null })),
        recentBlockhash: m.recentBlockhash,
      };
      if (version !== 'legacy') message.addressTableLookups = m.addressTableLookups;
      transaction = { signatures: r.tx.signatures, message };
    } else if (encoding === 'base64') {
      transaction = [r.wire.toString('base64'), 'base64'];
    } else {
      transaction = [bs58.encode(r.wire), 'base58'];
    }
    const answer = { slot: r.slot, blockTime: r.blockTime, meta, transaction };
    if (config.maxSupportedTransactionVersion !== undefined && config.maxSupportedTransactionVersion !== null) {
      answer.version = version;
    }
    return answer;
  }

  sendTransaction(p) {
    if (typeof p[0] !== 'string') throw invalidParams('expected an encoded transaction');
    const config = configAt(p, 1);
    const encoding = config.encoding || 'base58';
    let bytes;
    if (encoding === 'base64') bytes = Buffer.from(p[0], 'base64');
    else if (encoding === 'base58') {
      try { bytes = Buffer.from(bs58.decode(p[0])); } catch { throw invalidParams('invalid base58 encoding'); }
    } else throw invalidParams(`unsupported encoding: ${encoding}. Supported encodings: base58, base64`);
    let tx;
    try { tx = w.decodeTransaction(bytes); } catch (error) {
      throw invalidParams(`failed to deserialize solana_transaction::versioned::VersionedTransaction: ${error.message}`);
    }
    if (!config.skipPreflight) {
      const failure = this.chain.simulate(bytes);
      if (failure) {
        throw new RpcError(-32002, `Transaction simulation failed: ${describeError(failure.err)}`, {
          accounts: null, err: failure.err, innerInstructions: null, logs: failure.logs, replacementBlockhash: null,
          returnData: null, unitsConsumed: failure.unitsConsumed,
        });
      }
    }
    const result = this.chain.submitWire(bytes);
    if (!result.landed) {
      this.stats.transactions_rejected++;
      throw new RpcError(-32002, `Transaction simulation failed: ${describeError(result.err)}`, {
        accounts: null, err: result.err, innerInstructions: null, logs: result.logs, replacementBlockhash: null,
        returnData: null, unitsConsumed: 0,
      });
    }
    return result.signature;
  }

  // ------------------------------------------------------------------------ PubSub side

  onConnection(socket) {
    const conn = { socket, subs: new Map() };
    this.connections.add(conn);
    this.stats.ws_connections_total++;
    if (this.frozen) socket._socket.pause();
    socket.on('message', (data, isBinary) => this.onWsMessage(conn, data, isBinary));
    socket.on('close', () => this.connections.delete(conn));
    socket.on('error', () => this.connections.delete(conn));
  }

  onWsMessage(conn, data, isBinary) {
    let request;
    try {
      request = JSON.parse(data.toString('utf8'));
    } catch {
      this.wsSend(conn, JSON.stringify(errorBody(null, -32700, 'Parse error')), true);
      return;
    }
    if (!request || typeof request !== 'object' || Array.isArray(request) || request.jsonrpc !== '2.0' ||
        typeof request.method !== 'string') {
      this.wsSend(conn, JSON.stringify(errorBody(request && request.id, -32600, 'Invalid request')), true);
      return;
    }
    const { id, method } = request;
    const params = request.params === undefined ? [] : request.params;
    let answer;
    try {
      if (!Array.isArray(params)) throw invalidParams('expected an array of parameters');
      answer = { jsonrpc: '2.0', result: this.pubsubMethod(conn, method, params), id };
    } catch (error) {
      answer = error instanceof RpcError ? errorBody(id, error.code, error.message, error.data)
        : errorBody(id, -32603, `Internal error: ${error.message}`);
    }
    this.wsSend(conn, JSON.stringify(answer), true);
  }

  pubsubMethod(conn, method, params) {
    const subscribe = (kind, filter) => {
      const id = this.nextSubscription++;
      conn.subs.set(id, { kind, ...filter });
      return id;
    };
    const unsubscribe = (kind) => {
      const id = params[0];
      const sub = conn.subs.get(id);
      if (!Number.isInteger(id) || !sub || sub.kind !== kind) throw invalidParams('Invalid subscription id.');
      conn.subs.delete(id);
      return true;
    };
    switch (method) {
      case 'logsSubscribe': {
        const filter = params[0];
        checkCommitment(configAt(params, 1));
        if (filter === 'all' || filter === 'allWithVotes') return subscribe('logs', { mentions: null });
        if (!filter || typeof filter !== 'object' || !Array.isArray(filter.mentions)) {
          throw invalidParams('Invalid params: expected "all", "allWithVotes" or {"mentions":[<address>]}');
        }
        if (filter.mentions.length !== 1) throw new RpcError(-32602, 'Invalid Request: Only 1 address supported');
        if (!isPubkey(filter.mentions[0])) throw new RpcError(-32602, 'Invalid Request: Invalid pubkey provided');
        return subscribe('logs', { mentions: filter.mentions[0] });
      }
      case 'logsUnsubscribe': return unsubscribe('logs');
      case 'signatureSubscribe': {
        if (!isSignature(params[0])) throw new RpcError(-32602, 'Invalid Request: Invalid signature provided');
        checkCommitment(configAt(params, 1));
        const id = subscribe('signature', { signature: params[0] });
        const landed = this.chain.bySignature.get(params[0]);
        if (landed) setImmediate(() => this.notifySignature(conn, id, landed));
        return id;
      }
      case 'signatureUnsubscribe': return unsubscribe('signature');
      case 'accountSubscribe': {
        if (!isPubkey(params[0])) throw new RpcError(-32602, 'Invalid Request: Invalid pubkey provided');
        const config = configAt(params, 1);
        checkCommitment(config);
        return subscribe('account', { address: params[0], encoding: config.encoding || 'base64' });
      }
      case 'accountUnsubscribe': return unsubscribe('account');
      case 'slotSubscribe': return subscribe('slot', {});
      case 'slotUnsubscribe': return unsubscribe('slot');
      default: throw new RpcError(-32601, 'Method not found');
    }
  }

  notifySignature(conn, id, record) {
    if (!conn.subs.has(id)) return;
    conn.subs.delete(id); // one-shot, as on Solana
    this.notify(conn, {
      jsonrpc: '2.0', method: 'signatureNotification',
      params: { result: { context: { slot: record.slot }, value: { err: record.err } }, subscription: id },
    }, record.slot);
  }

  onLanded(record) {
    if (record.err) this.stats.transactions_failed++;
    this.stats.transactions_landed++;
    const keys = new Set(record.accountKeys);
    let accountCache = null;
    let accounts = null; // as this transaction left them, read only when an account is watched
    for (const conn of this.connections) {
      for (const [id, sub] of conn.subs) {
        if (sub.kind === 'logs' && (sub.mentions === null || keys.has(sub.mentions))) {
          this.notify(conn, {
            jsonrpc: '2.0', method: 'logsNotification',
            params: { result: { context: { slot: record.slot },
              value: { signature: record.signature, err: record.err, logs: record.logs } }, subscription: id },
          }, record.slot);
        } else if (sub.kind === 'signature' && sub.signature === record.signature) {
          this.notifySignature(conn, id, record);
        } else if (sub.kind === 'account' && keys.has(sub.address)) {
          accountCache = accountCache || new Map();
          // Keyed by encoding too: two subscribers of one account may ask for different ones.
          const key = `${sub.address} ${sub.encoding}`;
          accounts = accounts || record.details().accounts;
          if (!accountCache.has(key)) accountCache.set(key, accountJson(accounts[sub.address], sub.encoding));
          this.notify(conn, {
            jsonrpc: '2.0', method: 'accountNotification',
            params: { result: { context: { slot: record.slot }, value: accountCache.get(key) }, subscription: id },
          }, record.slot);
        }
      }
    }
  }

  onSlot(slot) {
    for (const conn of this.connections) {
      for (const [id, sub] of conn.subs) {
        if (sub.kind !== 'slot') continue;
        this.notify(conn, { jsonrpc: '2.0', method: 'slotNotification',
          params: { result: { parent: slot - 1, root: Math.max(0, slot - 32), slot }, subscription: id } }, slot);
      }
    }
  }

  /** `slot` is the slot the notification is about: a paced resume releases a slot's together. */
  notify(conn, message, slot = null) {
    this.wsSend(conn, JSON.stringify(message), false, slot);
  }

  /** Replies to requests always go out; notifications obey pause (drop or hold). */
  wsSend(conn, text, isReply, slot = null) {
    if (!isReply && this.paused) {
      if (this.paused.until !== null && Date.now() >= this.paused.until) this.resume();
    }
    if (!isReply && this.paused) {
      if (this.paused.mode === 'hold') { this.held.push({ conn, text, slot }); this.stats.notifications_held++; }
      else this.stats.notifications_dropped++;
      return;
    }
    this.deliver(conn, text, isReply);
  }

  /** Sends now, whatever the pause; a closed socket loses it, as on Solana. */
  deliver(conn, text, isReply) {
    if (conn.socket.readyState !== 1) return;
    conn.socket.send(text);
    if (!isReply) this.stats.notifications_sent++;
  }

  pause(mode, durationMs) {
    this.resume();
    this.paused = { mode, until: durationMs ? Date.now() + durationMs : null, timer: null };
    if (durationMs) this.paused.timer = setTimeout(() => this.resume(), durationMs);
  }

  resume() {
    if (!this.paused) return;
    if (this.paused.timer) clearTimeout(this.paused.timer);
    this.paused = null;
    const held = this.held;
    this.held = [];
    for (const { conn, text } of held) this.wsSend(conn, text, false);
  }

  /**
   * Sends the held notifications one slot's worth every `intervalMs`, then resumes. Until the
   * queue is empty the pause stays, so what lands meanwhile queues behind and order is kept.
   * A benchmark uses it to execute transactions first and deliver them paced afterwards: the
   * listener then does not share the cores with the execution, which on Solana happens on the
   * validator, not beside the client.
   */
  releasePaced(intervalMs) {
    if (!this.paused || this.paused.mode !== 'hold') return;
    if (this.paused.timer) clearTimeout(this.paused.timer);
    const pause = this.paused;
    pause.until = null;
    const tick = () => {
      if (this.paused !== pause) return; // resumed, or paused again, meanwhile
      if (this.held.length === 0) { this.paused = null; return; }
      const slot = this.held[0].slot;
      let count = 1;
      while (slot !== null && count < this.held.length && this.held[count].slot === slot) count++;
      for (const { conn, text } of this.held.splice(0, count)) this.deliver(conn, text, false);
      pause.timer = setTimeout(tick, intervalMs);
    };
    tick();
  }

  /** Closes every kept-alive RPC connection between requests, as a provider's idle timeout does. */
  async closeIdleRpc() {
    const before = this.rpcSockets.size;
    this.rpcServer.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 20)); // their 'close' events
    return before - this.rpcSockets.size;
  }

  dropSockets(mode, code) {
    const count = this.connections.size;
    for (const conn of [...this.connections]) {
      if (mode === 'close') conn.socket.close(code, 'dropped by test control');
      else conn.socket.terminate();
      this.connections.delete(conn);
    }
    return count;
  }

  inject(body) {
    let text;
    let binary = false;
    const firstLogsSub = (conn) => [...conn.subs].find(([, s]) => s.kind === 'logs');
    const targets = [...this.connections].filter((c) => body.all_connections || c.subs.size > 0);
    let sent = 0;
    for (const conn of targets) {
      const sub = firstLogsSub(conn);
      const subId = sub ? sub[0] : 0;
      const slot = this.chain.slot;
      if (body.text !== undefined) text = String(body.text);
      else if (body.binary_hex !== undefined) { text = Buffer.from(body.binary_hex, 'hex'); binary = true; }
      else if (body.kind === 'malformed') text = '{"jsonrpc":"2.0","method":"logsNotification","params":{"result":{"context":{"slot":';
      else if (body.kind === 'bad_fields') {
        text = JSON.stringify({ jsonrpc: '2.0', method: 'logsNotification',
          params: { result: { context: { slot: 'soon' }, value: { signature: 42, err: null, logs: 'not a list' } }, subscription: subId } });
      } else if (body.kind === 'unknown_subscription') {
        text = JSON.stringify({ jsonrpc: '2.0', method: 'logsNotification', params: { result: { context: { slot },
          value: { signature: bs58.encode(crypto.randomBytes(64)), err: null, logs: [] } }, subscription: 987654321 } });
      } else if (body.kind === 'oversized') {
        const target = body.bytes || 4 * 1024 * 1024;
        const line = `Program log: ${'x'.repeat(1000)}`;
        const logs = [];
        for (let size = 0; size < target; size += line.length + 3) logs.push(line);
        text = JSON.stringify({ jsonrpc: '2.0', method: 'logsNotification', params: { result: { context: { slot },
          value: { signature: bs58.encode(crypto.randomBytes(64)), err: null, logs } }, subscription: subId } });
      } else throw new Error('inject needs text, binary_hex or kind (malformed|bad_fields|unknown_subscription|oversized)');
      if (conn.socket.readyState !== 1) continue;
      conn.socket.send(text, { binary });
      sent++;
      this.stats.injected_messages++;
    }
    return sent;
  }

  // ------------------------------------------------------------------------ controls

  async handleControl(method, url, body) {
    let input = {};
    if (body.length) {
      try { input = JSON.parse(body.toString('utf8')); } catch { return [400, { error: 'body is not JSON' }]; }
    }
    for (const [k, v] of url.searchParams) if (!(k in input)) input[k] = /^\d+$/.test(v) ? Number(v) : v;
    const route = `${method} ${url.pathname}`;
    const chain = this.chain;
    switch (route) {
      case 'GET /control/stats':
      case 'POST /control/stats':
        return [200, this.statsJson()];
      case 'GET /control/info':
        return [200, this.readyInfo()];
      case 'GET /control/signatures': {
        const address = input.address;
        const list = address ? (chain.byAddress.get(address) || []) : chain.history;
        return [200, { signatures: list.map((r) => ({ signature: r.signature, slot: r.slot, err: r.err })) }];
      }
      case 'POST /control/mint': return [200, await this.controlMint(input)];
      case 'POST /control/fail': {
        const out = [];
        for (let i = 0; i < (input.count || 1); i++) out.push(chain.failingMint());
        return [200, { signatures: out.map((r) => r.signature), slots: out.map((r) => r.slot), err: out[0].err, logs: out[0].logs }];
      }
      case 'POST /control/memo': {
        const r = chain.memo(String(input.text ?? 'eventnode'));
        return [200, { signature: r.signature, slot: r.slot, err: r.err, logs: r.logs }];
      }
      case 'POST /control/anchor_event': return [200, this.anchorEvent(input)];
      case 'POST /control/slot/advance': {
        const slot = chain.advanceSlots(input.slots || 1);
        this.onSlot(slot);
        return [200, { slot }];
      }
      case 'POST /control/ws/drop':
        return [200, { dropped: this.dropSockets(input.mode || 'terminate', input.code || 1001) }];
      case 'POST /control/ws/pause':
        if (input.mode && !['drop', 'hold'].includes(input.mode)) return [400, { error: 'mode is drop or hold' }];
        this.pause(input.mode || 'drop', input.duration_ms || 0);
        return [200, { paused: true, mode: this.paused.mode, until: this.paused.until }];
      case 'POST /control/ws/resume': {
        const held = this.held.length;
        if (input.interval_ms !== undefined) {
          if (!Number.isInteger(input.interval_ms) || input.interval_ms < 1 || input.interval_ms > 60_000) {
            return [400, { error: 'interval_ms is an integer from 1 to 60000' }];
          }
          if (!this.paused || this.paused.mode !== 'hold') return [409, { error: 'nothing is held: pause in hold mode first' }];
          this.releasePaced(input.interval_ms);
          return [200, { paused: this.paused !== null, releasing: held }];
        }
        this.resume();
        return [200, { paused: false, flushed: held }];
      }
      case 'POST /control/ws/freeze':
        this.frozen = true;
        for (const conn of this.connections) conn.socket._socket.pause();
        return [200, { frozen: true, connections: this.connections.size }];
      case 'POST /control/ws/thaw':
        this.frozen = false;
        for (const conn of this.connections) conn.socket._socket.resume();
        return [200, { frozen: false }];
      case 'POST /control/ws/inject':
        return [200, { sent: this.inject(input) }];
      case 'POST /control/rpc/fault': {
        const mode = input.mode || 'error';
        if (!['error', 'http_error', 'hang', 'drop'].includes(mode)) return [400, { error: 'mode is error, http_error, hang or drop' }];
        this.clearFault();
        this.fault = {
          mode,
          until: input.duration_ms ? Date.now() + input.duration_ms : null,
          remaining: input.count ?? null,
          methods: input.methods || null,
          code: input.code ?? -32005,
          message: input.message ?? (mode === 'http_error' ? 'Service Unavailable' : 'Node is unhealthy'),
          status: input.status ?? 503,
          timer: null,
        };
        // A hang ends with the fault: held sockets are destroyed then, not answered.
        if (input.duration_ms) this.fault.timer = setTimeout(() => this.clearFault(), input.duration_ms);
        return [200, { fault: mode }];
      }
      case 'POST /control/rpc/clear':
        this.clearFault();
        return [200, { fault: null }];
      case 'POST /control/rpc/close_idle':
        return [200, { closed: await this.closeIdleRpc() }];
      default:
        return [404, { error: `no control ${route}` }];
    }
  }

  async controlMint(input) {
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 0 || count > 1_000_000) throw new Error('count is an integer 0..1000000');
    const checked = input.checked ?? false;
    let destination;
    if (input.owner) {
      const r = this.chain.createTokenAccount(input.owner);
      if (r.err) throw new Error(`cannot create the owner's token account: ${JSON.stringify(r.err)}`);
      destination = w.associatedTokenAddress(input.owner, this.chain.mint);
    }
    const options = { amount: input.amount ?? 10 ** this.chain.decimals, instructionsPerTx: input.instructions_per_tx || 1,
      destination, checked };
    // Streams the mints in the background; the answer does not wait for them.
    if (input.interval_ms) return this.chain.mintStream(count, input.interval_ms, options);
    const results = [];
    // In chunks, so the chain thread answers other calls (balances, sendTransaction) between them.
    for (let start = 0; start < count; start += 200) {
      results.push(...await this.chain.mintMany(Math.min(200, count - start), { ...options, first: start }));
    }
    const bad = results.find((r) => !r.landed || r.err);
    if (bad) throw new Error(`a mint failed: ${JSON.stringify(bad.err)} ${bad.logs.join(' | ')}`);
    return {
      signatures: results.map((r) => r.signature),
      slots: results.map((r) => r.slot),
      destination: destination || this.chain.recipientTokenAccount,
      balance: String(this.chain.tokenAmount(destination || this.chain.recipientTokenAccount)),
    };
  }

  /** A synthetic Anchor-shaped transaction (see Chain.anchorEvent): logs as an Anchor program prints them. */
  anchorEvent(input) {
    const program = input.program || this.anchorProgram;
    const events = input.events || [{ name: input.name || 'EnergyMinted', data_base64: input.data_base64 || '' }];
    const r = this.chain.anchorEvent({ program, instruction: input.instruction || 'MintEnergy', events, fail: Boolean(input.fail) });
    return { signature: r.signature, slot: r.slot, program, logs: r.logs, err: r.err };
  }

  statsJson() {
    let subscriptions = 0;
    for (const conn of this.connections) subscriptions += conn.subs.size;
    return {
      ...this.stats,
      slot: this.chain.slot,
      history: this.chain.history.length,
      subscribers: this.connections.size,
      subscriptions,
      paused: this.paused ? this.paused.mode : null,
      frozen: this.frozen,
      fault: this.fault ? this.fault.mode : null,
      hanging_requests: this.hanging.size,
    };
  }

  readyInfo() {
    const c = this.chain;
    return {
      rpc_port: this.rpcPort, ws_port: this.wsPort,
      rpc_url: `${this.args.tlsCert ? 'https' : 'http'}://${this.args.host}:${this.rpcPort}`,
      ws_url: `${this.args.tlsCert ? 'wss' : 'ws'}://${this.args.host}:${this.wsPort}`,
      mint: c.mint, decimals: c.decimals, mint_authority: c.mintAuthority, payer: c.payer,
      recipient: c.recipient, recipient_token_account: c.recipientTokenAccount,
      token_program: w.TOKEN_PROGRAM, anchor_program: this.anchorProgram,
      program_ids: [w.TOKEN_PROGRAM, w.ATA_PROGRAM, w.MEMO_PROGRAM, w.SYSTEM_PROGRAM],
      setup_signatures: c.setupSignatures, slot: c.slot,
    };
  }
}

function describeError(err) {
  if (err && typeof err === 'object' && err.InstructionError) {
    const [index, inner] = err.InstructionError;
    const what = inner && inner.Custom !== undefined ? `custom program error: 0x${inner.Custom.toString(16)}` : JSON.stringify(inner);
    return `Error processing Instruction ${index}: ${what}`;
  }
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** Solana's JSON for an account (getAccountInfo, accountNotification), or null. */
function accountJson(account, encoding) {
  if (!account) return null;
  const { data } = account;
  return {
    data: encoding === 'base58' ? [bs58.encode(data), 'base58'] : [data.toString('base64'), 'base64'],
    executable: account.executable,
    lamports: account.lamports,
    owner: account.owner,
    rentEpoch: 18446744073709551615,
    space: data.length,
  };
}

function sendJson(res, status, answer) {
  const data = Buffer.from(JSON.stringify(answer));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.length });
  res.end(data);
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

async function main() {
  const args = parseArgs(process.argv);
  const emulator = new Emulator(args);
  // With a certificate both ports speak TLS, as a provider's https:// and wss:// endpoints do.
  const tls = args.tlsCert ? { cert: fs.readFileSync(args.tlsCert), key: fs.readFileSync(args.tlsKey) } : null;
  const createServer = (handler) => (tls ? https.createServer(tls, handler) : http.createServer(handler));
  const rpcServer = createServer((req, res) => emulator.handleHttp(req, res));
  rpcServer.keepAliveTimeout = 60_000;
  emulator.rpcServer = rpcServer;
  rpcServer.on('connection', (socket) => {
    emulator.rpcSockets.add(socket);
    socket.on('close', () => emulator.rpcSockets.delete(socket));
  });
  const wsHttp = createServer((req, res) => res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only'));
  const wss = new WebSocketServer({ server: wsHttp, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (socket) => emulator.onConnection(socket));
  emulator.rpcPort = await listen(rpcServer, args.rpcPort, args.host);
  emulator.wsPort = await listen(wsHttp, args.wsPort, args.host);
  let lastSlot = emulator.chain.slot;
  emulator.chain.listeners.push(() => {
    if (emulator.chain.slot !== lastSlot) { lastSlot = emulator.chain.slot; emulator.onSlot(lastSlot); }
  });
  const stop = () => { rpcServer.close(); wss.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`READY ${JSON.stringify(emulator.readyInfo())}\n`);
}

main().catch((error) => {
  process.stderr.write(`solana_sim: ${error.stack || error}\n`);
  process.exit(1);
});
