'use strict';
// Helpers for tests that drive the emulator as a child process: start it and wait for the
// READY line, call JSON-RPC and controls over HTTP, and hold PubSub sockets (npm `ws`).
// Every wait has a deadline and a condition.
const { spawn } = require('node:child_process');
const path = require('node:path');
const WebSocket = require('ws');

const SERVER = path.join(__dirname, 'server.js');

/** Starts server.js; resolves {info, child, stop()} once it printed READY (deadline 30 s). */
function startSim(extraArgs = [], { deadlineMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no READY line within ${deadlineMs} ms; stdout=${out} stderr=${err}`));
    }, deadlineMs);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line.slice('READY '.length));
      const stop = () => new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
      resolve({ info, child, stop, stderr: () => err });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before READY; stderr=${err}`));
    });
  });
}

let nextId = 1;

/** POSTs a raw body to the RPC port; resolves {status, json, text}. */
async function post(port, body, { path: urlPath = '/', timeoutMs = 10_000 } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: callers look at text */ }
  return { status: res.status, json, text };
}

/** One JSON-RPC call; resolves the whole response object ({jsonrpc, result|error, id}). */
async function rpc(port, method, params, options) {
  const body = { jsonrpc: '2.0', id: nextId++, method };
  if (params !== undefined) body.params = params;
  return (await post(port, body, options)).json;
}

/** A control call (POST /control/<name>); throws on a non-200 answer. */
async function control(port, name, body = {}) {
  const { status, json, text } = await post(port, body, { path: `/control/${name}`, timeoutMs: 120_000 });
  if (status !== 200) throw new Error(`control ${name} answered ${status}: ${text}`);
  return json;
}

async function waitFor(condition, { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A PubSub client that keeps every message it receives. */
class PubSub {
  static open(wsPort) {
    return new Promise((resolve, reject) => {
      const client = new PubSub(new WebSocket(`ws://127.0.0.1:${wsPort}`, { maxPayload: 64 * 1024 * 1024 }));
      client.ws.once('open', () => resolve(client));
      client.ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.messages = [];   // parsed JSON (or {raw} when it was not JSON)
    this.closed = false;
    this.closeCode = null;
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      try { this.messages.push(JSON.parse(text)); } catch { this.messages.push({ raw: text }); }
    });
    ws.on('close', (code) => { this.closed = true; this.closeCode = code; });
    ws.on('error', () => {});
  }

  /** Sends a request and resolves its response (matched by id). */
  async call(method, params, timeoutMs = 5000) {
    const id = nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return waitFor(() => this.messages.find((m) => m.id === id), { timeoutMs, what: `answer to ${method}` });
  }

  notifications(method, subscription) {
    return this.messages.filter((m) => m.method === method && (subscription === undefined || m.params.subscription === subscription));
  }

  close() {
    this.ws.terminate();
  }
}

module.exports = { startSim, post, rpc, control, waitFor, PubSub };
