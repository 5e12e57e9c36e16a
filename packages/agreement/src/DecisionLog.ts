/**
 * The decision log: what a team agreed, with the votes and reasons, in order. `Decision.decide` appends
 * each outcome to the log in context and gives each voter the log so far; later sessions get it as
 * context ({@link describe}) and are held to it ({@link refine}: a payload that contradicts an accepted
 * decision is refused by the session's monitor, or sent back to the model that proposed it).
 *
 * {@link layerMemory} keeps it in memory; {@link layerDurable} keeps it in Troupe's storage (a journal
 * under `decisions/<name>`), so it outlives the process and is read back when the layer is built.
 *
 * @example
 * ```ts
 * const log = DecisionLog.layerDurable("recipes")   // needs Storage.layerSqlite({ filename: "team.db" })
 * const entries = yield* DecisionLog.entries
 * const Change = DecisionLog.refine(ChangeSchema, entries, (c) => ({ [c.topic]: c.value }))
 * ```
 *
 * @since 0.1.0
 */
import { Storage } from "@troupe/runtime"
import { Clock, Context, Effect, Layer, Schema } from "effect"

/** A logged decision. */
export const Entry = Schema.Struct({
  /** Its number in the log, from 1. */
  seq: Schema.Number,
  /** When it was decided (epoch millis). */
  at: Schema.Number,
  topic: Schema.String,
  choice: Schema.String,
  accepted: Schema.Boolean,
  yes: Schema.Number,
  no: Schema.Number,
  absent: Schema.Number,
  rationale: Schema.optionalKey(Schema.UndefinedOr(Schema.String)),
  proposer: Schema.String,
  rule: Schema.String,
  ballots: Schema.Array(
    Schema.Struct({ voter: Schema.String, vote: Schema.Literals(["yes", "no", "absent"]), reason: Schema.String })
  )
})
export type Entry = typeof Entry.Type

/** The log could not be read or written (its storage failed, or holds something that is not an entry). */
export class DecisionLogError extends Schema.TaggedError<DecisionLogError>()("DecisionLogError", {
  log: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `The decision log ${this.log} failed: ${this.reason}`
  }
}

/** The decision log in context. */
export class DecisionLog extends Context.Service<
  DecisionLog,
  {
    readonly name: string
    /** Every entry, oldest first. */
    readonly entries: Effect.Effect<ReadonlyArray<Entry>>
    /** Appends a decision (durably, when the log is durable) and answers it with its number and time. */
    readonly append: (entry: Omit<Entry, "seq" | "at">) => Effect.Effect<Entry, DecisionLogError>
  }
>()("@troupe/agreement/DecisionLog") {}

/** The entries of the log in context. */
export const entries: Effect.Effect<ReadonlyArray<Entry>, never, DecisionLog> = DecisionLog.use((log) => log.entries)

const make = (
  name: string,
  initial: ReadonlyArray<Entry>,
  persist: (entry: Entry) => Effect.Effect<void, DecisionLogError>
): DecisionLog["Service"] => {
  const all = [...initial]
  return {
    name,
    entries: Effect.sync(() => [...all]),
    append: (entry) =>
      Effect.gen(function* () {
        const full: Entry = { ...entry, seq: all.length + 1, at: yield* Clock.currentTimeMillis }
        yield* persist(full)
        all.push(full)
        return full
      })
  }
}

/** A log in memory (gone with the process). */
export const layerMemory = (name = "decisions"): Layer.Layer<DecisionLog> =>
  Layer.sync(DecisionLog, () => make(name, [], () => Effect.void))

/**
 * A log in Troupe's storage, under the persistence id `decisions/<name>`: read back when the layer is
 * built, each decision committed before `append` answers.
 */
export const layerDurable = (name: string): Layer.Layer<DecisionLog, DecisionLogError, Storage.Storage> =>
  Layer.effect(
    DecisionLog,
    Effect.gen(function* () {
      const storage = yield* Storage.Storage
      const id = `decisions/${name}`
      const fail = (reason: string) => new DecisionLogError({ log: name, reason })
      const stored = yield* storage.journal.read(id).pipe(Effect.mapError((e) => fail(e.message)))
      const initial = yield* Effect.forEach(stored, (row) =>
        Schema.decodeUnknownEffect(Entry)(row.entry).pipe(
          Effect.mapError((e) => fail(`entry ${row.seq} of decisions/${name} is not a decision: ${e.message}`))
        )
      )
      return make(name, initial, (entry) =>
        storage.journal.append(id, [{ seq: entry.seq, entry }]).pipe(Effect.mapError((e) => fail(e.message)))
      )
    })
  )

/** The choice accepted last on each topic. */
export const agreed = (log: ReadonlyArray<Entry>): ReadonlyMap<string, Entry> => {
  const out = new Map<string, Entry>()
  for (const entry of log) if (entry.accepted) out.set(entry.topic, entry)
  return out
}

/**
 * The log as a model reads it: each decision with its outcome, its votes and their reasons (dissent
 * included), for the context of a later session.
 */
export const describe = (log: ReadonlyArray<Entry>): string =>
  log.length === 0
    ? "No decisions have been made yet."
    : [
        "Decisions the team made (binding unless a later decision changes them):",
        ...log.map((e) =>
          [
            `#${e.seq} ${e.topic}: ${e.choice}: ${e.accepted ? "ACCEPTED" : "REJECTED"} (${e.yes} yes, ${e.no} no, ${e.absent} absent; ${e.rule})${e.rationale ? `: ${e.rationale}` : ""}`,
            ...e.ballots.map((b) => `    ${b.voter}: ${b.vote}: ${b.reason}`)
          ].join("\n")
        )
      ].join("\n")

/**
 * The accepted decisions a set of claims (`{ storage: "MongoDB" }`) contradicts: same topic, another choice.
 * Topics and choices compare without regard to case.
 */
export const conflicts = (
  log: ReadonlyArray<Entry>,
  claims: Readonly<Record<string, string>>
): ReadonlyArray<Entry> => {
  const byTopic = new Map([...agreed(log)].map(([topic, entry]) => [topic.toLowerCase(), entry]))
  return Object.entries(claims).flatMap(([topic, value]) => {
    const entry = byTopic.get(topic.toLowerCase())
    return entry !== undefined && entry.choice.toLowerCase() !== value.toLowerCase() ? [entry] : []
  })
}

/**
 * `schema`, refined so that a value whose claims contradict an accepted decision of `log` is refused, with
 * the decision it breaks: the payload schema of a later protocol's messages, so that the session's monitor
 * refuses a move against the log (and a model playing the role is told why, and corrects it).
 *
 * @example
 * ```ts
 * const Change = DecisionLog.refine(Schema.Struct({ file: Schema.String, uses: Schema.Record(Schema.String, Schema.String) }), entries, (c) => c.uses)
 * ```
 */
export const refine = <S extends Schema.Top>(
  schema: S,
  log: ReadonlyArray<Entry>,
  claimsOf: (value: S["Type"]) => Readonly<Record<string, string>>
): S["Rebuild"] =>
  schema.check(
    Schema.makeFilter((value: S["Type"]) => {
      const broken = conflicts(log, claimsOf(value))
      return broken.length === 0
        ? true
        : broken
            .map(
              (e) =>
                `it goes against decision #${e.seq} (${e.topic}: ${e.choice}, accepted ${e.yes}-${e.no}): use ${e.choice} for ${e.topic}`
            )
            .join("; ")
    })
  )
