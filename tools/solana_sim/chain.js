'use strict';
// The ledger side of the emulator: a LiteSVM instance that executes every transaction,
// plus the history a real RPC node keeps (slot, blockTime, meta, per-address signature
// index) so getSignaturesForAddress / getTransaction / getSignatureStatuses can answer.
const crypto = require('node:crypto');
const { LiteSVM } = require('litesvm');
const w = require('./wire');

const { bs58 } = w;

// LiteSVM's error enums are numeric const enums; Solana's JSON spells them by name.
const TX_ERRORS = ['AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound',
  'InsufficientFundsForFee', 'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep',
  'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure', 'InvalidProgramForExecution',
  'SanitizeFailure', 'ClusterMaintenance', 'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion', 'InvalidWritableAccount', 'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks', 'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData', 'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit', 'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded', 'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled'];
const IX_ERRORS = ['GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData',
  'AccountDataTooSmall', 'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature',
  'AccountAlreadyInitialized', 'UninitializedAccount', 'UnbalancedInstruction', 'ModifiedProgramId',
  'ExternalAccountLamportSpend', 'ExternalAccountDataModified', 'ReadonlyLamportChange', 'ReadonlyDataModified',
  'DuplicateAccountIndex', 'ExecutableModified', 'RentEpochModified', 'NotEnoughAccountKeys',
  'AccountDataSizeChanged', 'AccountNotExecutable', 'AccountBorrowFailed', 'AccountBorrowOutstanding',
  'DuplicateAccountOutOfSync', 'InvalidError', 'ExecutableDataModified', 'ExecutableLamportChange',
  'ExecutableAccountNotRentExempt', 'UnsupportedProgramId', 'CallDepth', 'MissingAccount',
  'ReentrancyNotAllowed', 'MaxSeedLengthExceeded', 'InvalidSeeds', 'InvalidRealloc',
  'ComputationalBudgetExceeded', 'PrivilegeEscalation', 'ProgramEnvironmentSetupFailure',
  'ProgramFailedToComplete', 'ProgramFailedToCompile', 'Immutable', 'IncorrectAuthority',
  'AccountNotRentExempt', 'InvalidAccountOwner', 'ArithmeticOverflow', 'UnsupportedSysvar', 'IllegalOwner',
  'MaxAccountsDataAllocationsExceeded', 'MaxAccountsExceeded', 'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits', 'BorshIoError'];

function instructionErrorJson(err) {
  if (typeof err === 'number') return IX_ERRORS[err] || `Unknown(${err})`;
  if (err && typeof err.code === 'number') return { Custom: err.code };
  if (err && typeof err.msg === 'string') return 'BorshIoError';
  return String(err);
}

/** Solana's JSON for a TransactionError: "Name" or {"InstructionError":[i,{"Custom":n}]} and so on. */
function transactionErrorJson(err) {
  if (typeof err === 'number') return TX_ERRORS[err] || `Unknown(${err})`;
  const name = err && err.constructor && err.constructor.name;
  if (name === 'TransactionErrorInstructionError') return { InstructionError: [err.index, instructionErrorJson(err.err())] };
  if (name === 'TransactionErrorDuplicateInstruction') return { DuplicateInstruction: err.index };
  if (name === 'TransactionErrorInsufficientFundsForRent') return { InsufficientFundsForRent: { account_index: err.accountIndex } };
  if (name === 'TransactionErrorProgramExecutionTemporarilyRestricted') {
    return { ProgramExecutionTemporarilyRestricted: { account_index: err.accountIndex } };
  }
  return String(err);
}

// Errors after which a real cluster still records the transaction (fee charged, in a block).
// Anything else (bad signature, unknown blockhash, no fee payer funds…) never lands.
function landsOnChain(errJson) {
  return typeof errJson === 'object' && errJson !== null &&
    ('InstructionError' in errJson || 'DuplicateInstruction' in errJson || 'InsufficientFundsForRent' in errJson);
}

const FEE_PER_SIGNATURE = 5000;
const TOKEN_ACCOUNT_LEN = 165;
const MINT_LEN = 82;
const TOKEN_PROGRAM_BYTES = Buffer.from(bs58.decode(w.TOKEN_PROGRAM));

/** A fresh blockhash per transaction the emulator builds, so identical instructions never collide. */
function freshBlockhash() {
  return bs58.encode(crypto.randomBytes(32));
}

class Chain {
  /**
   * options: {decimals, txPerSlot, startSlot, mintAuthority (keypair or null)}.
   * Every landed transaction is recorded with the slot it landed in; the slot advances after
   * every `txPerSlot` transactions (1 by default, so slots strictly increase).
   */
  constructor(options = {}) {
    this.svm = new LiteSVM();
    this.keyCache = new Map();
    this.svm.inner.setBlockhashCheck(false); // clients may use any recent blockhash we handed out
    this.txPerSlot = options.txPerSlot || 1;
    this.slot = options.startSlot || 1000;
    this.inSlot = 0;
    this.history = [];              // landed records in order (slot ascending)
    this.bySignature = new Map();   // signature -> record
    this.byAddress = new Map();     // address -> [record] in landing order
    this.listeners = [];            // (record) => void, called after each landing
    this.failedCount = 0;
    this.rejectedCount = 0;
    this.blockhash = bs58.encode(crypto.randomBytes(32));
    this.syncClock();

    this.payer = w.newKeypair();
    this.svm.airdrop(this.payer.publicKey, 1_000_000_000_000n);
    this.decimals = options.decimals === undefined ? 9 : options.decimals;
    this.mintAuthority = options.mintAuthority || w.newKeypair();
    this.recipient = w.newKeypair();
    this.mintKeypair = w.newKeypair();
    this.mint = this.mintKeypair.publicKey;
    this.recipientTokenAccount = w.associatedTokenAddress(this.recipient.publicKey, this.mint);
    this.setupSignatures = [];
  }

  /** Creates the mint and the recipient's token account with real transactions. */
  setup() {
    const rent = Number(this.svm.minimumBalanceForRentExemption(BigInt(MINT_LEN)));
    const created = this.submitInstructions([
      w.ix.createAccount(this.payer.publicKey, this.mint, rent, MINT_LEN, w.TOKEN_PROGRAM),
      w.ix.initializeMint2(this.mint, this.decimals, this.mintAuthority.publicKey),
    ], [this.payer, this.mintKeypair]);
    const ata = this.createTokenAccount(this.recipient.publicKey);
    for (const r of [created, ata]) {
      if (r.err) throw new Error(`setup transaction failed: ${JSON.stringify(r.err)} ${r.logs.join(' | ')}`);
      this.setupSignatures.push(r.signature);
    }
  }

  createTokenAccount(owner) {
    const ata = w.associatedTokenAddress(owner, this.mint);
    return this.submitInstructions([w.ix.createAta(this.payer.publicKey, ata, owner, this.mint)], [this.payer]);
  }

  // LiteSVM's wrapper re-encodes base58 through BigInt on every call; at thousands of
  // transactions per second that dominated, so the emulator talks to the native side with
  // cached key bytes.
  keyBytes(address) {
    let bytes = this.keyCache.get(address);
    if (!bytes) {
      if (this.keyCache.size > 200_000) this.keyCache.clear();
      bytes = bs58.decode(address);
      this.keyCache.set(address, bytes);
    }
    return bytes;
  }

  balance(address) {
    return Number(this.svm.inner.getBalance(this.keyBytes(address)) ?? 0n);
  }

  /** {lamports, owner(base58), executable, data(Buffer)} or null. */
  account(address) {
    const a = this.svm.inner.getAccount(this.keyBytes(address));
    if (a === null) return null;
    return { lamports: Number(a.lamports()), owner: bs58.encode(a.owner()), executable: a.executable(), data: Buffer.from(a.data()) };
  }

  syncClock() {
    const clock = this.svm.getClock();
    clock.slot = BigInt(this.slot);
    clock.unixTimestamp = BigInt(Math.floor(Date.now() / 1000));
    this.svm.setClock(clock);
  }

  /** Builds, signs and submits a legacy transaction; returns the landing result (see submitWire). */
  submitInstructions(instructions, signers, blockhash) {
    const message = w.compileLegacyMessage(signers[0].publicKey, instructions, blockhash || freshBlockhash());
    const bySigner = new Map(signers.map((s) => [s.publicKey, s]));
    const ordered = message.keys.slice(0, message.header.numRequiredSignatures).map((k) => bySigner.get(k));
    if (ordered.some((s) => !s)) throw new Error('signers do not match the message signer keys');
    return this.submitWire(w.signTransaction(message.bytes, ordered));
  }

  /**
   * Executes wire bytes in LiteSVM. Returns {landed: true, record…} when the transaction is in
   * a slot (success or an instruction error), or {landed: false, err, logs} when a real
   * cluster would reject it before execution. Throws on undecodable bytes.
   */
  submitWire(bytes) {
    const tx = w.decodeTransaction(bytes);
    const keys = tx.message.accountKeys;
    const preBalances = keys.map((k) => this.balance(k));
    const preTokenBalances = this.tokenBalances(keys);
    const result = tx.version === 'legacy'
      ? this.svm.inner.sendLegacyTransaction(bytes)
      : this.svm.inner.sendVersionedTransaction(bytes);
    const failed = result.constructor && result.constructor.name === 'FailedTransactionMetadata';
    const meta = failed ? result.meta() : result;
    const err = failed ? transactionErrorJson(result.err()) : null;
    const logs = meta.logs();
    if (failed && !landsOnChain(err)) {
      this.rejectedCount++;
      return { landed: false, err, logs, signature: tx.signatures[0] };
    }
    if (failed) this.failedCount++;
    const record = {
      signature: tx.signatures[0],
      slot: this.slot,
      blockTime: Math.floor(Date.now() / 1000),
      err,
      logs,
      fee: FEE_PER_SIGNATURE * tx.signatures.length,
      preBalances,
      postBalances: keys.map((k) => this.balance(k)),
      preTokenBalances,
      postTokenBalances: this.tokenBalances(keys),
      innerInstructions: meta.innerInstructions().map((list, index) => ({
        index,
        instructions: list.map((inner) => {
          const c = inner.instruction();
          return { programIdIndex: c.programIdIndex(), accounts: [...c.accounts()],
            data: bs58.encode(c.data()), stackHeight: inner.stackHeight() };
        }),
      })).filter((entry) => entry.instructions.length > 0),
      computeUnitsConsumed: Number(meta.computeUnitsConsumed()),
      returnData: this.returnData(meta),
      memo: this.memoOf(tx),
      tx,
      wire: Buffer.from(bytes),
    };
    this.record(record);
    return { landed: true, ...record };
  }

  /** Preflight: null when `bytes` would succeed, else {err, logs, unitsConsumed}. Nothing lands. */
  simulate(bytes) {
    const tx = w.decodeTransaction(bytes);
    const sim = tx.version === 'legacy'
      ? this.svm.inner.simulateLegacyTransaction(bytes)
      : this.svm.inner.simulateVersionedTransaction(bytes);
    if (!(sim.constructor && sim.constructor.name === 'FailedTransactionMetadata')) return null;
    const meta = sim.meta();
    return { err: transactionErrorJson(sim.err()), logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()) };
  }

  /** A real System transfer from the payer. */
  airdrop(to, lamports) {
    return this.submitInstructions([w.ix.transfer(this.payer.publicKey, to, lamports)], [this.payer]);
  }

  minimumBalanceForRentExemption(dataLength) {
    return Number(this.svm.minimumBalanceForRentExemption(BigInt(dataLength)));
  }

  /** Skips `slots` empty slots; returns the new slot. */
  advanceSlots(slots) {
    this.slot += slots;
    this.inSlot = 0;
    this.svm.warpToSlot(BigInt(this.slot));
    this.syncClock();
    return this.slot;
  }

  /**
   * A synthetic transaction with Anchor-shaped logs: signed by the payer and recorded like any
   * other, but NOT executed (no Anchor program is deployed). Its logs are what Anchor emits:
   *   Program <id> invoke [1]
   *   Program log: Instruction: <Instruction>
   *   Program data: <base64(sha256("event:<Event>")[0..8] ++ payload)>
   *   Program <id> consumed N of 200000 compute units
   *   Program <id> success            (or "failed: custom program error: 0x…" with fail:true)
   */
  anchorEvent({ program, instruction, events, fail }) {
    const snake = instruction.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    const ixData = crypto.createHash('sha256').update(`global:${snake}`).digest().subarray(0, 8);
    const message = w.compileLegacyMessage(this.payer.publicKey,
      [{ programId: program, keys: [{ pubkey: this.payer.publicKey, isSigner: true, isWritable: true }], data: ixData }],
      freshBlockhash());
    const wire = w.signTransaction(message.bytes, [this.payer]);
    const tx = w.decodeTransaction(wire);
    const logs = [`Program ${program} invoke [1]`, `Program log: Instruction: ${instruction}`];
    for (const event of events) {
      const disc = crypto.createHash('sha256').update(`event:${event.name}`).digest().subarray(0, 8);
      logs.push(`Program data: ${Buffer.concat([disc, Buffer.from(event.data_base64 || '', 'base64')]).toString('base64')}`);
    }
    logs.push(`Program ${program} consumed 4242 of 200000 compute units`);
    const err = fail ? { InstructionError: [0, { Custom: 6000 }] } : null;
    logs.push(fail ? `Program ${program} failed: custom program error: 0x1770` : `Program ${program} success`);
    const balance = this.balance(this.payer.publicKey);
    const record = {
      signature: tx.signatures[0], slot: this.slot, blockTime: Math.floor(Date.now() / 1000), err, logs,
      fee: FEE_PER_SIGNATURE, preBalances: [balance, 1], postBalances: [balance, 1], preTokenBalances: [],
      postTokenBalances: [], innerInstructions: [], computeUnitsConsumed: 4242, returnData: undefined, memo: null, tx,
      wire, synthetic: true,
    };
    this.record(record);
    return record;
  }

  /** Records a transaction that was not executed (an injected synthetic record, see anchorEvent). */
  record(record) {
    this.history.push(record);
    this.bySignature.set(record.signature, record);
    const mentioned = new Set(record.tx.message.accountKeys);
    for (const address of mentioned) {
      let list = this.byAddress.get(address);
      if (!list) this.byAddress.set(address, (list = []));
      list.push(record);
    }
    if (++this.inSlot >= this.txPerSlot) {
      this.inSlot = 0;
      this.slot++;
      this.svm.warpToSlot(BigInt(this.slot));
      this.syncClock();
    }
    for (const listener of this.listeners) listener(record);
  }

  returnData(meta) {
    const data = meta.returnData();
    const bytes = data.data();
    if (!bytes || bytes.length === 0) return undefined;
    return { programId: bs58.encode(data.programId()), data: [Buffer.from(bytes).toString('base64'), 'base64'] };
  }

  memoOf(tx) {
    const keys = tx.message.accountKeys;
    const memos = tx.message.instructions
      .filter((i) => keys[i.programIdIndex] === w.MEMO_PROGRAM)
      .map((i) => `[${i.data.length}] ${i.data.toString('utf8')}`);
    return memos.length ? memos.join('; ') : null;
  }

  /** Solana's pre/postTokenBalances for the SPL Token accounts among `keys`. */
  tokenBalances(keys) {
    const out = [];
    keys.forEach((key, accountIndex) => {
      const raw = this.svm.inner.getAccount(this.keyBytes(key));
      if (raw === null) return;
      const data = raw.data();
      if (data.length !== TOKEN_ACCOUNT_LEN || !TOKEN_PROGRAM_BYTES.equals(Buffer.from(raw.owner()))) return;
      const mint = bs58.encode(data.subarray(0, 32));
      const owner = bs58.encode(data.subarray(32, 64));
      const amount = Buffer.from(data.buffer, data.byteOffset, data.length).readBigUInt64LE(64);
      const decimals = this.mintDecimals(mint);
      const ui = Number(amount) / 10 ** decimals;
      out.push({
        accountIndex, mint, owner, programId: w.TOKEN_PROGRAM,
        uiTokenAmount: { amount: amount.toString(), decimals, uiAmount: ui, uiAmountString: uiString(amount, decimals) },
      });
    });
    return out;
  }

  mintDecimals(mint) {
    this.decimalsCache = this.decimalsCache || new Map();
    let decimals = this.decimalsCache.get(mint);
    if (decimals === undefined) {
      const account = this.account(mint);
      decimals = account && account.data.length >= MINT_LEN ? account.data[44] : 0;
      if (account) this.decimalsCache.set(mint, decimals); // decimals never change once initialized
    }
    return decimals;
  }

  /**
   * `count` real MintTo transactions to the recipient (or `destination`). `checked` picks
   * MintToChecked: true, false, or "alternate" (every second one, counting from `first`).
   */
  mintMany(count, { amount = 1_000_000_000, checked = false, first = 0, instructionsPerTx = 1, destination } = {}) {
    const to = destination || this.recipientTokenAccount;
    const results = [];
    for (let i = 0; i < count; i++) {
      const ixs = [];
      for (let j = 0; j < instructionsPerTx; j++) {
        const isChecked = checked === 'alternate' ? (first + i) % 2 === 1 : Boolean(checked);
        ixs.push(isChecked
          ? w.ix.mintToChecked(this.mint, to, this.mintAuthority.publicKey, amount, this.decimals)
          : w.ix.mintTo(this.mint, to, this.mintAuthority.publicKey, amount));
      }
      results.push(this.submitInstructions(ixs, [this.payer, this.mintAuthority]));
    }
    return results;
  }

  /** A MintTo signed by a key that is not the mint authority: lands with an InstructionError. */
  failingMint(amount = 1) {
    const impostor = w.newKeypair();
    return this.submitInstructions([w.ix.mintTo(this.mint, this.recipientTokenAccount, impostor.publicKey, amount)],
      [this.payer, impostor]);
  }

  memo(text) {
    return this.submitInstructions([w.ix.memo(text, [this.payer.publicKey])], [this.payer]);
  }

  tokenAmount(tokenAccount) {
    const account = this.account(tokenAccount);
    if (!account) return null;
    return account.data.readBigUInt64LE(64);
  }
}

function uiString(amount, decimals) {
  const s = amount.toString().padStart(decimals + 1, '0');
  if (decimals === 0) return s;
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

module.exports = { Chain, transactionErrorJson, freshBlockhash, FEE_PER_SIGNATURE };
