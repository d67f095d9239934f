'use strict';
// Solana's transaction wire format (legacy and v0), ed25519 keys through node:crypto, and
// the few SPL Token / System / Memo instructions the emulator builds itself. Kept
// synchronous on purpose: the emulator lands thousands of transactions per second and
// @solana/kit's WebCrypto signing is async.
const crypto = require('node:crypto');
const bs58 = require('bs58').default;

const SYSTEM_PROGRAM = '11111111111111111111111111111111';
const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A signing key: {publicKey: base58, publicBytes, sign(bytes) -> 64-byte Buffer, secret: 64 bytes}. */
function keypairFromSeed(seed) {
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed)]), format: 'der', type: 'pkcs8',
  });
  const publicBytes = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x, 'base64url');
  return {
    publicKey: bs58.encode(publicBytes),
    publicBytes,
    secret: Buffer.concat([Buffer.from(seed), publicBytes]),
    sign: (bytes) => crypto.sign(null, bytes, privateKey),
  };
}

function newKeypair() {
  return keypairFromSeed(crypto.randomBytes(32));
}

/** Reads a Solana CLI keypair file (a JSON array of 64 bytes: seed then public key). */
function keypairFromSecret(secret) {
  const bytes = Buffer.from(secret);
  if (bytes.length !== 64) throw new Error(`a Solana keypair has 64 bytes, got ${bytes.length}`);
  return keypairFromSeed(bytes.subarray(0, 32));
}

function encodeLength(n) {
  const out = [];
  for (;;) {
    let byte = n & 0x7f;
    n >>= 7;
    if (n === 0) { out.push(byte); return Buffer.from(out); }
    out.push(byte | 0x80);
  }
}

class Reader {
  constructor(bytes) { this.bytes = bytes; this.at = 0; }
  need(n) {
    if (this.at + n > this.bytes.length) throw new Error('transaction bytes end early');
  }
  u8() { this.need(1); return this.bytes[this.at++]; }
  take(n) { this.need(n); const out = this.bytes.subarray(this.at, this.at + n); this.at += n; return out; }
  length() {
    let value = 0;
    for (let shift = 0; shift < 21; shift += 7) {
      const byte = this.u8();
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error('bad compact-u16');
  }
}

/**
 * Compiles instructions ({programId, keys:[{pubkey, isSigner, isWritable}], data}) into a
 * legacy message, ordering accounts as Solana does: writable signers (fee payer first),
 * readonly signers, writable non-signers, readonly non-signers. Returns {bytes, keys, header}.
 */
function compileLegacyMessage(feePayer, instructions, recentBlockhash) {
  const metas = new Map();
  const touch = (pubkey, isSigner, isWritable) => {
    const meta = metas.get(pubkey) || { pubkey, isSigner: false, isWritable: false };
    meta.isSigner = meta.isSigner || isSigner;
    meta.isWritable = meta.isWritable || isWritable;
    metas.set(pubkey, meta);
  };
  touch(feePayer, true, true);
  for (const ix of instructions) {
    for (const key of ix.keys) touch(key.pubkey, key.isSigner, key.isWritable);
    touch(ix.programId, false, false);
  }
  const all = [...metas.values()];
  const group = (s, w) => all.filter((m) => m.isSigner === s && m.isWritable === w && m.pubkey !== feePayer);
  const ordered = [metas.get(feePayer), ...group(true, true), ...group(true, false), ...group(false, true),
    ...group(false, false)];
  const keys = ordered.map((m) => m.pubkey);
  const header = {
    numRequiredSignatures: ordered.filter((m) => m.isSigner).length,
    numReadonlySignedAccounts: ordered.filter((m) => m.isSigner && !m.isWritable).length,
    numReadonlyUnsignedAccounts: ordered.filter((m) => !m.isSigner && !m.isWritable).length,
  };
  const index = new Map(keys.map((k, i) => [k, i]));
  const parts = [Buffer.from([header.numRequiredSignatures, header.numReadonlySignedAccounts,
    header.numReadonlyUnsignedAccounts]), encodeLength(keys.length)];
  for (const key of keys) parts.push(Buffer.from(bs58.decode(key)));
  parts.push(Buffer.from(bs58.decode(recentBlockhash)), encodeLength(instructions.length));
  for (const ix of instructions) {
    const accounts = ix.keys.map((k) => index.get(k.pubkey));
    parts.push(Buffer.from([index.get(ix.programId)]), encodeLength(accounts.length), Buffer.from(accounts),
      encodeLength(ix.data.length), Buffer.from(ix.data));
  }
  return { bytes: Buffer.concat(parts), keys, header };
}

/** Signs a message with the given keypairs (in the message's signer order) into wire bytes. */
function signTransaction(messageBytes, signers) {
  const parts = [encodeLength(signers.length)];
  for (const signer of signers) parts.push(signer.sign(messageBytes));
  parts.push(messageBytes);
  return Buffer.concat(parts);
}

/**
 * Decodes wire bytes into {signatures:[base58], version:'legacy'|0, messageBytes, message:
 * {header, accountKeys, recentBlockhash, instructions:[{programIdIndex, accounts, data(Buffer)}],
 * addressTableLookups}}. Throws on malformed input.
 */
function decodeTransaction(bytes) {
  const r = new Reader(Buffer.from(bytes));
  const count = r.length();
  const signatures = [];
  for (let i = 0; i < count; i++) signatures.push(bs58.encode(r.take(64)));
  const messageStart = r.at;
  let version = 'legacy';
  let first = r.u8();
  if (first & 0x80) {
    version = first & 0x7f;
    if (version !== 0) throw new Error(`unsupported transaction version ${version}`);
    first = r.u8();
  }
  const header = { numRequiredSignatures: first, numReadonlySignedAccounts: r.u8(), numReadonlyUnsignedAccounts: r.u8() };
  const accountKeys = [];
  for (let i = r.length(); i > 0; i--) accountKeys.push(bs58.encode(r.take(32)));
  const recentBlockhash = bs58.encode(r.take(32));
  const instructions = [];
  for (let i = r.length(); i > 0; i--) {
    const programIdIndex = r.u8();
    const accounts = [...r.take(r.length())];
    const data = Buffer.from(r.take(r.length()));
    instructions.push({ programIdIndex, accounts, data });
  }
  const addressTableLookups = [];
  if (version === 0) {
    for (let i = r.length(); i > 0; i--) {
      const accountKey = bs58.encode(r.take(32));
      const writableIndexes = [...r.take(r.length())];
      const readonlyIndexes = [...r.take(r.length())];
      addressTableLookups.push({ accountKey, writableIndexes, readonlyIndexes });
    }
  }
  if (r.at !== r.bytes.length) throw new Error('trailing bytes after the transaction');
  if (signatures.length !== header.numRequiredSignatures) throw new Error('signature count does not match the header');
  return {
    signatures, version, messageBytes: r.bytes.subarray(messageStart),
    message: { header, accountKeys, recentBlockhash, instructions, addressTableLookups },
  };
}

function u64le(value) {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value));
  return out;
}

const meta = (pubkey, isSigner, isWritable) => ({ pubkey, isSigner, isWritable });

const ix = {
  createAccount: (from, to, lamports, space, owner) => ({
    programId: SYSTEM_PROGRAM,
    keys: [meta(from, true, true), meta(to, true, true)],
    data: Buffer.concat([Buffer.from([0, 0, 0, 0]), u64le(lamports), u64le(space), Buffer.from(bs58.decode(owner))]),
  }),
  transfer: (from, to, lamports) => ({
    programId: SYSTEM_PROGRAM,
    keys: [meta(from, true, true), meta(to, false, true)],
    data: Buffer.concat([Buffer.from([2, 0, 0, 0]), u64le(lamports)]),
  }),
  // SPL Token InitializeMint2 (20): decimals, mint authority, no freeze authority.
  initializeMint2: (mint, decimals, authority) => ({
    programId: TOKEN_PROGRAM,
    keys: [meta(mint, false, true)],
    data: Buffer.concat([Buffer.from([20, decimals]), Buffer.from(bs58.decode(authority)), Buffer.from([0])]),
  }),
  // Associated Token Account CreateIdempotent (1).
  createAta: (payer, ata, owner, mint) => ({
    programId: ATA_PROGRAM,
    keys: [meta(payer, true, true), meta(ata, false, true), meta(owner, false, false), meta(mint, false, false),
      meta(SYSTEM_PROGRAM, false, false), meta(TOKEN_PROGRAM, false, false)],
    data: Buffer.from([1]),
  }),
  // SPL Token MintTo (7) and MintToChecked (14).
  mintTo: (mint, destination, authority, amount) => ({
    programId: TOKEN_PROGRAM,
    keys: [meta(mint, false, true), meta(destination, false, true), meta(authority, true, false)],
    data: Buffer.concat([Buffer.from([7]), u64le(amount)]),
  }),
  mintToChecked: (mint, destination, authority, amount, decimals) => ({
    programId: TOKEN_PROGRAM,
    keys: [meta(mint, false, true), meta(destination, false, true), meta(authority, true, false)],
    data: Buffer.concat([Buffer.from([14]), u64le(amount), Buffer.from([decimals])]),
  }),
  memo: (text, signers = []) => ({
    programId: MEMO_PROGRAM,
    keys: signers.map((s) => meta(s, true, false)),
    data: Buffer.from(text, 'utf8'),
  }),
};

const ED25519_P = (1n << 255n) - 19n;
const ED25519_D = (-121665n * modInverse(121666n)) % ED25519_P;

function modPow(base, exp) {
  let result = 1n;
  base %= ED25519_P;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % ED25519_P;
    base = (base * base) % ED25519_P;
    exp >>= 1n;
  }
  return result;
}

function modInverse(a) {
  return modPow(((a % ED25519_P) + ED25519_P) % ED25519_P, ED25519_P - 2n);
}

/** True when 32 bytes decode to a point on the ed25519 curve (PDAs must be off it). */
function isOnCurve(bytes) {
  const y = BigInt('0x' + Buffer.from(bytes).reverse().toString('hex')) & ((1n << 255n) - 1n);
  if (y >= ED25519_P) return false;
  const y2 = (y * y) % ED25519_P;
  const u = (y2 - 1n + ED25519_P) % ED25519_P;
  const v = (ED25519_D * y2 + 1n) % ED25519_P;
  const x2 = (u * modInverse(v)) % ED25519_P;
  if (x2 === 0n) return true;
  return modPow(x2, (ED25519_P - 1n) / 2n) === 1n; // Euler's criterion: x² has a square root
}

/** Program-derived address: the first bump (255 down) whose hash is off the curve. */
function findProgramAddress(seeds, programId) {
  for (let bump = 255; bump >= 0; bump--) {
    const hash = crypto.createHash('sha256');
    for (const seed of seeds) hash.update(Buffer.from(seed));
    hash.update(Buffer.from([bump]));
    hash.update(Buffer.from(bs58.decode(programId)));
    hash.update(Buffer.from('ProgramDerivedAddress'));
    const candidate = hash.digest();
    if (!isOnCurve(candidate)) return [bs58.encode(candidate), bump];
  }
  throw new Error('no program address found');
}

function associatedTokenAddress(owner, mint) {
  return findProgramAddress([bs58.decode(owner), bs58.decode(TOKEN_PROGRAM), bs58.decode(mint)], ATA_PROGRAM)[0];
}

module.exports = {
  SYSTEM_PROGRAM, TOKEN_PROGRAM, ATA_PROGRAM, MEMO_PROGRAM,
  bs58, newKeypair, keypairFromSecret, compileLegacyMessage, signTransaction, decodeTransaction,
  associatedTokenAddress, findProgramAddress, ix, u64le,
};
