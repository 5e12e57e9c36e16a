/**
 * Decision by vote: the rules (majority, unanimity, quorum) over real runs; voters that fail, die or miss
 * the deadline are counted as the rule says and never hang the vote; early stop interrupts the voters still
 * out; LLM voters on the scripted model get the log as context; the log is durable in SQLite storage (read
 * back by a new layer); a later session's monitor refuses a move against a logged decision.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Choreography, Monitor } from "@troupe/choreography"
import { ScriptedModel, Turn } from "@troupe/llm"
import { Storage } from "@troupe/runtime"
import { Effect, Exit, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Decision, DecisionLog, FanOut, Voter } from "../src/index.ts"

const yes = (name: string, reason = "fine by me") => Voter.make(name, () => Effect.succeed({ vote: "yes", reason }))
const no = (name: string, reason = "I disagree") => Voter.make(name, () => Effect.succeed({ vote: "no", reason }))
const proposal = { topic: "storage", choice: "SQLite", rationale: "one file, no server" }
const run = <A, E>(effect: Effect.Effect<A, E, DecisionLog.DecisionLog>) =>
  Effect.runPromise(effect.pipe(Effect.provide(DecisionLog.layerMemory())))

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe("rules", () => {
  it("majority, unanimity and quorum settle the same ballots differently; the trace follows the protocol", async () => {
    const voters = [yes("a"), yes("b"), no("c", "IndexedDB keeps it offline")]
    const [maj, una, q2, q3] = await run(
      Effect.all([
        Decision.decide({ proposal, voters, rule: Decision.majority }),
        Decision.decide({ proposal, voters, rule: Decision.unanimity }),
        Decision.decide({ proposal, voters, rule: Decision.quorum(2) }),
        Decision.decide({ proposal, voters, rule: Decision.quorum(3) })
      ])
    )
    expect([maj.accepted, una.accepted, q2.accepted, q3.accepted]).toEqual([true, false, true, false])
    expect(maj).toMatchObject({ yes: 2, no: 1, absent: 0, rule: "majority" })
    expect(maj.ballots[2]).toEqual({ voter: "c", vote: "no", reason: "IndexedDB keeps it offline" })
    const sent = maj.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}>${e.to}:${e.label}`)
    expect(sent).toEqual([
      "Proposer>Voter[0]:propose",
      "Proposer>Voter[1]:propose",
      "Proposer>Voter[2]:propose",
      "Voter[0]>Proposer:ballot",
      "Voter[1]>Proposer:ballot",
      "Voter[2]>Proposer:ballot",
      "Proposer>Voter[0]:outcome",
      "Proposer>Voter[1]:outcome",
      "Proposer>Voter[2]:outcome"
    ])
  })

  it("refuses a rule that cannot settle the vote", async () => {
    const exit = await Effect.runPromiseExit(
      Decision.decide({ proposal, voters: [yes("a")], rule: Decision.quorum(2) })
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("k must be a whole number from 1 to 1")
  })
})

describe("voters that fail, die or are late", () => {
  it("count as the rule says (absent: abstain or against), with why; nothing hangs", async () => {
    const voters = [
      yes("a"),
      Voter.make("crashes", () => Effect.die(new Error("segfault in the model server"))),
      Voter.make("fails", () => Effect.fail("rate limited")),
      Voter.make("sleeps", () => Effect.never),
      Voter.make("garbage", () => Effect.succeed({ vote: "maybe", reason: "?" } as never))
    ]
    const abstain = await run(Decision.decide({ proposal, voters, rule: Decision.majority, deadline: "50 millis" }))
    expect(abstain).toMatchObject({ accepted: true, yes: 1, no: 0, absent: 4 })
    expect(abstain.ballots.map((b) => b.reason)).toEqual([
      "fine by me",
      "failed: segfault in the model server",
      "failed: rate limited",
      "did not vote within 50ms",
      expect.stringContaining("failed: ")
    ])
    const against = await run(
      Decision.decide({ proposal, voters, rule: Decision.majority, deadline: "50 millis", absent: "against" })
    )
    expect(against).toMatchObject({ accepted: false, yes: 1, absent: 4 })
  })

  it("early stop: once the outcome cannot change, the voters still out are interrupted and cast absent", async () => {
    let interrupted = 0
    const slow = (name: string) =>
      Voter.make(name, () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++))))
    const decided = await run(
      Decision.decide({
        proposal,
        voters: [yes("a"), yes("b"), slow("c"), slow("d"), yes("e")],
        rule: Decision.quorum(3),
        earlyStop: true
      })
    )
    expect(decided).toMatchObject({ accepted: true, yes: 3, absent: 2 })
    expect(interrupted).toBe(2)
    expect(decided.ballots[2]!.reason).toContain("stopped early")
  })

  it("settle: undecided while open ballots could still change the outcome", () => {
    expect(Decision.settle(Decision.majority, { yes: 2, no: 0, absent: 0 }, 3, "abstain")).toBeUndefined()
    expect(Decision.settle(Decision.majority, { yes: 3, no: 0, absent: 0 }, 2, "abstain")).toBe(true)
    expect(Decision.settle(Decision.unanimity, { yes: 3, no: 1, absent: 0 }, 5, "abstain")).toBe(false)
  })
})

describe("LLM voters and the decision log", () => {
  /** The scripted model answers as each voter: a no from "frontend", yes from the others. */
  const model = ScriptedModel.layer((request) => {
    const text = JSON.stringify(request.messages)
    return Turn.object(
      text.includes("You are frontend")
        ? { vote: "no", reason: "IndexedDB would let the app work offline" }
        : { vote: "yes", reason: "SQLite is one file and easy to back up" }
    )
  })

  it("each voter is asked with the proposal, the rule and the log so far; outcomes go to the log", async () => {
    const voters = ["backend", "frontend", "qa"].map((name) => Voter.llm({ name, system: "You build a recipe app." }))
    const { first, second, log, requests } = await Effect.runPromise(
      Effect.gen(function* () {
        const first = yield* Decision.decide({ proposal, voters, rule: Decision.majority })
        const second = yield* Decision.decide({
          proposal: { topic: "library", choice: "drizzle-orm" },
          voters,
          rule: Decision.majority
        })
        return { first, second, log: yield* DecisionLog.entries, requests: yield* ScriptedModel.requests }
      }).pipe(Effect.provide(Layer.merge(model, DecisionLog.layerMemory())))
    )
    expect(first).toMatchObject({ accepted: true, yes: 2, no: 1 })
    expect(second.entry?.seq).toBe(2)
    expect(log.map((e) => `${e.seq} ${e.topic}: ${e.choice} ${e.accepted}`)).toEqual([
      "1 storage: SQLite true",
      "2 library: drizzle-orm true"
    ])
    // The second vote's voters read the first decision, dissent included.
    const later = JSON.stringify(requests.at(-1)!.messages)
    expect(later).toContain("#1 storage: SQLite: ACCEPTED (2 yes, 1 no, 0 absent; majority)")
    expect(later).toContain("frontend: no: IndexedDB would let the app work offline")
  })

  it("the log is durable: a new layer over the same SQLite file reads back every decision", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-decisions-"))
    dirs.push(dir)
    const storage = Storage.layerSqlite({ filename: join(dir, "team.db") })
    const withLog = <A, E>(effect: Effect.Effect<A, E, DecisionLog.DecisionLog>) =>
      Effect.runPromise(effect.pipe(Effect.provide(DecisionLog.layerDurable("recipes")), Effect.provide(storage)))
    await withLog(Decision.decide({ proposal, voters: [yes("a"), no("b"), yes("c")], rule: Decision.majority }))
    await withLog(
      Decision.decide({ proposal: { topic: "ui", choice: "React" }, voters: [yes("a")], rule: Decision.majority })
    )
    const back = await withLog(DecisionLog.entries)
    expect(back.map((e) => [e.seq, e.topic, e.choice, e.yes, e.no])).toEqual([
      [1, "storage", "SQLite", 2, 1],
      [2, "ui", "React", 1, 0]
    ])
    expect(back[0]!.ballots[1]).toEqual({ voter: "b", vote: "no", reason: "I disagree" })
  })

  it("a later protocol refined by the log: its monitor refuses a move against a logged decision, naming it", async () => {
    const log = await run(
      Effect.andThen(
        Decision.decide({ proposal, voters: [yes("a"), yes("b")], rule: Decision.majority }),
        DecisionLog.entries
      )
    )
    const Change = DecisionLog.refine(Schema.Struct({ file: Schema.String, storage: Schema.String }), log, (c) => ({
      storage: c.storage
    }))
    const Build = Choreography.makeUnsafe("Build", ["Lead", "Builder"], ($) => [
      $.message("Builder", "Lead", "change", Change)
    ])
    const monitor = Monitor.make(Build, "Builder", "build-1")
    const wrong = Monitor.send(monitor, monitor.start, "Lead", "change", { file: "db.ts", storage: "MongoDB" })
    expect(Monitor.isViolation(wrong) && wrong.reason).toBe("payload")
    expect(Monitor.isViolation(wrong) && wrong.message).toContain(
      "goes against decision #1 (storage: SQLite, accepted 2-0)"
    )
    const right = Monitor.send(monitor, monitor.start, "Lead", "change", { file: "db.ts", storage: "sqlite" })
    expect(Monitor.isViolation(right)).toBe(false)
  })
})

describe("fan-out with quorum and early stop", () => {
  it("takes the first answer a quorum agrees on and interrupts the rest (not paid)", async () => {
    let interrupted = 0
    const slow = FanOut.worker("slow", () =>
      Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
    )
    const gathered = await Effect.runPromise(
      FanOut.gather({
        task: "17 × 23?",
        workers: [
          FanOut.worker("a", () => Effect.succeed("391")),
          FanOut.worker("b", () => Effect.succeed("381")),
          FanOut.worker("broken", () => Effect.fail("model down")),
          slow,
          FanOut.worker("c", () => Effect.succeed("391")),
          slow
        ],
        quorum: 2
      })
    )
    expect(gathered).toMatchObject({ answer: "391", agreed: ["a", "c"], stopped: ["slow", "slow"] })
    expect(interrupted).toBe(2)
  })

  it("ends with NoQuorum as soon as agreement is impossible", async () => {
    const exit = await Effect.runPromiseExit(
      FanOut.gather({
        task: "?",
        workers: [
          FanOut.worker("a", () => Effect.succeed(1)),
          FanOut.worker("b", () => Effect.succeed(2)),
          FanOut.worker("c", () => Effect.fail("x"))
        ],
        quorum: 2
      })
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("No 2 workers agreed")
    const invalid = await Effect.runPromiseExit(
      FanOut.gather({ task: "?", workers: [FanOut.worker("a", () => Effect.succeed(1))], quorum: 2 })
    )
    expect(Exit.isFailure(invalid) && String(invalid.cause)).toContain("A quorum of 2 among 1 workers")
  })
})

describe("options that are not what they should be", () => {
  it("a deadline that is not a duration is InvalidDecision naming it, and no voter is asked", async () => {
    let asked = 0
    const counted = Voter.make("counted", () =>
      Effect.sync(() => asked++).pipe(Effect.as({ vote: "yes", reason: "ok" }))
    )
    for (const [deadline, given] of [
      ["30 sec", '"30 sec"'],
      [Number.NaN, "NaN"],
      [-1, "-1"]
    ] as const) {
      const exit = await Effect.runPromiseExit(
        Decision.decide({ proposal, voters: [counted], rule: Decision.majority, deadline: deadline as never })
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error?: unknown }).error : undefined
      expect(error).toBeInstanceOf(Decision.InvalidDecision)
      expect((error as Error).message).toContain(`deadline is ${given}`)
      expect((error as Error).message).toContain('"30 seconds"')
    }
    expect(asked).toBe(0)
  })
})
