/**
 * A node trusts a peer no further than it must (issue 10). Each finding of the attack report is replayed
 * here by raw WebSocket attackers (test/support/raw-peer.ts speaks the wire by hand) against a node
 * started as the README says (a real `troupe node` process), while a well-behaved peer asks the node's
 * echo actor over and over: every one of its asks must succeed. Findings 1 and 2 wait for the failure
 * detector; by default they run against a node in the test process whose timings and limits are scaled
 * down, and with TROUPE_SOAK=1 against a `troupe node` with its defaults, at the report's sizes (24,000
 * ghosts, 19,000 idle sockets).
 */
import * as Net from "node:net"
import { CloseCode } from "@troupe/transport"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { HANG_MILLIS, stopAll } from "./support/child.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { type GoodPeer, goodPeer, startTarget, startTargetThread, type Target } from "./support/target-node.ts"

afterAll(stopAll)
const SOAK = process.env.TROUPE_SOAK === "1"
vi.setConfig({ testTimeout: SOAK ? 900_000 : 300_000, hookTimeout: 300_000 })

/** Runs `task` for 0..n-1, at most `concurrency` at a time. */
const pool = async <A>(n: number, concurrency: number, task: (i: number) => Promise<A>): Promise<Array<A>> => {
  const results: Array<A> = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++
        results[i] = await task(i)
      }
    })
  )
  return results
}

/** Waits until `predicate` holds, checking every 50 ms; fails after `timeout` ms saying what it waited for. */
const until = async (what: string, predicate: () => boolean, timeout = HANG_MILLIS) => {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** An ask envelope from a raw peer to the target's echo actor. */
const ask = (from: string, n: number, payload: unknown = { _tag: "Echo", text: `attack ${n}` }) => ({
  kind: "ask",
  to: { node: "target", path: "/user/echo" },
  from: { node: from, path: "/temp/attacker" },
  correlationId: `c${n}`,
  deadline: Date.now() + 600_000,
  payload
})

/**
 * A TCP connection from `localAddress`, which writes `first` once connected (if given); records when it began to
 * connect (before the node could accept it), when it closed, and whether the node reset it (closed it with bytes
 * unread).
 */
const tcp = (url: string, localAddress: string, first?: string) =>
  new Promise<{
    readonly socket: Net.Socket
    readonly opened: number
    readonly closed: Promise<number>
    readonly reset: () => boolean
  }>((resolve, reject) => {
    const { port } = new URL(url)
    const opened = Date.now()
    const socket = Net.connect({ host: "127.0.0.1", port: Number(port), localAddress })
    const closed = new Promise<number>((done) => socket.on("close", () => done(Date.now())))
    let reset = false
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET") reset = true
    })
    socket.once("connect", () => {
      if (first !== undefined) socket.write(first)
      resolve({ socket, opened, closed, reset: () => reset })
    })
    socket.once("error", reject)
  })

/**
 * How long after the node's 5 s upgrade deadline a socket may be seen closed: the deadline fires late when the node
 * is starved (it logged stalls of 9 s at load 20), and the close is seen late here too. Node's own HTTP server
 * would hold such a socket for its 60 s headers timeout: the bound tells that apart, not how loaded the machine is.
 */
const CLOSED_WITHIN = 30_000

/** The node's clock, in ms, of one of its log lines (logfmt `timestamp=`). */
const loggedAt = (line: string) => Date.parse(/timestamp=(\S+)/.exec(line)![1]!)

const expectAllAnswered = async (good: GoodPeer) => {
  await good.progress(5) // still answering after the attack
  expect(good.failures()).toEqual([])
  expect(good.ok()).toBeGreaterThan(5)
}

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

  it.concurrent("finding 7a: idle TCP sockets are capped per address and closed; new peers still join", async () => {
    const IDLE = SOAK ? 19_000 : 2_000
    // each writes one byte once connected: the node reads it when it accepts the socket, so one it refuses after
    // the byte came (destroyed as it is accepted, the byte unread) is reset, and one it held is never reset
    const opened = await pool(IDLE, 200, () => tcp(target.url, "127.0.0.2", "G").catch(() => undefined))
    const sockets = opened.filter((s) => s !== undefined)
    // a new peer from another address joins while they are held
    const newcomer = await RawPeer.open(target.url)
    await RawPeer.join(newcomer, RawPeer.identity("newcomer"), target.secret)
    newcomer.socket.close()
    // beyond maxConnectionsPerAddress (100) they are closed as they come; the ones held are closed once the
    // upgrade deadline (handshakeTimeout, 5 s) passes
    const spans = await Promise.all(
      sockets.map(async (s) => ({ opened: s.opened, closed: await s.closed, refused: s.reset() }))
    )
    // The ones it held (it refuses the others as it accepts them): never more than 100 at a time, each for 5 s. A
    // held socket is closed by its deadline, 5 s after the node accepted it, so it lived 5 s from its connect's
    // start. A refused one can live that long too on a loaded machine (it waits in the kernel's accept queue until
    // the node accepts and refuses it; one such counted as held made 101 at load 20): it is reset, unless the node
    // was quicker than its byte, and then it did not wait. A held one was held during the 5 s before its close,
    // seen here up to `LATENCY` late (this process is busy with the other attacks too): shrunk by that at both
    // ends, each interval lies within the node's hold of it, and the overlaps counted here never exceed the node's.
    const HANDSHAKE = 5_000
    const LATENCY = 2_000
    const held = spans.filter((span) => !span.refused && span.closed - span.opened >= HANDSHAKE)
    const events = held.flatMap((span) => [
      [span.closed - HANDSHAKE + LATENCY, 1],
      [span.closed - LATENCY, -1]
    ])
    events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
    let open = 0
    let most = 0
    for (const [, delta] of events) most = Math.max(most, (open += delta!))
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(100)
    // every socket, held or refused, was closed by the deadline at the latest
    expect(Math.max(...spans.map((span) => span.closed - span.opened))).toBeLessThan(HANDSHAKE + CLOSED_WITHIN)
    await good.progress(10)
  })

  it.concurrent("finding 7b: sockets that trickle HTTP headers are closed after the upgrade deadline, not 60 s", async () => {
    const trickling = await pool(100, 50, () => tcp(target.url, "127.0.0.3"))
    const started = Date.now()
    const timer = setInterval(() => {
      for (const { socket } of trickling) {
        if (!socket.destroyed) socket.write(socket.bytesWritten === 0 ? "GET / HTTP/1.1\r\nX-Slow: " : "a")
      }
    }, 200)
    const closedAt = await Promise.all(trickling.map((t) => t.closed))
    clearInterval(timer)
    expect(Math.max(...closedAt) - started).toBeLessThan(5_000 + CLOSED_WITHIN)
    await good.progress(10)
  })

  it.concurrent("finding 7c: a large garbage frame before the hello closes the connection at once (1009)", async () => {
    for (const size of [4 * 1024 * 1024, 32 * 1024]) {
      const garbage = await RawPeer.open(target.url)
      garbage.send(Buffer.alloc(size, 0x41))
      expect((await garbage.closed).code).toBe(CloseCode.TooBig)
    }
    await good.progress(10)
  })

  it.concurrent("finding 7d: 10,000 bad frames from one peer cost a few log lines, not 10,000", async () => {
    const noisy = await RawPeer.open(target.url)
    await RawPeer.join(noisy, RawPeer.identity("noisy"), target.secret)
    const before = target.warnings().length
    for (let i = 0; i < 10_000; i++) noisy.send(Buffer.from(`{"type":"garbage ${i}"`))
    let answered = 0
    while (answered < 10_000) if ((await noisy.next()).type === "error") answered++ // each is still answered
    await until("the summary line", () =>
      target.warnings().some((line) => /log lines suppressed.*peer=noisy/.test(line))
    )
    const lines = target
      .warnings()
      .slice(before)
      .filter((line) => line.includes("peer=noisy"))
    // at most 10 lines and a summary per second of the node's clock while it works through them (2 s on an idle
    // machine, 12 s seen at load 20): a few per second, not one per frame
    const seconds = (loggedAt(lines.at(-1)!) - loggedAt(lines[0]!)) / 1000
    expect(lines.length).toBeLessThanOrEqual(11 * (Math.ceil(seconds) + 1))
    expect(lines.length).toBeLessThan(1_000)
    noisy.socket.close()
    await good.progress(10)
  })

  it.concurrent("finding 7e: wrong secrets are throttled per address: 5 tries per 10 s, then refused before any proof", async () => {
    // 20 tries one after the other, each timed here: the node counts an address's failures in windows of 10 s from
    // the first failure, which it sees between the first try's start and end
    const WINDOW = 10_000
    const timed = await pool(20, 1, async (i) => {
      const start = Date.now()
      const guesser = await RawPeer.open(target.url, { localAddress: "127.0.0.4" }).catch(() => undefined)
      const outcome =
        guesser === undefined
          ? "refused at accept"
          : String(
              (await RawPeer.join(guesser, RawPeer.identity(`guesser-${i}`), `wrong guess number ${i}`).catch((e) => e))
                .code
            )
      return { start, end: Date.now(), outcome }
    })
    const verified = (t: { readonly outcome: string }) => t.outcome === String(CloseCode.Unauthorized)
    // each verified (4001) or throttled (refused at accept, or 4009); one the node did not answer within its own
    // handshake deadline (4003, seen at load 40) was neither, and does not count
    const tries = timed.filter((t) => t.outcome !== String(CloseCode.HandshakeTimeout))
    expect(tries.every((t) => ["refused at accept", "4001", "4009"].includes(t.outcome))).toBe(true)
    // the first five are verified (and refused for the wrong secret); the tries that ended within the first
    // window after those are throttled (refused at accept or with 4009, before any proof). On an idle machine a try
    // takes a fraction of a second and 15 are throttled; at load 20, while the node works through the other
    // attacks, one took up to 5 s, and a window can end before a sixth guess.
    expect(tries.slice(0, 5).every(verified)).toBe(true)
    expect(
      tries
        .filter((t) => t.end < tries[0]!.start + WINDOW)
        .slice(5)
        .some(verified)
    ).toBe(false)
    // and no more than five verified in any window: at most five per 10 s that the tries spanned
    const windows = Math.ceil((tries.at(-1)!.end - tries[0]!.start) / WINDOW)
    expect(tries.filter(verified).length).toBeLessThanOrEqual(5 * windows)
    await good.progress(10)
  })

  it.concurrent("finding 7f: wrong secrets sent at once from one address are not all verified: 5 per 10 s", async () => {
    // 20 guesses at once: each passes the throttle at its hello (no failure counted yet), so the check that counts
    // is the one at the proof, where the guesses that come after the address's fifth failure are refused unverified
    const WINDOW = 10_000
    const start = Date.now()
    const outcomes = await pool(20, 20, async (i) => {
      const guesser = await RawPeer.open(target.url, { localAddress: "127.0.0.5" }).catch(() => undefined)
      if (guesser === undefined) return "refused at accept"
      const refusal = await RawPeer.join(guesser, RawPeer.identity(`rush-${i}`), `rushed guess ${i}`).catch((e) => e)
      return String(refusal.code)
    })
    const windows = Math.ceil((Date.now() - start) / WINDOW)
    // verified (4001), throttled (at accept or 4009), or not answered within the node's handshake deadline (4003)
    expect(outcomes.every((o) => ["refused at accept", "4001", "4009", "4003"].includes(o))).toBe(true)
    const verified = outcomes.filter((o) => o === String(CloseCode.Unauthorized)).length
    expect(verified).toBeGreaterThan(0)
    expect(verified).toBeLessThanOrEqual(5 * windows)
    await good.progress(10)
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
    for (let i = 0; i < 20_000 && peer.isOpen(); i++) peer.socket.send(Buffer.from("x"), { fin: false })
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
