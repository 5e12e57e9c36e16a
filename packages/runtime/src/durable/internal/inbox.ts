/**
 * Durable messages. A durable tell or ask is stored in the recipient's inbox (`troupe_inbox`, keyed by the
 * recipient's persistence id and the message id) and committed before the sender is answered; the recipient
 * is then poked and reads its pending messages from storage, in the order they were stored.
 *
 * Each message is handled by the recipient's own handler, and marked handled (with its reply) in the same
 * transaction as the state it produced: a crash before that commit leaves both the state and the message as
 * they were, and the message is read again when the actor is back (at least once); a message sent again with
 * the same id is answered from the inbox instead of being handled again (deduplicated by id).
 */
import { Cause, Effect, Exit, Schema } from "effect"
import { AskTimeout } from "../../ActorRef.ts"
import type { ActorContext, Behavior } from "../../Behavior.ts"
import { callHandler } from "../../internal/callHandler.ts"
import type { SystemImpl } from "../../internal/system.ts"
import * as Protocol from "../../Protocol.ts"
import { issueOf, type StorageError } from "./errors.ts"
import { type Instance, instances, withRefs } from "./instance.ts"
import { chunks, type Merged, maxParameters, pairKey, valuesStatement } from "./rows.ts"
import type { Writer } from "./writer.ts"
import { rowOf } from "./writes.ts"

/** The message that makes a durable actor read its inbox. */
export const InboxTag = "$Inbox"
export const poke = { _tag: InboxTag } as const

/** How many inbox rows one `$Inbox` message handles before it pokes the actor again. */
const batch = 64

type Json = unknown

/** A reply as stored with a handled message. */
export type StoredReply =
  | { readonly _tag: "Success"; readonly value: Json }
  | { readonly _tag: "Failure"; readonly error: Json }
  | { readonly _tag: "Invalid"; readonly issue: string }
  | { readonly _tag: "None" }

interface Codecs {
  readonly message: (tag: string) => { encode(u: unknown): Json; decode(u: unknown): Exit.Exit<unknown, unknown> }
  readonly success: (tag: string) => { encode(u: unknown): Json; decode(u: unknown): Exit.Exit<unknown, unknown> }
  readonly failure: (tag: string) => { encode(u: unknown): Json; decode(u: unknown): Exit.Exit<unknown, unknown> }
}

const codecCache = new WeakMap<Protocol.Any, Codecs>()

const jsonOf = (schema: Schema.Top) => {
  const codec = Schema.toCodecJson(schema as Schema.Codec<unknown, unknown, never, never>)
  return { encode: Schema.encodeSync(codec) as (u: unknown) => Json, decode: Schema.decodeUnknownExit(codec) }
}

/** JSON codecs of a protocol's messages and replies, made once per protocol and tag. */
export const codecs = (protocol: Protocol.Any): Codecs => {
  let c = codecCache.get(protocol)
  if (c !== undefined) return c
  const cache = new Map<string, ReturnType<typeof jsonOf>>()
  const get = (key: string, schema: () => Schema.Top) => {
    let codec = cache.get(key)
    if (codec === undefined) {
      codec = jsonOf(schema())
      cache.set(key, codec)
    }
    return codec
  }
  c = {
    message: (tag) => get(`m:${tag}`, () => protocol.messageSchemas[tag] ?? Schema.Never),
    success: (tag) => get(`s:${tag}`, () => Protocol.requestDef(protocol, tag)?.success ?? Schema.Void),
    failure: (tag) => get(`f:${tag}`, () => Protocol.requestDef(protocol, tag)?.failure ?? Schema.Never)
  }
  codecCache.set(protocol, c)
  return c
}

/** Callers of durable asks waiting for a reply, by `persistenceId \0 messageId`. */
const waitersKey = { name: "@troupe/runtime/Durable/replies" }
const waiters = (system: SystemImpl) =>
  system.extension(waitersKey, () => new Map<string, Set<(reply: StoredReply) => void>>())
const waiterKey = (persistenceId: string, id: string) => `${persistenceId}\u0000${id}`

const isDeclared = (schema: Schema.Top, error: unknown): boolean =>
  schema !== Schema.Never && (Schema.is(schema) as (u: unknown) => boolean)(error)

type AnyHandler = (state: unknown, message: unknown, ctx: unknown) => Effect.Effect<unknown, unknown, unknown>

/**
 * The `$Inbox` handler of a durable actor: reads the next pending messages, hands each to the behaviour's
 * handler, and queues its "handled" mark and reply to be committed with the state.
 */
export const read = <S>(
  inst: Instance<S>,
  behavior: Behavior<Protocol.Any, S, unknown>,
  ctx: ActorContext<Protocol.Any>,
  system: SystemImpl
): Effect.Effect<Instance<S>, unknown, unknown> =>
  Effect.gen(function* () {
    inst.poked = false
    const { sql, failed } = inst.storage
    const pid = inst.persistenceId
    // after a rewind from the first row: rows handled here whose marks are not committed come back, skipped below
    const from = inst.rewound ? 0 : inst.cursor
    const limit = inst.rewound ? batch + inst.unmarked.size : batch
    inst.rewound = false
    const rows = yield* sql<{
      seq: number | string
      message_id: string
      message: string
    }>`SELECT seq, message_id, message FROM troupe_inbox
       WHERE recipient = ${pid} AND handled = 0 AND seq > ${from} ORDER BY seq LIMIT ${limit}`.pipe(
      Effect.mapError(failed("inbox read", pid))
    )
    const protocol = behavior.protocol
    const receive = behavior.receive as unknown as Record<string, AnyHandler | undefined>
    for (const row of rows) {
      inst.cursor = Number(row.seq)
      const id = row.message_id
      // handled in this incarnation already, its mark not committed yet
      if (inst.unmarked.has(id)) continue
      let reply: StoredReply
      const parsed = parse(row.message)
      const tag = (parsed as { _tag?: unknown } | undefined)?._tag
      const decoded =
        typeof tag === "string" && protocol.tags.has(tag)
          ? withRefs(system, () => codecs(protocol).message(tag).decode(parsed))
          : Exit.fail(`${JSON.stringify(tag ?? null)} is not a message of ${protocol.name}`)
      const handler = typeof tag === "string" ? receive[tag] : undefined
      if (Exit.isFailure(decoded) || handler === undefined) {
        const issue = Exit.isFailure(decoded) ? issueOf(decoded.cause) : `no handler for ${String(tag)}`
        reply = { _tag: "Invalid", issue }
        system.deadLetter(ctx.self.path, { _tag: String(tag) }, "invalid")
      } else {
        const message = decoded.value as { readonly _tag: string }
        const def = Protocol.requestDef(protocol, message._tag)
        const exit = yield* Effect.exit(callHandler(handler, inst.latest, message, ctx))
        if (Exit.isSuccess(exit)) {
          if (def === undefined) {
            inst.latest = exit.value as S
            reply = { _tag: "None" }
          } else {
            const value = exit.value as { state: S; reply: unknown }
            inst.latest = value.state
            reply = { _tag: "Success", value: codecs(protocol).success(message._tag).encode(value.reply) }
          }
        } else {
          const failure = exit.cause.reasons.find(Cause.isFailReason)
          if (def !== undefined && failure !== undefined && isDeclared(def.failure, failure.error)) {
            reply = { _tag: "Failure", error: codecs(protocol).failure(message._tag).encode(failure.error) }
          } else {
            // a crash: this message stays pending and is read again when the actor is back
            inst.cursor = Number(row.seq) - 1
            if ((failure?.error as { _tag?: unknown } | undefined)?._tag === "StashSignal") {
              return yield* Effect.die(new Error(`${ctx.self.path}: a durable message cannot be stashed`))
            }
            return yield* Effect.failCause(exit.cause)
          }
        }
      }
      inst.ops.push(rowOf(markHandled, { recipient: pid, messageId: id, reply: JSON.stringify(reply) }))
      inst.unmarked.add(id)
      const key = waiterKey(pid, id)
      const told = reply
      inst.afterCommit.push(() => {
        inst.unmarked.delete(id)
        const set = waiters(system).get(key)
        if (set !== undefined) for (const resume of set) resume(told)
      })
      // written in the next batch, before anything the next message's handler stores: a handler that clears
      // what an earlier message left (a durable agent dropping the last turn's journal) never commits first
      inst.writer.markDirty(inst, true)
    }
    if (rows.length === limit) requestPoke(inst as Instance<unknown>, ctx)
    return inst
  })

/** Pokes the actor (once: a poke already in its mailbox is enough). */
export const requestPoke = (inst: Instance<unknown>, ctx: ActorContext<Protocol.Any>): void => {
  if (inst.poked) return
  inst.poked = true
  Effect.runFork(
    (ctx.self as unknown as { tell(m: unknown): Effect.Effect<void, unknown> })
      .tell(poke)
      .pipe(Effect.catchCause(() => Effect.sync(() => (inst.poked = false))))
  )
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

// -----------------------------------------------------------------------------------------------------------
// Sending
// -----------------------------------------------------------------------------------------------------------

/** Where a durable message goes: the recipient's persistence id, and how to poke it. */
export interface Target {
  readonly persistenceId: string
  readonly path: string
  readonly protocol: Protocol.Any
  readonly system: SystemImpl
  /** Makes the recipient read its inbox (spawning it if it is an entity that is not running). */
  readonly poke: Effect.Effect<void>
}

/**
 * Stores a message in the recipient's inbox and pokes the recipient. With `ask`, waits for the reply
 * (at most `timeoutMillis`); a message with this id that was handled already is answered from the inbox.
 */
export const send = (
  target: Target,
  message: { readonly _tag: string },
  id: string,
  ask: { readonly timeoutMillis: number } | undefined,
  writer: Writer
): Effect.Effect<StoredReply, StorageError | AskTimeout> =>
  Effect.suspend(() => {
    const { persistenceId: pid, system } = target
    const json = JSON.stringify(codecs(target.protocol).message(message._tag).encode(message))
    const key = waiterKey(pid, id)
    const table = waiters(system)
    let resume: ((reply: StoredReply) => void) | undefined
    const replied = new Promise<StoredReply>((r) => {
      resume = r
    })
    if (ask !== undefined) {
      let set = table.get(key)
      if (set === undefined) table.set(key, (set = new Set()))
      set.add(resume!)
    }
    const unregister = Effect.sync(() => {
      const set = table.get(key)
      if (set === undefined) return
      set.delete(resume!)
      if (set.size === 0) table.delete(key)
    })
    const store = writer.runRow(storeMessage, {
      recipient: pid,
      messageId: id,
      message: json,
      createdAt: Date.now()
    })
    const flow = Effect.gen(function* () {
      const known = yield* store
      if (known !== undefined && known._tag !== "StoredEarlier") return known
      // sent again and pending (the cluster's redelivery): its row may lie behind the live actor's read position
      // (committed late by another process), so the actor's next read starts from the first row
      const live = known === undefined ? undefined : instances(system).get(pid)?.instance
      if (live !== undefined) live.rewound = true
      yield* target.poke
      if (ask === undefined) return { _tag: "None" } as const
      return yield* Effect.promise(() => replied).pipe(
        Effect.timeoutOrElse({
          duration: ask.timeoutMillis,
          orElse: () =>
            Effect.fail(new AskTimeout({ recipient: target.path, tag: message._tag, timeoutMillis: ask.timeoutMillis }))
        })
      )
    })
    return ask === undefined ? flow : Effect.ensuring(flow, unregister)
  })

/** A durable message to store in its recipient's inbox. */
export interface Stored {
  readonly recipient: string
  readonly messageId: string
  readonly message: string
  readonly createdAt: number
}

/** What {@link storeMessage} answers for a message its recipient had stored already and not handled yet. */
export const storedEarlier = { _tag: "StoredEarlier" } as const

/**
 * Stores durable messages (the rows of a batch's run of them in one statement, or a few under the parameter
 * limit), each unless its recipient has one with its id already; answers, for each, the stored reply when that
 * one was handled already, {@link storedEarlier} when it was stored before and is pending, `undefined` when it was
 * stored now. Rows are inserted in the order they were sent, so a recipient reads them in that order; a message sent
 * twice in one batch is stored once (the first), and the second send finds it stored and pending: what storing them
 * one after the other would do.
 */
export const storeMessage: Merged<Stored, StoredReply | typeof storedEarlier | undefined> = {
  name: "store a durable message",
  run: (sql, rows) =>
    Effect.gen(function* () {
      const limit = maxParameters(sql)
      const unique = new Map<string, Stored>()
      for (const r of rows) {
        const key = pairKey(r.recipient, r.messageId)
        if (!unique.has(key)) unique.set(key, r)
      }
      const inserted = new Set<string>()
      for (const chunk of chunks([...unique.values()], 6, 0, limit)) {
        const returned = yield* sql<{ recipient: string; message_id: string }>`INSERT INTO troupe_inbox ${sql.insert(
          chunk.map((r) => ({
            recipient: r.recipient,
            message_id: r.messageId,
            message: r.message,
            handled: 0,
            reply: null,
            created_at: r.createdAt
          })) as never
        )} ON CONFLICT (recipient, message_id) DO NOTHING RETURNING recipient, message_id`
        for (const r of returned) inserted.add(pairKey(r.recipient, r.message_id))
      }
      // the ones stored before: answered from the inbox if they were handled
      const known = [...unique.values()].filter((r) => !inserted.has(pairKey(r.recipient, r.messageId)))
      const replies = new Map<string, StoredReply | typeof storedEarlier>()
      for (const chunk of chunks(known, 2, 0, limit)) {
        const found = yield* valuesStatement<{
          recipient: string
          message_id: string
          handled: number | string
          reply: string | null
        }>(
          sql,
          chunk.map((r) => [r.recipient, r.messageId]),
          ["TEXT", "TEXT"],
          [],
          (values) => `WITH v(recipient, message_id) AS (VALUES ${values})
            SELECT i.recipient, i.message_id, i.handled, i.reply FROM troupe_inbox i
            JOIN v ON i.recipient = v.recipient AND i.message_id = v.message_id`
        )
        for (const r of found) {
          replies.set(
            pairKey(r.recipient, r.message_id),
            Number(r.handled) === 1 ? (parse(r.reply ?? "") as StoredReply) : storedEarlier
          )
        }
      }
      // a message sent again in the batch after it was stored now finds it stored and pending, as one by one
      const first = new Set<string>()
      return rows.map((r) => {
        const key = pairKey(r.recipient, r.messageId)
        return replies.get(key) ?? (first.has(key) ? storedEarlier : void first.add(key))
      })
    })
}

/** A handled durable message's mark and reply, written with its recipient's state. */
export interface Handled {
  readonly recipient: string
  readonly messageId: string
  /** JSON of the {@link StoredReply}. */
  readonly reply: string
}

/**
 * Marks durable messages handled, with their replies (the rows of a batch's run of them in one statement, or a
 * few under the parameter limit). A message marked twice in one run keeps the last reply, as marking them one
 * after the other would.
 */
export const markHandled: Merged<Handled, void> = {
  name: "mark a durable message handled",
  run: (sql, rows) =>
    Effect.gen(function* () {
      const last = new Map<string, Handled>()
      for (const r of rows) {
        const key = pairKey(r.recipient, r.messageId)
        last.delete(key) // kept in the order of its last mark
        last.set(key, r)
      }
      for (const chunk of chunks([...last.values()], 3, 0, maxParameters(sql))) {
        yield* valuesStatement(
          sql,
          chunk.map((r) => [r.recipient, r.messageId, r.reply]),
          ["TEXT", "TEXT", "TEXT"],
          [],
          (values) => `WITH v(recipient, message_id, reply) AS (VALUES ${values})
            UPDATE troupe_inbox SET handled = 1, reply = v.reply
            FROM v WHERE troupe_inbox.recipient = v.recipient AND troupe_inbox.message_id = v.message_id`
        )
      }
      return rows.map(() => undefined)
    })
}

/** Turns a stored reply back into the ask's outcome. */
export const outcome = (
  protocol: Protocol.Any,
  tag: string,
  reply: StoredReply,
  system: SystemImpl
): Exit.Exit<unknown, unknown> => {
  switch (reply._tag) {
    case "Success":
      return withRefs(system, () => codecs(protocol).success(tag).decode(reply.value))
    case "Failure": {
      const decoded = withRefs(system, () => codecs(protocol).failure(tag).decode(reply.error))
      return Exit.isSuccess(decoded) ? Exit.fail(decoded.value) : decoded
    }
    case "Invalid":
      return Exit.fail(reply.issue)
    case "None":
      return Exit.void
  }
}
