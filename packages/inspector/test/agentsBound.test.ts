/**
 * The inspector of a backend with one agent per conversation (agents spawned, asked and stopped by the
 * thousand) keeps a bounded number of agents: the 1,000 most recently active, the others dropped from its
 * state (they were kept forever: the heap and every page's first state grew by each agent ever seen).
 */
import { assert, describe, it } from "@effect/vitest"
import { Agent, ScriptedModel, Turn } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer } from "effect"
import { Inspector } from "../src/index.ts"

const model = ScriptedModel.layer(() => Turn.text("hello"), { record: false })

describe("an inspector watching agents come and go", () => {
  it.live("keeps the 1,000 most recently active agents", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.ActorSystem
      const inspector = yield* Inspector.start(system, { port: 0 })
      const count = 1_300
      for (let i = 0; i < count; i++) {
        const ref = yield* ActorSystem.spawn(Agent.make({ name: "chat" }), { name: `chat-${i}` })
        yield* ref.ask(Agent.Protocol.Ask({ prompt: "hi" }))
        yield* system.stop(ref)
      }
      // the collector reads the events in order: once the last agent's turn is in, all of them are
      const last = `/user/chat-${count - 1}`
      let agents: Record<string, { readonly turns: number }> = {}
      for (let tries = 0; tries < 200 && agents[last]?.turns !== 1; tries++) {
        agents = (yield* inspector.state).nodes[system.node]?.agents ?? {}
        if (agents[last]?.turns !== 1) yield* Effect.sleep("50 millis")
      }
      assert.strictEqual(agents[last]?.turns, 1)
      assert.strictEqual(Object.keys(agents).length, 1_000)
      assert.isUndefined(agents["/user/chat-0"])
      assert.isDefined(agents[`/user/chat-${count - 1_000}`])
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(ActorSystem.layer(), model)))
  )
})
