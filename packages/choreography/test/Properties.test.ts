/**
 * Properties of the language on random protocols (fast-check): random protocols that the checker accepts
 * are run by their roles' state machines alone, asynchronously (FIFO channels, random interleavings and
 * choices), and
 *
 * - every run ends with every role at its end and every channel empty (no deadlock, no orphan message),
 * - every run is a trace of the global protocol: some path through the global protocol projects, role by
 *   role, onto exactly what each role did (checked by an interpreter of the steps written here, apart
 *   from projection),
 * - a run with one message changed (its label, its payload, dropped or sent twice) that is no longer a
 *   trace of the global protocol is caught by the monitors of its roles.
 *
 * 300 random protocols by default; `TROUPE_PROPERTY_RUNS=5000` for a longer search.
 */

import { Effect, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Choreography, Monitor, type StateMachine } from "../src/index.ts"

type Role = "A" | "B" | "C" | "D"
const ROLES: ReadonlyArray<Role> = ["A", "B", "C", "D"]

/** A random protocol, before it is made into steps. */
type Spec =
  | { readonly kind: "message"; readonly from: Role; readonly to: Role; readonly payload: "void" | "number" }
  | {
      readonly kind: "choice"
      readonly at: Role
      readonly to: Role
      readonly tell: ReadonlyArray<boolean>
      readonly branches: ReadonlyArray<ReadonlyArray<Spec>>
    }
  | {
      readonly kind: "loop"
      readonly at: Role
      readonly to: Role
      readonly tell: ReadonlyArray<boolean>
      readonly body: ReadonlyArray<Spec>
    }

const role = fc.constantFrom(...ROLES)
const pair = fc.tuple(role, role).filter(([a, b]) => a !== b)
const tell = fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })

const { spec } = fc.letrec<{ spec: ReadonlyArray<Spec>; step: Spec }>((tie) => ({
  spec: fc.array(tie("step"), { minLength: 1, maxLength: 3 }),
  step: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    {
      arbitrary: fc
        .record({
          kind: fc.constant("message" as const),
          from: role,
          to: role,
          payload: fc.constantFrom("void" as const, "number" as const)
        })
        .filter((m) => m.from !== m.to),
      weight: 4
    },
    {
      arbitrary: fc
        .record({ ends: pair, tell, branches: fc.array(tie("spec"), { minLength: 2, maxLength: 3 }) })
        .map(({ ends: [at, to], tell, branches }) => ({ kind: "choice" as const, at, to, tell, branches })),
      weight: 1
    },
    {
      arbitrary: fc
        .record({ ends: pair, tell, body: tie("spec") })
        .map(({ ends: [at, to], tell, body }) => ({ kind: "loop" as const, at, to, tell, body })),
      weight: 1
    }
  )
}))

/** The steps of a spec. A choice is told to its receiver, then to the roles `tell` picks; a loop ends with a choice to go again or stop. */
const stepsOf = (specs: ReadonlyArray<Spec>): Choreography.Steps => {
  let n = 0
  const V = Schema.Void
  const payloadOf = (p: "void" | "number") => (p === "void" ? V : Schema.Number)
  const announce = (at: Role, to: Role, tells: ReadonlyArray<boolean>, label: string): Array<Choreography.Step> => [
    { _tag: "Message", from: at, to, label, payload: V },
    ...ROLES.filter((r, i) => r !== at && r !== to && tells[i]).map(
      (r): Choreography.Step => ({ _tag: "Message", from: at, to: r, label, payload: V })
    )
  ]
  const go = (list: ReadonlyArray<Spec>): Array<Choreography.Step> =>
    list.map((s): Choreography.Step => {
      const id = n++
      switch (s.kind) {
        case "message":
          return { _tag: "Message", from: s.from, to: s.to, label: `m${id}`, payload: payloadOf(s.payload) }
        case "choice":
          return {
            _tag: "Choice",
            at: s.at,
            branches: Object.fromEntries(
              s.branches.map((b, i) => [`c${id}b${i}`, [...announce(s.at, s.to, s.tell, `c${id}b${i}`), ...go(b)]])
            )
          }
        default: // a loop
          return {
            _tag: "Loop",
            name: `L${id}`,
            body: [
              ...go(s.body),
              {
                _tag: "Choice",
                at: s.at,
                branches: {
                  [`again${id}`]: [...announce(s.at, s.to, s.tell, `again${id}`), { _tag: "Continue", name: `L${id}` }],
                  [`exit${id}`]: announce(s.at, s.to, s.tell, `exit${id}`)
                }
              }
            ]
          }
      }
    })
  return go(specs)
}

/** One move of a role, as it sees it. */
interface Event {
  readonly dir: "!" | "?"
  readonly peer: string
  readonly label: string
  readonly payload: unknown
}

/** A small deterministic random source, from a seed fast-check draws. */
const random = (seed: number) => {
  let s = seed >>> 0 || 1
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s % n
  }
}

/** Runs the roles' machines against each other; the events of each role, or why the run went wrong. */
const run = (protocol: Choreography.Protocol, seed: number): Map<string, Array<Event>> | string | undefined => {
  const pick = random(seed)
  const machines = new Map(protocol.roles.map((r) => [r, protocol.machines.get(r)!] as const))
  const state = new Map(protocol.roles.map((r) => [r, machines.get(r)!.start] as const))
  const channels = new Map<string, Array<{ label: string; payload: unknown }>>()
  const events = new Map(protocol.roles.map((r) => [r, [] as Array<Event>] as const))
  const channel = (from: string, to: string) => {
    let c = channels.get(`${from}>${to}`)
    if (c === undefined) channels.set(`${from}>${to}`, (c = []))
    return c
  }
  for (let steps = 0; steps < 600; steps++) {
    const enabled: Array<() => string | undefined> = []
    for (const r of protocol.roles) {
      const s: StateMachine.State = machines.get(r)!.states[state.get(r)!]!
      if (s.kind === "send") {
        // After a while, a loop's way out is taken whenever there is one, so that runs end.
        const exits = s.transitions.filter((t) => t.label.startsWith("exit"))
        const choices = steps > 60 && exits.length > 0 ? exits : s.transitions
        enabled.push(() => {
          const t = choices[pick(choices.length)]!
          const payload = t.payload.ast._tag === "Number" ? pick(100) : undefined
          channel(r, t.peer).push({ label: t.label, payload })
          events.get(r)!.push({ dir: "!", peer: t.peer, label: t.label, payload })
          state.set(r, t.to)
          return undefined
        })
      } else if (s.kind === "receive" && channel(s.peer!, r).length > 0)
        enabled.push(() => {
          const m = channel(s.peer!, r).shift()!
          const t = s.transitions.find((t) => t.label === m.label)
          if (t === undefined) return `${r} in state ${s.id} cannot take ${s.peer}?${m.label}`
          events.get(r)!.push({ dir: "?", peer: s.peer!, label: m.label, payload: m.payload })
          state.set(r, t.to)
          return undefined
        })
    }
    if (enabled.length === 0) {
      const stuck = protocol.roles.filter((r) => machines.get(r)!.states[state.get(r)!]!.kind !== "end")
      const orphans = [...channels].filter(([, c]) => c.length > 0).map(([k]) => k)
      if (stuck.length > 0) return `deadlock: ${stuck.join(", ")} cannot move`
      if (orphans.length > 0) return `messages never received on ${orphans.join(", ")}`
      return events
    }
    const failure = enabled[pick(enabled.length)]!()
    if (failure !== undefined) return failure
  }
  return undefined
}

/**
 * Whether `events` (each role's moves) is a trace of the global protocol `steps`: some path through the
 * steps whose messages, seen by each role, are exactly its events. An interpreter of the steps, written
 * apart from projection.
 */
const isTrace = (
  steps: Choreography.Steps,
  roles: ReadonlyArray<string>,
  events: ReadonlyMap<string, ReadonlyArray<Event>>
): boolean => {
  /** Where the protocol is: the rest of each enclosing list, innermost first; a loop's list marks its start. */
  interface Frame {
    readonly list: Choreography.Steps
    readonly index: number
    readonly loop?: { readonly name: string; readonly body: Choreography.Steps }
  }
  const seen = new Set<string>()
  const search = (frames: ReadonlyArray<Frame>, at: ReadonlyMap<string, number>): boolean => {
    const key = `${frames.map((f) => `${f.index}@${f.list.length}:${f.loop?.name ?? ""}`).join("/")}|${roles.map((r) => at.get(r)).join(",")}|${frames.map((f) => stepsId(f.list)).join(",")}`
    if (seen.has(key)) return false
    seen.add(key)
    const top = frames[0]
    if (top === undefined) return roles.every((r) => at.get(r) === events.get(r)!.length)
    if (top.index >= top.list.length) return search(frames.slice(1), at)
    const step = top.list[top.index]!
    const after: ReadonlyArray<Frame> = [{ ...top, index: top.index + 1 }, ...frames.slice(1)]
    switch (step._tag) {
      case "Message": {
        const send = events.get(step.from)![at.get(step.from)!]
        const receive = events.get(step.to)![at.get(step.to)!]
        if (send === undefined || receive === undefined) return false
        const fits = (e: Event, dir: "!" | "?", peer: string) =>
          e.dir === dir && e.peer === peer && e.label === step.label && Schema.is(step.payload)(e.payload)
        if (!fits(send, "!", step.to) || !fits(receive, "?", step.from) || send.payload !== receive.payload)
          return false
        return search(after, new Map(at).set(step.from, at.get(step.from)! + 1).set(step.to, at.get(step.to)! + 1))
      }
      case "Choice":
        return Object.values(step.branches).some((b) => search([{ list: b, index: 0 }, ...after], at))
      case "Loop":
        return search([{ list: step.body, index: 0, loop: { name: step.name, body: step.body } }, ...after], at)
      case "Continue": {
        const i = frames.findIndex((f) => f.loop?.name === step.name)
        return search([{ ...frames[i]!, index: 0 }, ...frames.slice(i + 1)], at)
      }
      case "End":
        return roles.every((r) => at.get(r) === events.get(r)!.length)
      default:
        return false
    }
  }
  return search([{ list: steps, index: 0 }], new Map(roles.map((r) => [r, 0] as const)))
}

const ids = new WeakMap<object, number>()
let nextId = 0
const stepsId = (list: object) => {
  let id = ids.get(list)
  if (id === undefined) ids.set(list, (id = ++nextId))
  return id
}

/** Whether the monitors of the roles refuse `events`: a move out of protocol, or a role that does not reach its end. */
const caught = (protocol: Choreography.Protocol, events: ReadonlyMap<string, ReadonlyArray<Event>>): boolean =>
  protocol.roles.some((r) => {
    const m = Monitor.make(protocol, r, "s")
    let state = m.start
    for (const e of events.get(r)!) {
      const next =
        e.dir === "!"
          ? Monitor.send(m, state, e.peer, e.label, e.payload)
          : Monitor.receive(m, state, e.peer, e.label, e.payload)
      if (Monitor.isViolation(next)) return true
      state = next
    }
    return Monitor.isViolation(Monitor.close(m, state))
  })

type Mutation = "relabel" | "payload" | "drop" | "duplicate"

/** `events` with the `n`-th message (its send and its receive) changed by `mutation`. */
const mutate = (
  events: ReadonlyMap<string, ReadonlyArray<Event>>,
  n: number,
  mutation: Mutation,
  labels: ReadonlyArray<string>,
  pickLabel: number
) => {
  const sends = [...events].flatMap(([r, es]) => es.flatMap((e, i) => (e.dir === "!" ? [{ from: r, i, e }] : [])))
  if (sends.length === 0) return undefined
  const { from, i, e } = sends[n % sends.length]!
  // The matching receive: the k-th send from `from` to `e.peer` is the k-th receive there from `from`.
  const k = events
    .get(from)!
    .slice(0, i)
    .filter((x) => x.dir === "!" && x.peer === e.peer).length
  const at = events
    .get(e.peer)!
    .map((x, j) => [x, j] as const)
    .filter(([x]) => x.dir === "?" && x.peer === from)[k]![1]
  const out = new Map<string, Array<Event>>([...events].map(([r, es]) => [r, [...es]]))
  const sender = out.get(from)!
  const receiver = out.get(e.peer)!
  switch (mutation) {
    case "relabel": {
      const label = labels.filter((l) => l !== e.label)[pickLabel % Math.max(1, labels.length - 1)] ?? `${e.label}x`
      sender[i] = { ...e, label }
      receiver[at] = { ...receiver[at]!, label }
      break
    }
    case "payload":
      sender[i] = { ...e, payload: "not the payload" }
      receiver[at] = { ...receiver[at]!, payload: "not the payload" }
      break
    case "drop":
      sender.splice(i, 1)
      receiver.splice(at, 1)
      break
    case "duplicate":
      sender.splice(i, 0, e)
      receiver.splice(at, 0, receiver[at]!)
      break
  }
  return out
}

describe("properties of random protocols", () => {
  it("runs of the projections end cleanly and are traces of the global protocol; changed runs that are not are caught by the monitors", () => {
    let checked = 0
    let mutants = 0
    fc.assert(
      fc.property(
        spec,
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.nat(),
        fc.constantFrom<Mutation>("relabel", "payload", "drop", "duplicate"),
        fc.nat(),
        (specs, seed, n, mutation, pickLabel) => {
          const steps = stepsOf(specs)
          const used = ROLES.filter((r) => JSON.stringify(steps).includes(`"${r}"`))
          const made = Effect.runSync(Effect.result(Choreography.make("Random", used, () => steps)))
          if (made._tag === "Failure") return
          checked++
          const protocol = made.success
          const events = run(protocol, seed)
          expect(typeof events === "string" ? events : "ok").toBe("ok")
          if (events === undefined || typeof events === "string") return
          expect(isTrace(steps, protocol.roles, events)).toBe(true)
          expect(caught(protocol, events)).toBe(false)
          const labels = [...new Set([...events.values()].flatMap((es) => es.map((e) => e.label)))]
          const changed = mutate(events, n, mutation, labels, pickLabel)
          if (changed === undefined || isTrace(steps, protocol.roles, changed)) return
          mutants++
          expect(caught(protocol, changed)).toBe(true)
        }
      ),
      { numRuns: Number(process.env.TROUPE_PROPERTY_RUNS ?? 300) }
    )
    // The generator must give the checker enough well-formed protocols and the mutations enough bite.
    expect(checked).toBeGreaterThan(100)
    expect(mutants).toBeGreaterThan(50)
  })
})
