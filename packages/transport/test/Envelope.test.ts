import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { ActorAddress, Envelope, NodeId } from "../src/index.ts"

const to = ActorAddress.make(NodeId.make("node-b"), "/user/counter")
const from = ActorAddress.make(NodeId.make("node-a"), "/user/client")
const valid: ReadonlyArray<unknown> = [
  Envelope.make({ kind: "tell", to, payload: null }),
  Envelope.make({
    kind: "ask",
    to,
    from,
    correlationId: "c-1",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    deadline: 1_700_000_000_000,
    payload: { _tag: "Get", keys: ["a", 1, true, null, { nested: [] }] }
  }),
  { ...Envelope.make({ kind: "reply", to, payload: "ok" }), seq: 7 },
  { kind: "system", to, payload: 0, extra: "ignored" }
]

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

const oddValues: ReadonlyArray<unknown> = [
  undefined,
  null,
  0,
  -1,
  1.5,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "tell",
  "node-b",
  "bad node!",
  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  "00-XYZ",
  true,
  [],
  [1, 2],
  {},
  { node: "node-b", path: "/x" },
  { node: "", path: "/x" },
  { node: "node-b" },
  new Date(0),
  new Map(),
  () => 1
]

const paths: ReadonlyArray<ReadonlyArray<string>> = [
  ["kind"],
  ["to"],
  ["to", "node"],
  ["to", "path"],
  ["from"],
  ["from", "node"],
  ["correlationId"],
  ["seq"],
  ["traceparent"],
  ["deadline"],
  ["payload"],
  ["payload", "x"]
]

/** Copies plain objects and arrays deeply; anything else is shared. */
const clone = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(clone)
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]))
  }
  return value
}

const mutate = (value: unknown, next: () => number): unknown => {
  const copy = clone(value) as Record<string, unknown>
  const path = paths[Math.floor(next() * paths.length)]!
  let target: Record<string, unknown> = copy
  for (const key of path.slice(0, -1)) {
    if (typeof target[key] !== "object" || target[key] === null) target[key] = {}
    target = target[key] as Record<string, unknown>
  }
  const key = path.at(-1)!
  if (next() < 0.2) delete target[key]
  else target[key] = oddValues[Math.floor(next() * oddValues.length)]
  return copy
}

/** The JSON the transport sends for an envelope made with a template (undefined: it is checked and stringified). */
const templatedJson = (envelope: Envelope.Envelope) => {
  const template = Envelope.templateFor(envelope)
  return template && template.head + JSON.stringify(envelope.payload) + template.tail
}

describe("Envelope", () => {
  it("accepts valid envelopes", () => {
    for (const envelope of valid) {
      assert.isTrue(Envelope.isEnvelope(envelope))
      assert.isTrue(Result.isSuccess(Envelope.decode(envelope)))
    }
  })

  it("the fast guard accepts exactly what the schema accepts", () => {
    const next = random(42)
    const is = Schema.is(Envelope.Envelope)
    let rejected = 0
    for (let i = 0; i < 20_000; i++) {
      let value = valid[i % valid.length]
      const mutations = 1 + Math.floor(next() * 3)
      for (let m = 0; m < mutations; m++) value = mutate(value, next)
      for (const candidate of [value, JSON.parse(JSON.stringify(value) ?? "null")]) {
        const expected = is(candidate)
        if (Envelope.isEnvelope(candidate) !== expected) {
          assert.fail(`guard and schema disagree (schema: ${expected}) on ${JSON.stringify(candidate)}`)
        }
        if (!expected) rejected++
      }
    }
    assert.isAbove(rejected, 10_000)
  })

  it("a templated envelope encodes to the bytes of make's envelope; one whose fields changed or whose payload is not JSON is left to the checks", () => {
    const next = random(7)
    let templated = 0
    let left = 0
    for (let i = 0; i < 20_000; i++) {
      let value = valid[i % valid.length]
      const mutations = Math.floor(next() * 3)
      for (let m = 0; m < mutations; m++) value = mutate(value, next)
      const { payload, ...fields } = value as Parameters<typeof Envelope.make>[0]
      const envelope = Envelope.fill(Envelope.template(fields), payload)
      const made = Envelope.make({ ...fields, payload })
      const json = templatedJson(envelope)
      if (Envelope.isEnvelope(made)) {
        assert.strictEqual(json, JSON.stringify(made))
        assert.deepStrictEqual(JSON.parse(json!), JSON.parse(JSON.stringify(envelope)))
        const template = Envelope.templateFor(envelope)!
        assert.strictEqual(template.bytes + Buffer.byteLength(JSON.stringify(payload)), Buffer.byteLength(json!))
        templated++
      } else {
        assert.isUndefined(json, JSON.stringify(made))
        left++
      }
    }
    assert.isAbove(templated, 5_000)
    assert.isAbove(left, 5_000)
    // the template copies the addresses: changing the caller's does not change what goes on the wire
    const mutable = { node: NodeId.make("node-b"), path: "/user/counter" }
    const template = Envelope.template({ kind: "tell", to: mutable, from })
    mutable.path = "/user/other"
    assert.include(templatedJson(Envelope.fill(template, 1)), '"path":"/user/counter"')
    // an envelope copied with other fields is not the template's any more
    const copied = { ...Envelope.fill(template, 1), to: mutable }
    assert.isUndefined(templatedJson(copied))
    assert.isUndefined(templatedJson(Envelope.fill(template, Number.NaN)))
    // bytes beyond ASCII, in the fields and in the payload
    const wide = Envelope.template({ kind: "tell", to: ActorAddress.make(NodeId.make("node-b"), "/user/café") })
    const json = templatedJson(Envelope.fill(wide, { text: "ü € 😀" }))!
    assert.strictEqual(json, JSON.stringify(Envelope.make({ ...wide.fields, payload: { text: "ü € 😀" } })))
    assert.strictEqual(wide.bytes + Buffer.byteLength(JSON.stringify({ text: "ü € 😀" })), Buffer.byteLength(json))
  })

  it("a request template's envelope encodes to the bytes of make's envelope whatever its id and deadline; one it cannot write is left to the checks", () => {
    const next = random(11)
    const ids: ReadonlyArray<unknown> = [
      undefined,
      "1",
      "12345678",
      "c-1",
      "",
      'q"uote',
      "back\\slash",
      "é",
      "\n",
      "x".repeat(65),
      7
    ]
    const deadlines: ReadonlyArray<unknown> = [
      undefined,
      1_700_000_000_123,
      0,
      -0,
      1.5,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      "1"
    ]
    let templated = 0
    let left = 0
    for (let i = 0; i < 20_000; i++) {
      let value = valid[i % valid.length]
      const mutations = Math.floor(next() * 3)
      for (let m = 0; m < mutations; m++) value = mutate(value, next)
      const {
        payload,
        correlationId: _id,
        deadline: _deadline,
        traceparent,
        ...fields
      } = value as Parameters<typeof Envelope.make>[0]
      const correlationId = ids[Math.floor(next() * ids.length)] as string | undefined
      const deadline = deadlines[Math.floor(next() * deadlines.length)] as number | undefined
      // a trace context given anyway (an untyped caller): the template writes nothing, the envelope keeps it
      const template = Envelope.requestTemplate(
        next() < 0.1 ? ({ ...fields, traceparent } as Parameters<typeof Envelope.requestTemplate>[0]) : fields
      )
      const envelope = Envelope.fillRequest(template, payload, correlationId, deadline)
      const made = Envelope.make({ ...template.fields, payload, correlationId, deadline })
      const found = Envelope.templateFor(envelope)
      const json = found && found.head + JSON.stringify(payload) + Envelope.afterPayload(found, envelope) + found.tail
      // the same object make builds, key for key in the same order
      assert.deepStrictEqual(Object.keys(envelope), Object.keys(made))
      if (json !== undefined) {
        assert.isTrue(Envelope.isEnvelope(made), JSON.stringify(made))
        assert.strictEqual(json, JSON.stringify(made))
        templated++
      } else {
        // left whole: an invalid envelope, a trace context, or an id or deadline the template does not write
        const plainId =
          correlationId === undefined ||
          (typeof correlationId === "string" && /^[ -!#-[\]-~]{0,64}$/.test(correlationId))
        const plainDeadline = deadline === undefined || Number.isFinite(deadline)
        assert.isFalse(
          Envelope.isEnvelope(made) && traceparent === undefined && plainId && plainDeadline,
          JSON.stringify(made)
        )
        left++
      }
    }
    assert.isAbove(templated, 3_000)
    assert.isAbove(left, 3_000)
    // an envelope copied with another sender is not the template's any more
    const asks = Envelope.requestTemplate({ kind: "ask", to, from })
    assert.isUndefined(Envelope.templateFor({ ...Envelope.fillRequest(asks, 1, "1", 5), from: to }))
    // a tell template is not a request template: its id and deadline are its own
    const tells = Envelope.template({ kind: "tell", to, correlationId: "fixed" })
    assert.isFalse(tells.request)
    assert.strictEqual(Envelope.afterPayload(tells, Envelope.fill(tells, 1)), "")
  })

  it("refuses payloads nested deeper than MAX_PAYLOAD_DEPTH, without exhausting the stack", () => {
    const nest = (levels: number): unknown => {
      let value: unknown = "core"
      for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { _tag: value } : [value]
      return value
    }
    const is = Schema.is(Envelope.Envelope)
    const at = (levels: number) => ({ kind: "ask", to, correlationId: "c", payload: nest(levels) })
    assert.isTrue(Envelope.isEnvelope(at(Envelope.MAX_PAYLOAD_DEPTH)))
    assert.isTrue(is(at(Envelope.MAX_PAYLOAD_DEPTH)))
    assert.isFalse(Envelope.isEnvelope(at(Envelope.MAX_PAYLOAD_DEPTH + 1)))
    assert.isFalse(is(at(Envelope.MAX_PAYLOAD_DEPTH + 1)))
    for (const levels of [Envelope.MAX_PAYLOAD_DEPTH + 1, 8000, 100_000]) {
      const decoded = Envelope.decode(at(levels))
      assert.deepStrictEqual(Result.isFailure(decoded) && decoded.failure, {
        field: "payload",
        message: `nested deeper than ${Envelope.MAX_PAYLOAD_DEPTH} levels`
      })
    }
  })

  it("names the offending field", () => {
    const problem = (value: unknown) => {
      const decoded = Envelope.decode(value)
      return Result.isFailure(decoded) ? decoded.failure : undefined
    }
    assert.strictEqual(problem({ kind: "shout", to, payload: 1 })?.field, "kind")
    assert.strictEqual(problem({ kind: "tell", to: { node: "bad node", path: "/" }, payload: 1 })?.field, "to.node")
    assert.strictEqual(problem({ kind: "tell", to })?.field, "payload")
    assert.strictEqual(problem({ kind: "tell", to, payload: 1, traceparent: "nope" })?.field, "traceparent")
    assert.strictEqual(problem("garbage")?.field, "")
  })
})

describe("NodeId", () => {
  it("validates node ids", () => {
    assert.strictEqual(NodeId.make("worker-1.eu:7@x"), "worker-1.eu:7@x")
    assert.throws(() => NodeId.make(""))
    assert.throws(() => NodeId.make("-leading-dash"))
    assert.throws(() => NodeId.make("x".repeat(129)))
    assert.isTrue(NodeId.isNodeId(NodeId.random()))
    assert.notStrictEqual(NodeId.makeIncarnation(), NodeId.makeIncarnation())
  })
})
