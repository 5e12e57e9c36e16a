/**
 * The journal of a durable agent's turn: each model response and tool result is stored (and committed) before
 * the turn uses it, so that a turn run again after a crash replays what was journaled instead of calling the
 * model or the tool again: a journaled model call is never billed twice.
 *
 * Entries live in the storage's journal under the agent's persistence id, numbered `turn * STRIDE + n`. A
 * model call is replayed only if its request is the one journaled (same fingerprint); from the first call
 * that differs (the turn is a different question now), the rest of the turn's journal is dropped. A person's
 * answer on the desk (an approval, say) is journaled too ({@link TurnJournal.desk}): a turn run again after a
 * crash does not ask again what was answered.
 */
import { createHash } from "node:crypto"
import type { Desk, Storage } from "@troupe/runtime"
import { Context, Effect, Option, Schema, Stream } from "effect"
import type * as LanguageModel from "../LanguageModel.ts"
import type { LlmError } from "../LlmError.ts"
import * as Message from "../Message.ts"
import * as Response from "../Response.ts"
import * as Usage from "../Usage.ts"

/** Journal numbers per turn. */
export const STRIDE = 1_000_000

const Entry = Schema.Union([
  Schema.TaggedStruct("Model", { step: Schema.Number, fingerprint: Schema.String, response: Response.Response }),
  // `step`: the model call whose tool call it answers (absent in entries written before it was kept)
  Schema.TaggedStruct("Tool", {
    id: Schema.String,
    step: Schema.optionalKey(Schema.Number),
    result: Message.ToolResult
  }),
  Schema.TaggedStruct("Answer", {
    key: Schema.String,
    step: Schema.optionalKey(Schema.Number),
    answer: Schema.Json,
    by: Schema.String
  })
])
type Entry = typeof Entry.Type
const codec = Schema.toCodecJson(Entry)
const encode = Schema.encodeSync(codec)
const decode = Schema.decodeUnknownOption(codec)

/** What a turn spent: the usage and cost of its model calls, journaled or replayed. */
export interface Spent {
  readonly usage: Usage.Usage
  readonly cost: number
  readonly calls: number
}

export class TurnJournal {
  private readonly models = new Map<
    number,
    { readonly fingerprint: string; readonly seq: number; readonly response: Response.Response }
  >()
  private readonly tools = new Map<string, { readonly seq: number; readonly result: Message.ToolResult }>()
  private readonly answers = new Map<string, { readonly seq: number; readonly answer: unknown }>()
  private step = 0
  private nextSeq: number
  /** Model calls answered from the journal in this run of the turn. */
  replayed = 0
  private readonly journal: Storage.StorageService["journal"]
  readonly persistenceId: string
  readonly turn: number

  constructor(
    journal: Storage.StorageService["journal"],
    persistenceId: string,
    turn: number,
    entries: ReadonlyArray<Storage.JournalEntry>
  ) {
    this.journal = journal
    this.persistenceId = persistenceId
    this.turn = turn
    let last = turn * STRIDE - 1
    for (const { seq, entry } of entries) {
      last = Math.max(last, seq)
      const decoded = decode(entry)
      if (decoded._tag === "None") continue
      const e = decoded.value
      if (e._tag === "Model") this.models.set(e.step, { fingerprint: e.fingerprint, seq, response: e.response })
      else if (e._tag === "Tool") this.tools.set(stepKey(e.step, e.id), { seq, result: e.result })
      else this.answers.set(stepKey(e.step, e.key), { seq, answer: e.answer })
    }
    this.nextSeq = last + 1
  }

  /** Loads the journal of turn `turn`, dropping the entries of earlier turns. */
  static load(
    journal: Storage.StorageService["journal"],
    persistenceId: string,
    turn: number
  ): Effect.Effect<TurnJournal, Storage.StorageError> {
    return Effect.gen(function* () {
      const entries = yield* journal.read(persistenceId)
      if (entries.some((e) => e.seq < turn * STRIDE)) yield* journal.remove(persistenceId, { before: turn * STRIDE })
      return new TurnJournal(
        journal,
        persistenceId,
        turn,
        entries.filter((e) => e.seq >= turn * STRIDE)
      )
    })
  }

  /** What the turn's journaled model calls spent (each billed once, whether replayed now or not). */
  spent(): Spent {
    let usage = Usage.empty
    let cost = 0
    for (const { response } of this.models.values()) {
      usage = Usage.add(usage, response.usage)
      cost += response.cost ?? 0
    }
    return { usage, cost, calls: this.models.size }
  }

  private append(entry: Entry): Effect.Effect<void, Storage.StorageError> {
    const seq = this.nextSeq++
    return this.journal.append(this.persistenceId, [{ seq, entry: encode(entry) }])
  }

  /** Drops the entries from `seq` on: the turn went another way from there. */
  private diverged(seq: number): Effect.Effect<void, Storage.StorageError> {
    for (const [step, entry] of this.models) if (entry.seq >= seq) this.models.delete(step)
    for (const [id, entry] of this.tools) if (entry.seq >= seq) this.tools.delete(id)
    for (const [key, entry] of this.answers) if (entry.seq >= seq) this.answers.delete(key)
    this.nextSeq = seq
    return this.journal.remove(this.persistenceId, { from: seq })
  }

  /** The model, journaled: a call whose request was journaled is answered from the journal. */
  model(model: LanguageModel.LanguageModel["Service"]): LanguageModel.LanguageModel["Service"] {
    const replay = (request: LanguageModel.Request) => {
      const step = this.step++
      const fingerprint = fingerprintOf(request)
      const known = this.models.get(step)
      if (known !== undefined && known.fingerprint === fingerprint) {
        this.replayed++
        return { step, fingerprint, response: known.response, drop: undefined }
      }
      return { step, fingerprint, response: undefined, drop: known?.seq }
    }
    const record = (step: number, fingerprint: string, response: Response.Response) => {
      this.models.set(step, { fingerprint, seq: this.nextSeq, response })
      return this.append({ _tag: "Model", step, fingerprint, response })
    }
    const persisted = <A>(effect: Effect.Effect<A, Storage.StorageError>) => Effect.orDie(effect)
    return {
      generate: (request) =>
        Effect.suspend(() => {
          const { step, fingerprint, response, drop } = replay(request)
          if (response !== undefined) return Effect.succeed(response)
          const live = Effect.tap(model.generate(request), (response) => persisted(record(step, fingerprint, response)))
          return drop === undefined ? live : Effect.andThen(persisted(this.diverged(drop)), live)
        }),
      stream: (request) =>
        Stream.unwrap(
          Effect.sync(() => {
            const { step, fingerprint, response, drop } = replay(request)
            if (response !== undefined) return Stream.fromIterable(eventsOf(response))
            const live: Stream.Stream<Response.StreamEvent, LlmError> = model
              .stream(request)
              .pipe(
                Stream.mapEffect(
                  (event): Effect.Effect<Response.StreamEvent> =>
                    event._tag === "Completed"
                      ? Effect.as(persisted(record(step, fingerprint, event.response)), event)
                      : Effect.succeed(event)
                )
              )
            return drop === undefined ? live : Stream.unwrap(Effect.as(persisted(this.diverged(drop)), live))
          })
        ),
      generateObject: (request) => model.generateObject(request)
    }
  }

  /**
   * A tool call, journaled: a call whose result was journaled is answered from the journal. Calls are known by
   * their id within the model call that asked for them (the step): servers that give no ids (the client names
   * them `call_<position>`) or number them per answer repeat an id at every step, and a later step's call is
   * a new call.
   */
  tool<E, R>(
    call: Message.ToolCall,
    run: Effect.Effect<Message.ToolResult, E, R>
  ): Effect.Effect<Message.ToolResult, E, R> {
    return Effect.suspend(() => {
      const step = this.step
      const known = this.tools.get(stepKey(step, call.id)) ?? this.tools.get(stepKey(undefined, call.id))
      if (known !== undefined) return Effect.succeed(known.result)
      return Effect.tap(run, (result) =>
        Effect.orDie(
          Effect.suspend(() => {
            this.tools.set(stepKey(step, call.id), { seq: this.nextSeq, result })
            return this.append({ _tag: "Tool", id: call.id, step, result })
          })
        )
      )
    })
  }

  /**
   * The turn's answers from people, as a `Desk.Journal`: an answer (an approval's decision, say) is committed
   * before the turn goes on with it, and a question asked again by this turn run again gets it back. Answers
   * are known by their key within the model call whose tool call asked (as tool results are): the same
   * question asked at a later step is asked again.
   */
  desk(): Desk.Journal["Service"] {
    return {
      lookup: (key) =>
        Effect.sync(() =>
          Option.map(
            Option.fromUndefinedOr(
              this.answers.get(stepKey(this.step, key)) ?? this.answers.get(stepKey(undefined, key))
            ),
            (a) => a.answer
          )
        ),
      record: (key, answer, by) =>
        Effect.orDie(
          Effect.suspend(() => {
            // kept as JSON (what a page or a terminal sends; the question's check decodes it again)
            const json = JSON.parse(JSON.stringify(answer ?? null)) as Schema.Json
            const step = this.step
            this.answers.set(stepKey(step, key), { seq: this.nextSeq, answer: json })
            return this.append({ _tag: "Answer", key, step, answer: json, by })
          })
        )
    }
  }
}

/** A tool call's id or a question's key within its step (`*` for entries written without their step). */
const stepKey = (step: number | undefined, key: string): string => `${step ?? "*"}/${key}`

/** The journal of the turn being run, for the journaled tools. */
export const CurrentTurn = Context.Reference<TurnJournal | undefined>("@troupe/llm/DurableAgent/CurrentTurn", {
  defaultValue: () => undefined
})

/** A short, stable digest of what a model request asks. */
const fingerprintOf = (request: LanguageModel.Request): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        request.model ?? "",
        request.system ?? "",
        request.prompt,
        (request.tools ?? []).map((t) => t.name),
        request.output?.name ?? ""
      ])
    )
    .digest("base64url")

/** The stream events of a journaled response, replayed in one go. */
const eventsOf = (response: Response.Response): ReadonlyArray<Response.StreamEvent> => [
  ...(response.text.length > 0 ? [{ _tag: "TextDelta" as const, delta: response.text }] : []),
  ...response.toolCalls.map((call) => ({ _tag: "ToolCallDone" as const, call })),
  { _tag: "Completed" as const, response }
]
