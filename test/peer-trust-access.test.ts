/**
 * Authorization (finding 5 of issue 10): a peer with the secret reaches only what the node's agents module
 * exports. Against a `troupe node` process hosting test/fixtures/cli/guarded.ts (the echo agents, and an actor
 * that is not an agent, /user/vault), a raw peer tries to look up and message the vault, to list its actors
 * under a key and a topic the module does not use, and, under a module's own policy, under a key reserved
 * to other nodes; a well-behaved peer's asks all succeed meanwhile.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AgentsModule } from "@troupe/cli"
import { Effect } from "effect"
import { afterAll, describe, expect, it, vi } from "vitest"
import { run, stopAll, testEnv } from "./support/child.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { CLI, fixture, goodPeer, startTarget, type Target } from "./support/target-node.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

type Envelope = { readonly kind: string; readonly correlationId?: string; readonly payload?: unknown }

/** A raw peer that joined the target as `node`: it sends numbered envelopes and collects what comes back. */
const intruder = async (target: Target, node: string) => {
  const peer = await RawPeer.open(target.url)
  await RawPeer.join(peer, RawPeer.identity(node), target.secret)
  let seq = 0
  const received: Array<Envelope> = []
  const waiters = new Set<() => void>()
  void (async () => {
    for (;;) {
      const frame = await peer.next().catch(() => undefined)
      if (frame === undefined) return
      if (frame.type === "data") received.push(...(frame.envelopes as Array<Envelope>))
      for (const wake of waiters) wake()
    }
  })()
  const send = (...envelopes: ReadonlyArray<unknown>) => {
    peer.send({ type: "data", ack: 0, first: seq + 1, envelopes })
    seq += envelopes.length
  }
  const reply = (correlationId: string) =>
    new Promise<Envelope>((resolve) => {
      const check = () => {
        const found = received.find((e) => e.kind === "reply" && e.correlationId === correlationId)
        if (found !== undefined) {
          waiters.delete(check)
          resolve(found)
        }
      }
      waiters.add(check)
      check()
    })
  const to = (path: string) => ({ node: "target", path })
  return {
    lookup: async (path: string) => {
      const id = `lookup ${path}`
      send({ kind: "ask", to: to("/system"), correlationId: id, payload: { _tag: "Lookup", path, protocol: "Echo" } })
      return ((await reply(id)).payload as { readonly value: string }).value
    },
    ask: async (path: string, text: string) => {
      const id = `ask ${path} ${text}`
      send({
        kind: "ask",
        to: to(path),
        from: { node, path: "/temp/x" },
        correlationId: id,
        deadline: Date.now() + 60_000,
        payload: { _tag: "Echo", text }
      })
      return JSON.stringify((await reply(id)).payload)
    },
    tell: (path: string, text: string) => send({ kind: "tell", to: to(path), payload: { _tag: "Echo", text } }),
    /** Watches an actor; resolves with the reason of the `terminated` notice the node sends back. */
    watch: (path: string) => {
      send({ kind: "system", to: to("/system"), payload: { type: "watch", path } })
      return new Promise<unknown>((resolve) => {
        const check = () => {
          const notice = received.find(
            (e) =>
              (e.payload as { type?: string; path?: string } | null)?.type === "terminated" &&
              (e.payload as { path: string }).path === path
          )
          if (notice !== undefined) {
            waiters.delete(check)
            resolve((notice.payload as { reason: unknown }).reason)
          }
        }
        waiters.add(check)
        check()
      })
    },
    list: (directory: "receptionist" | "topics", name: string, path: string) =>
      send({
        kind: "system",
        to: to("/system"),
        payload: { type: "directory", directory, op: "add", entry: { name, protocol: "Echo", path } }
      }),
    close: () => peer.socket.close()
  }
}

describe("finding 5: a peer reaches only what the node's agents module exports", () => {
  it("no lookup, message or watch of other actors; no listing under keys and topics the module does not use", async () => {
    const target = await startTarget({ agents: "guarded.ts" })
    await target.child.line("vault ready")
    const good = await goodPeer(target, { node: "bob" })
    await good.progress(5)
    const mallory = await intruder(target, "mallory")

    // lookups answer for the agents, and as if absent for anything else: no probing
    expect(await mallory.lookup("/user/echo")).toBe("found")
    expect(await mallory.lookup("/user/vault")).toBe("no-actor")
    expect(await mallory.lookup("/user/nothing-here")).toBe("no-actor")
    // a message to the vault is answered as if it were not there, and never reaches it
    expect(await mallory.ask("/user/echo", "hi")).toContain("target echoes hi")
    expect(await mallory.ask("/user/vault", "open")).toContain("RecipientTerminated")
    mallory.tell("/user/vault", "open too")
    // watching it gets the notice an absent actor gets
    expect(await mallory.watch("/user/vault")).toEqual({ _tag: "Stopped" })

    // listings: under "payments" and the topic "news" no; under "echoes" (the module registers its echo there)
    // yes. Sent in that order on one link, so the line that shows the last shows what became of the others.
    mallory.list("receptionist", "payments", "/user/evil")
    mallory.list("topics", "news", "/user/eavesdropper")
    mallory.list("receptionist", "echoes", "/user/fake-echo")
    expect(await target.child.line(/listings: echoes=.*mallory\/user\/fake-echo/)).toMatch(/payments= news=$/)
    expect(target.child.stdout()).not.toContain("vault got")
    expect(target.warnings().some((line) => /peer=mallory/.test(line) && /not allowed|refused/.test(line))).toBe(true)

    mallory.close()
    await good.progress(5)
    expect((await good.stop()).failures).toEqual([])
  })

  it("a module's access export that is not a policy stops the node with one line", async () => {
    const { code, stderr } = await run([CLI, "node", "--agents", fixture("guarded.ts")], {
      env: { ...testEnv(), TROUPE_TOKEN: "a secret of sixteen characters", TROUPE_TEST_ACCESS: '{"reach":5}' }
    })
    expect(code).toBe(1)
    // one line (was two: the Schema's message, then its path on a line of its own): where, and what was expected
    expect(stderr.trim()).toMatch(
      /^troupe: [^\n]*guarded\.ts exports `access` that is not a remote access policy \(\{ reach\?, register\?, subscribe\?, maxListingsPerNode\?, maxListings\?, maxJoinsNotBegun\?, maxSessions\? \}\): at access\.reach, expected "all" \| array \(see docs\/cli\.md\)$/
    )
  })

  it("a module's access export may set maxListingsPerNode, maxListings, maxJoinsNotBegun and maxSessions, decoded like the rest", async () => {
    // before, the policy's Struct dropped the fields: a module could not raise the bounds, and a bad value passed.
    // Each field through the loader `troupe node` runs (AgentsModule.load, on a module of its own), and one through
    // the command itself
    const dir = mkdtempSync(join(tmpdir(), "troupe-access-"))
    try {
      for (const field of ["maxListingsPerNode", "maxListings", "maxJoinsNotBegun", "maxSessions"]) {
        const module = join(dir, `access-${field}.mjs`)
        writeFileSync(module, `export const agents = {}\nexport const access = ${JSON.stringify({ [field]: 0 })}\n`)
        const error = await Effect.runPromise(Effect.flip(AgentsModule.load(module)))
        expect(error._tag).toBe("ModuleUnusable")
        expect(error.message).toMatch(new RegExp(`at access\\.${field}, expected a value greater than 0`))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const { code, stderr } = await run([CLI, "node", "--agents", fixture("guarded.ts")], {
      env: { ...testEnv(), TROUPE_TOKEN: "a secret of sixteen characters", TROUPE_TEST_ACCESS: '{"maxSessions":0}' }
    })
    expect(code).toBe(1)
    expect(stderr.trim()).toMatch(/at access\.maxSessions, expected a value greater than 0/)
  })

  it("a module's own policy: only the nodes it names may list under a key", async () => {
    const target = await startTarget({
      agents: "guarded.ts",
      env: { TROUPE_TEST_ACCESS: JSON.stringify({ register: { echoes: ["bob"] } }) }
    })
    await target.child.line("vault ready")
    const mallory = await intruder(target, "mallory")
    const bob = await intruder(target, "bob")
    mallory.list("receptionist", "echoes", "/user/fake-echo")
    expect(await mallory.ask("/user/echo", "sync")).toContain("target echoes sync") // the listing was handled
    bob.list("receptionist", "echoes", "/user/echo")
    await target.child.line(/listings: echoes=bob\/user\/echo,target\/user\/echo /) // and mallory is not there
  })
})
