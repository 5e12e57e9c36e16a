/**
 * What the type checker says about role programs, read from `tsc` itself: a wrong move names the legal
 * moves ("expected one of: send quote(number) to A"), not an argument count; a mistake does not cascade
 * into errors further down; and protocols of any length, depth or number of choices type-check without
 * TS2589 ("excessively deep"), a list longer than `MAX_TYPED_STEPS` falling back to untyped moves.
 *
 * The programs are written to a directory under `out/` (which the repository's typecheck leaves alone)
 * and compiled there with the repository's compiler and settings.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..", "..")
const dir = join(root, "out", `type-errors-${process.pid}`)

const header = `import { Effect, Schema } from "effect"
import { Choreography, type Endpoint } from "../../packages/choreography/src/index.ts"
const V = Schema.Void
export const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
  $.message("A", "S", "title", Schema.String),
  $.message("S", "A", "quote", Schema.Number),
  $.message("S", "B", "quote", Schema.Number),
  $.message("A", "B", "split", Schema.Number),
  $.choice("B", {
    accept: [$.message("B", "A", "accept", V), $.message("A", "S", "buy", Schema.String)],
    reject: [$.message("B", "A", "reject", V), $.message("A", "S", "cancel", V)]
  })
])
export { Effect, V }
`

/** `n` nested choices of A: branch in<i> goes one level deeper, branch out<i> ends. */
const nested = (n: number): string => {
  let step = `$.message("A", "B", "last", V)`
  for (let i = n - 1; i >= 0; i--)
    step = `$.choice("A", { in${i}: [$.message("A", "B", "in${i}", V), ${step}], out${i}: [$.message("A", "B", "out${i}", V)] })`
  return `[${step}]`
}

const files: Record<string, string> = {
  "wrong-label.ts": `${header}
export const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">) => Effect.gen(function* () {
  const title = yield* ep.receive()
  const quoted = yield* title.next.send("A", "price", 42)
  // Typed as if the mistake above were fixed: the next moves are checked against what should follow.
  const quotedB = yield* quoted.send("B", "quote", 42)
  const decision = yield* quotedB.receive()
  const label: "buy" | "cancel" = decision.label
  return yield* decision.next.close().pipe(Effect.as(label))
})
`,
  "missing-payload.ts": `${header}
export const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">) => Effect.gen(function* () {
  const title = yield* ep.receive()
  return yield* title.next.send("A", "quote")
})
`,
  "wrong-peer.ts": `${header}
export const chooser = (ep: Endpoint.For<typeof TwoBuyer, "B">) => Effect.gen(function* () {
  const quote = yield* ep.receive()
  const split = yield* quote.next.receive()
  return yield* split.next.send("S", "accept")
})
`,
  "send-when-receiving.ts": `${header}
export const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">) => Effect.gen(function* () {
  const sent = yield* ep.send("A", "quote", 1)
  return yield* sent.close()
})
`,
  "receive-when-sending.ts": `${header}
export const buyer = (ep: Endpoint.For<typeof TwoBuyer, "A">) => Effect.gen(function* () {
  const got = yield* ep.receive()
  return got.label
})
`,
  "close-early.ts": `${header}
export const buyer = (ep: Endpoint.For<typeof TwoBuyer, "A">) => ep.close()
`,
  "after-the-end.ts": `${header}
export const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">) => Effect.gen(function* () {
  const title = yield* ep.receive()
  const a = yield* title.next.send("A", "quote", 1)
  const b = yield* a.send("B", "quote", 1)
  const decision = yield* b.receive()
  return yield* decision.next.send("A", "thanks")
})
`,
  "large.ts": `${header}
// 3,000 messages: longer than MAX_TYPED_STEPS, so untyped moves (checked at run time), and no TS2589.
export const Long = Choreography.makeUnsafe("Long", ["A", "B"], ($) => [
${Array.from({ length: 3000 }, (_, i) => `  $.message("${i % 2 ? "B" : "A"}", "${i % 2 ? "A" : "B"}", "m${i}", V),`).join("\n")}
])
export const long = (ep: Endpoint.For<typeof Long, "A">) => ep.send("B", "m0").pipe(Effect.flatMap((next) => next.receive()))
// 300 nested choices, walked to the innermost, typed all the way.
export const Deep = Choreography.makeUnsafe("Deep", ["A", "B"], ($) => ${nested(300)})
export const deep = (ep: Endpoint.For<typeof Deep, "A">) => Effect.gen(function* () {
  const e0 = yield* ep.send("B", "in0")
${Array.from({ length: 299 }, (_, i) => `  const e${i + 1} = yield* e${i}.send("B", "in${i + 1}")`).join("\n")}
  const last = yield* e299.send("B", "last")
  return yield* last.close()
})
// 100 sequential choices, walked: each step typed.
export const Choices = Choreography.makeUnsafe("Choices", ["A", "B"], ($) => [
${Array.from({ length: 100 }, (_, i) => `  $.choice("A", { a${i}: [$.message("A", "B", "a${i}", V)], b${i}: [$.message("A", "B", "b${i}", V)] }),`).join("\n")}
])
export const choices = (ep: Endpoint.For<typeof Choices, "B">) => Effect.gen(function* () {
${Array.from({ length: 100 }, (_, i) => `  const r${i} = yield* ${i === 0 ? "ep" : `r${i - 1}.next`}.receive()`).join("\n")}
  const label: "a99" | "b99" = r99.label
  return yield* r99.next.close().pipe(Effect.as(label))
})
`
}

let output = ""

beforeAll(() => {
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ extends: "../../tsconfig.base.json", include: Object.keys(files) })
  )
  const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], {
    cwd: root,
    encoding: "utf8"
  })
  output = tsc.stdout + tsc.stderr
}, 120_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The errors of one file, one entry per error (its first line and the lines that explain it). */
const errorsOf = (file: string): ReadonlyArray<string> =>
  output
    .split(/\n(?=\S)/)
    .filter((e) => e.startsWith(`${join("out", `type-errors-${process.pid}`, file)}(`))
    .map((e) => e.replace(/\s+/g, " "))

describe("type errors in role programs", () => {
  it("a label the state does not offer names the legal moves; what follows is not an error", () => {
    const errors = errorsOf("wrong-label.ts")
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('"expected one of: send quote(number) to A"')
  })

  it("a missing payload names the legal moves, not an argument count", () => {
    const errors = errorsOf("missing-payload.ts")
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('"expected one of: send quote(number) to A"')
    expect(errors[0]).not.toContain("Expected 3 arguments")
  })

  it("a send to the wrong peer names the chooser's legal moves", () => {
    const errors = errorsOf("wrong-peer.ts")
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(
      /"expected one of: send (accept\(\) to A, send reject\(\)|reject\(\) to A, send accept\(\)) to A"/
    )
  })

  it("a send while the role must receive names what it receives", () => {
    const errors = errorsOf("send-when-receiving.ts")
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('"expected one of: receive title(string) from A"')
  })

  it("a receive while the role must send, or a close before the end, names what it must send", () => {
    expect(errorsOf("receive-when-sending.ts")).toEqual([
      expect.stringContaining('"expected one of: send title(string) to S"')
    ])
    expect(errorsOf("close-early.ts")).toEqual([expect.stringContaining('"expected one of: send title(string) to S"')])
  })

  it("a move after the end says the role is done", () => {
    expect(errorsOf("after-the-end.ts")).toEqual([
      expect.stringContaining('"expected one of: close() (the role is done)"')
    ])
  })

  it("long, deep and choice-heavy protocols type-check (no TS2589); the longest falls back to untyped moves", () => {
    expect(errorsOf("large.ts")).toEqual([])
    expect(output).not.toContain("TS2589")
  })
})
