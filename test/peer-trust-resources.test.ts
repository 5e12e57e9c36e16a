/**
 * A node trusts a peer no further than it must (issue 10), finding 7 of the attack report: what a peer without the
 * secret can make a node hold (idle and trickling sockets, garbage frames, bad frames, wrong secrets), replayed by
 * raw attackers (test/support/raw-peer.ts speaks the wire by hand, `tcp` below opens plain sockets) against a node
 * started as the README says (a real `troupe node` process), all at once while a well-behaved peer asks the node's
 * echo actor over and over: every one of its asks must succeed. With TROUPE_SOAK=1, at the report's sizes (19,000
 * idle sockets). The other findings are in `peer-trust.test.ts`.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as Net from "node:net"
import { CloseCode } from "@troupe/transport"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import { expectAllAnswered, pool, until } from "./support/peer-trust.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { type GoodPeer, goodPeer, startTarget, type Target } from "./support/target-node.ts"

afterAll(stopAll)
const SOAK = process.env.TROUPE_SOAK === "1"
vi.setConfig({ testTimeout: SOAK ? 900_000 : 300_000, hookTimeout: 300_000 })

/**
 * A TCP connection from `localAddress`, which writes `first` once connected (if given); records when it began to
 * connect (before the node could accept it) and when it closed.
 */
const tcp = (url: string, localAddress: string, first?: string) =>
  new Promise<{
    readonly socket: Net.Socket
    readonly opened: number
    readonly closed: Promise<number>
  }>((resolve, reject) => {
    const { port } = new URL(url)
    const opened = Date.now()
    const socket = Net.connect({ host: "127.0.0.1", port: Number(port), localAddress })
    const closed = new Promise<number>((done) => socket.on("close", () => done(Date.now())))
    socket.on("error", () => {}) // a reset: seen as its close
    socket.once("connect", () => {
      if (first !== undefined) socket.write(first)
      resolve({ socket, opened, closed })
    })
    socket.once("error", reject)
  })

/**
 * Samples, every 100 ms until `stop`, the TCP sockets process `pid` holds from `address` (its open descriptors
 * matched with the kernel's socket table: Linux's /proc), and on `stop` answers the most it held at once: the most
 * sockets present both in a sample and in one taken a second or more later.
 */
const sampleSockets = (pid: number, address: string) => {
  // /proc/net/tcp writes an IPv4 address as the hex of its bytes in memory order; tcp6 maps it (::ffff:a.b.c.d)
  const hex = address
    .split(".")
    .map((byte) => Number(byte).toString(16).padStart(2, "0").toUpperCase())
    .reverse()
    .join("")
  const remote = new Set([hex, `0000000000000000FFFF0000${hex}`])
  const samples: Array<{ readonly at: number; readonly inodes: ReadonlySet<string> }> = []
  const sample = () => {
    const owned = new Set<string>()
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (link !== null) owned.add(link[1]!)
      } catch {} // closed between the listing and the read
    }
    const inodes = new Set<string>()
    for (const table of ["tcp", "tcp6"]) {
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/)
        if (fields.length > 9 && remote.has(fields[2]!.split(":")[0]!) && owned.has(fields[9]!)) inodes.add(fields[9]!)
      }
    }
    samples.push({ at: Date.now(), inodes })
  }
  const timer = setInterval(sample, 100)
  return {
    stop: () => {
      clearInterval(timer)
      let most = 0
      for (const [i, { at, inodes }] of samples.entries()) {
        const later = samples.slice(i + 1).find((next) => next.at >= at + 1_000)
        if (later === undefined) break
        let both = 0
        for (const inode of inodes) if (later.inodes.has(inode)) both++
        most = Math.max(most, both)
      }
      return most
    }
  }
}

/**
 * How long after the node's 5 s upgrade deadline a socket may be seen closed: the deadline fires late when the node
 * is starved (it logged stalls of 9 s at load 20), and the close is seen late here too. Node's own HTTP server
 * would hold such a socket for its 60 s headers timeout: the bound tells that apart, not how loaded the machine is.
 */
const CLOSED_WITHIN = 30_000

/** The node's clock, in ms, of one of its log lines (logfmt `timestamp=`). */
const loggedAt = (line: string) => Date.parse(/timestamp=(\S+)/.exec(line)![1]!)

describe("finding 7: a node under attack by peers without the secret", () => {
  let target: Target
  let good: GoodPeer

  // the attacks run at once, against one node, while the good peer asks
  beforeAll(async () => {
    target = await startTarget()
    good = await goodPeer(target)
    await good.progress(5)
  }, 300_000) // a node's start is bounded by the child's own hang bound (it took over 30 s at load 20)

  it.concurrent("finding 7a: idle TCP sockets are capped per address and closed; new peers still join", async () => {
    const IDLE = SOAK ? 19_000 : 2_000
    const sampling = sampleSockets(target.child.process.pid!, "127.0.0.2")
    // each writes one byte once connected (the start of a request the node's HTTP parser waits for the rest of)
    const opened = await pool(IDLE, 200, () => tcp(target.url, "127.0.0.2", "G").catch(() => undefined))
    const sockets = opened.filter((s) => s !== undefined)
    // a new peer from another address joins while they are held
    const newcomer = await RawPeer.open(target.url)
    await RawPeer.join(newcomer, RawPeer.identity("newcomer"), target.secret)
    newcomer.socket.close()
    // beyond maxConnectionsPerAddress (100) they are closed as they come; the ones held are closed once the
    // upgrade deadline (handshakeTimeout, 5 s) passes
    const spans = await Promise.all(sockets.map(async (s) => ({ opened: s.opened, closed: await s.closed })))
    // The ones it held, counted where they are held: the node's own sockets from that address (it refuses the others
    // as it accepts them, in the same turn of its event loop). Counted from the node's side: inferred from this
    // process's view of when each socket opened and closed, a loaded machine made 133 of 100 (a refused socket seen
    // late here looked held). A socket counts when the node held it at two samples a second apart: a refused one
    // lives from its accept to its destroy in one turn, not a second, and a held one lives 5 s.
    const most = sampling.stop()
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(100)
    // every socket, held or refused, was closed by the deadline at the latest
    expect(Math.max(...spans.map((span) => span.closed - span.opened))).toBeLessThan(5_000 + CLOSED_WITHIN)
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

  it("through all of it, every ask of the well-behaved peer succeeded", async () => {
    await expectAllAnswered(good)
    await good.stop()
  })
})
