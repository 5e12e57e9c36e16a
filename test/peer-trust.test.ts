/**
 * A node trusts a peer no further than it must (issue 10). Each finding of the attack report is replayed
 * here by raw WebSocket attackers (test/support/raw-peer.ts speaks the wire by hand) against a node
 * started as the README says (a real `troupe node` process), while a well-behaved peer asks the node's
 * echo actor over and over: every one of its asks must succeed. Findings 1 and 2 wait for the failure
 * detector; by default they run against a node in the test process whose timings and limits are scaled
 * down, and with TROUPE_SOAK=1 against a `troupe node` with its defaults, at the report's sizes (24,000
 * ghosts). Finding 7 (what a peer without the secret can make a node hold) is in `peer-trust-resources.test.ts`.
 */
import { CloseCode } from "@troupe/transport"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import { expectAllAnswered, pool, until } from "./support/peer-trust.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { type GoodPeer, goodPeer, startTarget, startTargetThread, type Target } from "./support/target-node.ts"

afterAll(stopAll)
const SOAK = process.env.TROUPE_SOAK === "1"
vi.setConfig({ testTimeout: SOAK ? 900_000 : 300_000, hookTimeout: 300_000 })

/** An ask envelope from a raw peer to the target's echo actor. */
const ask = (from: string, n: number, payload: unknown = { _tag: "Echo", text: `attack ${n}` }) => ({
  kind: "ask",
  to: { node: "target", path: "/user/echo" },
  from: { node: from, path: "/temp/attacker" },
  correlationId: `c${n}`,
  deadline: Date.now() + 600_000,
  payload
})

/** What findings 1 and 2 need of a target: where it is, and when it declared a peer down. */
interface Subject {
  readonly url: string
  readonly secret: string
  readonly declaredDown: (node: string) => Promise<void>
  /** The peers it links with now, when it can say. */
  readonly links?: () => Promise<number>
  readonly stop: () => Promise<void>
}

/** The README's node (a `troupe node` process, default settings). */
const processSubject = async (): Promise<Subject & { readonly target: Target }> => {
  const target = await startTarget()
  return {
    target,
    url: target.url,
    secret: target.secret,
    declaredDown: (node) =>
      until(`${node} declared down`, () =>
        target.warnings().some((line) => line.includes(`peer=${node} `) && /link down.*reason=unreachable/.test(line))
      ),
    stop: async () => {
      target.child.process.kill("SIGINT")
      await target.child.exited()
    }
  }
}

/** A node in a worker thread with the same echo actor, and timings and limits scaled down ~10 times. */
const fastSubject = async (): Promise<Subject> => {
  const target = await startTargetThread({
    heartbeatMs: 100,
    // pauses of 2 s are borne: a thread on a machine at load 40 was seen to miss 500 ms, and its peer was
    // declared down (ghosts still expire in seconds, not the 24 days they declare)
    acceptablePauseMs: 2_000,
    maxPeerHeartbeatMs: 500,
    maxPeers: 100
  })
  return {
    url: target.url,
    secret: target.secret,
    declaredDown: async (node) => {
      expect((await target.down(node)).reason).toBe("unreachable")
    },
    links: target.links,
    stop: target.stop
  }
}

/** Finding 1: a peer declares a 24-day heartbeat interval, asks 8,000 times, never acknowledges, drops. */
const freeze = async (subject: Subject, downWithin: number) => {
  const good = await goodPeer(subject)
  try {
    await attackAndDrop(subject, good, downWithin)
  } finally {
    await good.stop()
    await subject.stop()
  }
}

const attackAndDrop = async (subject: Subject, good: GoodPeer, downWithin: number) => {
  await good.progress(5)
  const freezer = await RawPeer.open(subject.url)
  await RawPeer.join(freezer, RawPeer.identity("freezer"), subject.secret, { heartbeatInterval: 2 ** 31 - 1 })
  // 8,000 asks: within the node's receive window (8,192); a peer that sends more without acks is cut off at
  // once (packages/transport/test/ReceiveWindow.test.ts)
  const envelopes = Array.from({ length: 8000 }, (_, i) => ask("freezer", i))
  for (let first = 1; first <= 8000; first += 500) {
    freezer.send({ type: "data", ack: 0, first, envelopes: envelopes.slice(first - 1, first + 499) })
  }
  // it takes the replies without acknowledging them, then drops the socket
  await until("the replies to fill its window", () => freezer.bytesReceived() > 1_000_000)
  freezer.socket.terminate()
  const dropped = Date.now()
  await subject.declaredDown("freezer")
  // the declared interval is taken as the node's bound (maxPeerHeartbeatInterval)
  expect(Date.now() - dropped).toBeLessThan(downWithin)
  await expectAllAnswered(good)
}

/** Finding 2: ghosts (hello with a 24-day interval, the socket dropped): a cap on peers, they expire. */
const haunt = async (subject: Subject, ghosts: number, cap: number) => {
  const good = await goodPeer(subject)
  try {
    return await ghostsCome(subject, good, ghosts, cap)
  } finally {
    await good.stop()
  }
}

const ghostsCome = async (subject: Subject, good: GoodPeer, ghosts: number, cap: number) => {
  await good.progress(5)
  const outcomes = await pool(ghosts, 32, async (i) => {
    const ghost = await RawPeer.open(subject.url)
    try {
      await RawPeer.join(ghost, RawPeer.identity(`ghost-${i}`), subject.secret, { heartbeatInterval: 2 ** 31 - 1 })
      return "joined"
    } catch (refusal) {
      return String((refusal as { code?: number }).code)
    } finally {
      ghost.socket.terminate()
    }
  })
  const joined = outcomes.filter((c) => c === "joined").length
  // each joined, or was refused at the cap on peers; never more than the cap at once
  expect(joined + outcomes.filter((c) => c === String(CloseCode.Overloaded)).length).toBe(ghosts)
  if (subject.links !== undefined) expect(await subject.links()).toBeLessThanOrEqual(cap)
  // ghosts expire: they are declared down (their declared interval bounded), and the cap has room again
  await subject.declaredDown("ghost-0")
  let admitted = false
  for (let attempt = 0; attempt < 120 && !admitted; attempt++) {
    const late = await RawPeer.open(subject.url)
    admitted = await RawPeer.join(late, RawPeer.identity(`late-${attempt}`), subject.secret).then(
      () => true,
      () => false
    )
    late.socket.terminate()
    if (!admitted) await new Promise((resolve) => setTimeout(resolve, 250))
  }
  expect(admitted).toBe(true)
  await expectAllAnswered(good)
  return joined
}

describe("finding 1: a peer that declares a huge heartbeat interval, asks 8,000 times and goes silent", () => {
  it.concurrent("is declared down in bounded time; the well-behaved peer's asks all succeed (fast timings)", () =>
    fastSubject().then((subject) => freeze(subject, 15_000)))
  it.skipIf(!SOAK)("the same against a troupe node with its defaults (declared down within 30 s)", () =>
    processSubject().then((subject) => freeze(subject, 30_000))
  )
})

describe("finding 2: ghosts (hello, a huge interval, the socket dropped)", () => {
  it.concurrent("300 ghosts: a cap on peers (100), ghosts expire, the good peer's asks all succeed (fast timings)", () =>
    fastSubject().then((subject) => haunt(subject, 300, 100).finally(subject.stop)))
  it.skipIf(!SOAK)("24,000 ghosts against a troupe node: bounded memory, the cap (1000), expiry", async () => {
    const subject = await processSubject()
    const before = subject.target.rss()
    const joined = await haunt(subject, 24_000, 1000)
    const growth = subject.target.rss() - before
    // each ghost used to keep ~135 KB (24,000 of them exhausted the heap and crashed the node); now the cap
    // bounds how many live at once, and a link's resend buffer grows only as envelopes wait for acks
    console.log(`24000 ghosts: ${joined} joined, RSS +${growth >> 20} MB`)
    expect(growth).toBeLessThan(300 * 1024 * 1024)
    await subject.stop()
  })
})

describe("a node under attack by peers with and without the secret", () => {
  let target: Target
  let good: GoodPeer

  // the attacks run at once, against one node, while bob asks
  beforeAll(async () => {
    target = await startTarget()
    good = await goodPeer(target, { node: "bob" })
    await good.progress(5)
  }, 300_000) // a node's start is bounded by the child's own hang bound (it took over 30 s at load 20)

  it.concurrent("finding 3: a hello claiming bob's id with a fresh incarnation is refused (4010); bob stays linked", async () => {
    const impostor = await RawPeer.open(target.url)
    const refusal = await RawPeer.join(impostor, RawPeer.identity("bob"), target.secret).catch((error) => error)
    expect(refusal).toMatchObject({ code: CloseCode.IdInUse })
    expect(refusal.reason).toMatch(/node id bob is in use by a live incarnation/)
    await good.progress(20) // bob was not quarantined
  })

  it.concurrent("finding 4: bob's incarnation read off the wire does not let anyone continue bob's link", async () => {
    const stolen = RawPeer.identity("bob", good.incarnation)
    const hijacker = await RawPeer.open(target.url)
    const refusal = await RawPeer.join(hijacker, stolen, target.secret).catch((error) => error)
    expect(refusal).toMatchObject({ code: CloseCode.Unauthorized })
    expect(refusal.reason).toMatch(/linked with another key/)
    await good.progress(20)
  })

  it.concurrent("finding 9a: a text frame of invalid UTF-8 gets an error frame, not a 1007 close", async () => {
    // joined first: a node starved for longer than its 5 s handshake deadline would close a peer still without a
    // hello (4003) before it read the frame
    const peer = await RawPeer.open(target.url)
    await RawPeer.join(peer, RawPeer.identity("utf8"), target.secret)
    peer.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect(await RawPeer.nextWhere(peer, (f) => f.type === "error")).toMatchObject({ type: "error", code: "bad-frame" })
    expect(peer.isOpen()).toBe(true)
    peer.socket.close()
  })

  it.concurrent("finding 9b: a fragment bomb closes with 1008 (PolicyViolation, in the close-code table)", async () => {
    const peer = await RawPeer.open(target.url)
    // a thousand at a time: the 20,000 sends in one go kept this process's loop for ~0.7 s at load 18 (more under
    // more), and the concurrent findings' handshakes from this process missed the node's 5 s deadline (4003)
    for (let i = 0; i < 20_000 && peer.isOpen(); i++) {
      peer.socket.send(Buffer.from("x"), { fin: false })
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
    }
    expect((await peer.closed).code).toBe(CloseCode.PolicyViolation)
    expect(CloseCode.name(1008)).toBe("PolicyViolation")
  })

  it.concurrent("finding 9c: an ask nested 5,000 levels deep is refused with an error frame; 100 deep gets InvalidMessage", async () => {
    const peer = await RawPeer.open(target.url)
    await RawPeer.join(peer, RawPeer.identity("deep"), target.secret)
    // built as text: JSON.stringify itself cannot nest 5,000 levels
    const nested = (n: number, levels: number) =>
      JSON.stringify(ask("deep", n, "PAYLOAD")).replace(
        '"PAYLOAD"',
        `{"_tag":${'{"_tag":'.repeat(levels)}"Echo"${"}".repeat(levels)},"text":"deep"}`
      )
    peer.send(`{"type":"data","ack":0,"first":1,"envelopes":[${nested(1, 5000)},${nested(2, 100)}]}`)
    expect(await RawPeer.nextWhere(peer, (f) => f.type === "error")).toMatchObject({
      code: "bad-envelope",
      field: "payload",
      seq: 1,
      message: "nested deeper than 128 levels"
    })
    const replies = (await RawPeer.nextWhere(peer, (f) => JSON.stringify(f).includes('"kind":"reply"'))) as {
      envelopes: Array<{ kind: string; correlationId: string; payload: unknown }>
    }
    const reply = replies.envelopes.find((e) => e.kind === "reply")!
    expect(reply.correlationId).toBe("c2")
    expect(JSON.stringify(reply.payload)).toContain("InvalidMessage")
    peer.socket.close()
  })

  it("finding 9d: the node's warnings go to stderr, not stdout", () => {
    expect(target.warnings().length).toBeGreaterThan(0)
    expect(target.child.stdout()).not.toMatch(/level=(WARN|ERROR)/)
  })

  it("through all of it, every ask of the well-behaved peer succeeded", async () => {
    await expectAllAnswered(good)
    await good.stop()
  })
})
